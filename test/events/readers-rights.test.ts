// Readers' rights meet the event log (API.md sections 10 and 11): an author's edit or delete through the
// edit window, a report that reaches the threshold and an erasure each tell consumers what the public saw
// change, in the transaction of the change; an erasure also takes the erased comments' name and body out
// of the log (those events now show a tombstone) and drops the deliveries of them still waiting.
import t from 'tap'
import { authorDelete, authorEdit, build, createArticle, eventLog as log, eventTracker as tracker, postWithToken, type TestApp, onSqlite } from '../helper.js'
import { startReceiver, type Receiver } from '../../scripts/webhook-receiver.js'
import { COMMENT_EVENTS_SQL } from '../../src/events/outbox.js'

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

const erased = { authorName: 'Erin Erasable', authorEmail: 'Erin.Erasable@example.org', body: 'Words that must go 8841.' }
const kept = { authorName: 'Kim Kept', authorEmail: 'kim@example.net', body: 'Words that stay.' }
const ALL = ['article.published', 'article.updated', 'article.unpublished', 'comment.submitted', 'comment.approved',
  'comment.edited', 'comment.removed', 'tag.updated', 'tag.deleted']

async function register (a: TestApp, receiver: Receiver): Promise<number> {
  const res = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: ALL } })
  if (res.statusCode !== 201) throw new Error(res.body)
  receiver.secret = res.json().secret
  return res.json().id
}

async function deliveries (a: TestApp, id: number): Promise<{ eventId: string, eventType: string, status: string }[]> {
  const res = await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}/deliveries?limit=100` })
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json().data
}

async function until (what: string, predicate: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!await predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('erasure: comment.removed for each visible erased comment; the events that showed them keep a tombstone, and their waiting deliveries go', async (t) => {
  const delivered = await startReceiver()
  // A receiver that fails, retried an hour later (the test's clock stands still): its deliveries wait.
  const failing = await startReceiver(() => 503)
  t.teardown(() => Promise.all([delivered.close(), failing.close()]))
  const a = await build(t, { commentModeration: 'none', commentMaxLinks: 1, commentRateLimit: 1000, webhookAllowPrivate: true },
    { workers: { pollMs: 20, minIntervalMs: 0, backoff: () => 60 * 60 * 1000 } })
  await createArticle(a, { title: 'Open', status: 'published' })
  await createArticle(a, { title: 'Later hidden', status: 'published' })
  const hooks = [await register(a, delivered), await register(a, failing)]
  const prior = (await log(a)).length

  const visible = await postWithToken(a, 'open', erased)
  const answered = await postWithToken(a, 'open', erased)
  const reply = await postWithToken(a, 'open', { ...kept, parentId: answered.id })
  const edited = await postWithToken(a, 'open', { ...erased, authorEmail: erased.authorEmail.toUpperCase() })
  t.equal((await authorEdit(a, edited.id, edited.editToken, { body: `${erased.body} Edited.` })).statusCode, 200)
  const held = await postWithToken(a, 'open', { ...erased, body: `${erased.body} https://a.example https://b.example` })
  const hidden = await postWithToken(a, 'later-hidden', erased)
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/later-hidden', payload: { status: 'draft' } })
  const erasedIds = [visible.id, answered.id, edited.id, held.id, hidden.id]

  const before = await log(a)
  const showing = before.filter((e) => ['comment.approved', 'comment.edited'].includes(e.type) && erasedIds.includes(e.data.id))
  t.same(showing.map((e) => [e.type, e.data.id]), [
    ['comment.approved', visible.id], ['comment.approved', answered.id], ['comment.approved', edited.id],
    ['comment.edited', edited.id], ['comment.approved', hidden.id]
  ], 'events that carry the erased author\'s name and body')
  const sent = before.length - prior
  await until('every event delivered to the receiver that answers', () => delivered.delivered().length === sent)
  await until('every event queued for the one that fails', async () => (await deliveries(a, hooks[1]!)).length === sent)
  t.ok(failing.received.length >= 1 && (await deliveries(a, hooks[1]!)).some((d) => d.status === 'pending'), 'deliveries are waiting')

  const res = await a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: erased.authorEmail.toLowerCase() } })
  t.same(res.json(), { erased: 5 })

  const after = await log(a)
  t.same(after.slice(0, before.length).map((e) => e.id), before.map((e) => e.id), 'the log keeps its events, ids and order')
  t.same(after.slice(before.length).map((e) => [e.type, e.data]), [
    ['comment.removed', { id: edited.id, articleSlug: 'open' }],
    ['comment.removed', { id: answered.id, articleSlug: 'open' }],
    ['comment.removed', { id: visible.id, articleSlug: 'open' }]
  ], 'one comment.removed per erased comment the public saw (not the held one, not the one on a draft)')
  const redacted = new Set(showing.map((e) => e.id))
  t.same(after.filter((e) => redacted.has(e.id)), showing.map((e) => ({
    ...e, data: { ...e.data, authorName: null, authorUrl: null, avatarHash: null, body: '', bodyHtml: '', status: 'deleted', edited: false }
  })), 'the events that showed them show a tombstone, as the API shows a deleted comment')
  t.same(after.filter((e) => !redacted.has(e.id)).slice(0, before.length - redacted.size), before.filter((e) => !redacted.has(e.id)), 'every other event is as it was')
  const text = JSON.stringify(after).toLowerCase()
  // Whole phrases: '8841' alone also turns up by chance in hashes and epoch milliseconds, 'erin' in words.
  t.notOk(['erin erasable', 'erin.erasable', 'words that must go', 'go 8841'].some((trace) => text.includes(trace)), 'nothing of the erased author\'s name or words in the log')
  t.ok(after.some((e) => e.type === 'comment.approved' && e.data.id === reply.id && e.data.authorName === kept.authorName), 'the other reader\'s events stay')

  const [sentLog, waitingLog] = [await deliveries(a, hooks[0]!), await deliveries(a, hooks[1]!)]
  t.equal(sentLog.filter((d) => redacted.has(d.eventId) && d.status === 'succeeded').length, redacted.size, 'deliveries made stay in the log (they hold no data)')
  t.same(waitingLog.filter((d) => redacted.has(d.eventId)), [], 'deliveries still waiting of those events are dropped')
  await until('the removals delivered', () => delivered.delivered().filter((r) => r.event.type === 'comment.removed').length === 3)
  await until('the removals queued behind the others', async () => (await deliveries(a, hooks[1]!)).length === sent - redacted.size + 3)
  t.ok(delivered.delivered().filter((r) => r.event.type === 'comment.removed').every((r) => r.verified), 'signed as ever')
})

