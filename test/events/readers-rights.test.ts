// Readers' rights meet the event log (API.md sections 10 and 11): an author's edit or delete through the
// edit window and a report that reaches the threshold tell consumers what the public saw change, in the
// transaction of the change.
import t from 'tap'
import { authorDelete, authorEdit, build, createArticle, postWithToken, type TestApp } from '../helper.js'

interface LoggedEvent { id: string, type: string, data: any }

async function log (a: TestApp): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = []
  let cursor: string | null = null
  do {
    const res = await a.as('admin', { method: 'GET', url: `/v1/events?limit=100${cursor ? `&cursor=${cursor}` : ''}` })
    if (res.statusCode !== 200) throw new Error(res.body)
    out.push(...res.json().data)
    cursor = res.json().page.nextCursor
  } while (cursor !== null)
  return out
}

/** The events recorded since the last call, as [type, data] pairs. */
function tracker (a: TestApp) {
  let seen = 0
  return async () => {
    const all = await log(a)
    const fresh = all.slice(seen)
    seen = all.length
    return fresh.map((e) => [e.type, e.data] as [string, any])
  }
}

const reader = { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Welcome hmoe, sailors.' }
const publicView = async (a: TestApp, id: number) => (await a.inject({ method: 'GET', url: `/v1/comments/${id}` })).json()

t.test('an author\'s edit of a visible comment is comment.edited, with the public comment and no token', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Typos', status: 'published' })
  const c = await postWithToken(a, 'typos', reader)
  const next = tracker(a)
  await next()

  const edited = await authorEdit(a, c.id, c.editToken, { body: 'Welcome home, sailors.' })
  t.equal(edited.statusCode, 200)
  const events = await next()
  t.same(events, [['comment.edited', await publicView(a, c.id)]], 'the comment as the public now sees it')
  t.match(events[0]![1], { body: 'Welcome home, sailors.', edited: true })
  t.notOk(JSON.stringify(events).includes(c.editToken.slice(4)), 'no edit token in the event')
  t.notOk('editToken' in events[0]![1] || 'editTokenHash' in events[0]![1])

  t.equal((await authorEdit(a, c.id, c.editToken, { body: 'Welcome home, sailors.' })).statusCode, 200)
  t.same(await next(), [], 'an edit that changes nothing emits nothing')
})

t.test('an author\'s edit that moderation sends back to pending is comment.removed', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentMaxLinks: 1, commentRateLimit: 1000 })
  await createArticle(a, { title: 'Links', status: 'published' })
  const c = await postWithToken(a, 'links', reader)
  const next = tracker(a)
  await next()

  const spammy = await authorEdit(a, c.id, c.editToken, { body: 'Buy https://a.example and https://b.example' })
  t.equal(spammy.json().status, 'pending')
  t.same(await next(), [['comment.removed', { id: c.id, articleSlug: 'links' }]], 'the comment left public view')
  t.equal((await authorEdit(a, c.id, c.editToken, { body: 'Sorry, no links.' })).json().status, 'pending')
  t.same(await next(), [], 'editing it while pending: the public sees nothing')
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${c.id}`, payload: { status: 'approved' } })
  t.same(await next(), [['comment.approved', await publicView(a, c.id)]], 'approved again: back in view, edited')

  // `first`: its only approved comment does not vouch for its edit.
  const first = await build(t, { commentModeration: 'first', commentRateLimit: 1000 })
  await createArticle(first, { title: 'First', status: 'published' })
  const only = await postWithToken(first, 'first', reader)
  await first.as('moderator', { method: 'PATCH', url: `/v1/comments/${only.id}`, payload: { status: 'approved' } })
  const nextFirst = tracker(first)
  await nextFirst()
  t.equal((await authorEdit(first, only.id, only.editToken, { body: 'Something else entirely.' })).json().status, 'pending')
  t.same(await nextFirst(), [['comment.removed', { id: only.id, articleSlug: 'first' }]])
})

t.test('an author\'s delete of a visible comment is comment.removed; of a pending one, nothing', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentMaxLinks: 1, commentRateLimit: 1000 })
  await createArticle(a, { title: 'Regrets', status: 'published' })
  const gone = await postWithToken(a, 'regrets', reader)
  const withReply = await postWithToken(a, 'regrets', reader)
  await postWithToken(a, 'regrets', { ...reader, authorEmail: 'piet@example.org', body: 'A reply.', parentId: withReply.id })
  const held = await postWithToken(a, 'regrets', { ...reader, body: 'https://a.example https://b.example' })
  const next = tracker(a)
  await next()

  t.equal((await authorDelete(a, gone.id, gone.editToken)).statusCode, 204)
  t.same(await next(), [['comment.removed', { id: gone.id, articleSlug: 'regrets' }]], 'removed outright')
  t.equal((await authorDelete(a, withReply.id, withReply.editToken)).statusCode, 204)
  t.same(await next(), [['comment.removed', { id: withReply.id, articleSlug: 'regrets' }]], 'a tombstone for its reply: removed all the same')
  t.equal((await authorDelete(a, held.id, held.editToken)).statusCode, 204)
  t.same(await next(), [], 'a pending comment the public never saw')
})

t.test('a comment that reports send back to pending is comment.removed', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Flagged', status: 'published' })
  const c = await postWithToken(a, 'flagged', reader)
  const next = tracker(a)
  await next()
  const report = (from: string) => a.inject({ method: 'POST', url: `/v1/comments/${c.id}/reports`, payload: { reason: 'abuse' }, remoteAddress: from })

  for (const from of ['203.0.113.1', '203.0.113.2', '203.0.113.2']) t.equal((await report(from)).statusCode, 202)
  t.same(await next(), [], 'below the threshold (3), and a repeat: nothing')
  t.equal((await report('203.0.113.3')).statusCode, 202)
  t.equal((await a.as('moderator', { method: 'GET', url: `/v1/comments/${c.id}` })).json().status, 'pending')
  t.same(await next(), [['comment.removed', { id: c.id, articleSlug: 'flagged' }]], 'the third report: back to pending, out of view')
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${c.id}`, payload: { status: 'approved' } })
  t.same((await next()).map(([type]) => type), ['comment.approved'], 'a moderator puts it back')
  t.equal((await report('203.0.113.4')).statusCode, 202)
  t.same(await next(), [], 'a report past the threshold does not send it back again')
})