t.test('an erasure that fails records no event: they are in its transaction', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Open', status: 'published' })
  const keyed = await postWithToken(a, 'open', erased)
  await postWithToken(a, 'open', erased)
  // Stored 201s are deleted late in an erasure, after its events: make that step fail.
  const stored = await a.inject({ method: 'POST', url: '/v1/articles/open/comments', payload: erased, headers: { 'idempotency-key': 'erase-fails' } })
  t.equal(stored.statusCode, 201)
  const sqlite = a.app.db.$client
  sqlite.exec("CREATE TEMP TRIGGER erasure_fails BEFORE DELETE ON idempotency_keys BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
  const next = tracker(a)
  await next()

  const failed = await a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: erased.authorEmail } })
  t.equal(failed.statusCode, 500)
  t.same(await next(), [], 'no comment.removed for an erasure that rolled back')
  t.equal((await publicView(a, keyed.id)).body, erased.body, 'and the comments are as they were')
  t.equal((await log(a)).filter((e) => e.type === 'comment.approved').length, 3, 'with the events that show them')

  sqlite.exec('DROP TRIGGER erasure_fails')
  t.same((await a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: erased.authorEmail } })).json(), { erased: 3 })
  const events = await log(a)
  t.same(events.filter((e) => e.type.startsWith('comment.') && e.type !== 'comment.submitted').map((e) => [e.type, e.data.status ?? null]), [
    ['comment.approved', 'deleted'], ['comment.approved', 'deleted'], ['comment.approved', 'deleted'],
    ['comment.removed', null], ['comment.removed', null], ['comment.removed', null]
  ], 'then the removals, and the events that showed the comments show tombstones')
})

t.test('an erasure finds the events of each erased comment with one index seek, not a scan of the log', onSqlite, async (t) => {
  const a = await build(t)
  const plan = (a.app.db.$client.prepare(`EXPLAIN QUERY PLAN ${COMMENT_EVENTS_SQL}`).all(1) as { detail: string }[]).map((p) => p.detail)
  t.match(plan.join(' | '), /^SEARCH events USING INDEX events_comment_idx \(<expr>=\?\)$/, plan.join(' | '))
})
