// The author's edit window (API.md section 11): the 201 carries an edit token once; with it as
// Comment-Token the author may PATCH the body or DELETE the comment for COMMENT_EDIT_MINUTES.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { assertProblem, build, countComments, createArticle, postComment, type TestApp } from '../helper.js'

const reader = { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Welcome hmoe, sailors.' }
const MINUTE = 60_000

const edit = (a: TestApp, id: number, token: string | undefined, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
  a.inject({ method: 'PATCH', url: `/v1/comments/${id}`, payload, headers: { ...headers, ...(token === undefined ? {} : { 'comment-token': token }) } })
const remove = (a: TestApp, id: number, token: string | undefined, headers: Record<string, string> = {}) =>
  a.inject({ method: 'DELETE', url: `/v1/comments/${id}`, headers: { ...headers, ...(token === undefined ? {} : { 'comment-token': token }) } })
const moderate = (a: TestApp, id: number, payload: Record<string, unknown>) =>
  a.as('moderator', { method: 'PATCH', url: `/v1/comments/${id}`, payload })
const stored = (a: TestApp, id: number) => a.app.db.$client.prepare('SELECT * FROM comments WHERE id = ?').get(id) as Record<string, unknown>

async function post (a: TestApp, slug: string, payload: Record<string, unknown> = reader): Promise<{ id: number, editToken: string, res: LightMyRequestResponse }> {
  const res = await postComment(a, slug, payload)
  if (res.statusCode !== 201) throw new Error(res.body)
  return { id: res.json().id, editToken: res.json().editToken, res }
}

t.test('the author fixes a typo and deletes within the window; the public sees edited and updatedAt', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Fleet', status: 'published' })
  const { id, editToken, res } = await post(a, 'fleet')
  t.equal(stored(a, id).edit_token_hash, (await import('node:crypto')).createHash('sha256').update(editToken).digest('hex'), 'only the SHA-256 is stored')
  t.notOk(JSON.stringify(stored(a, id)).includes(editToken), 'never the token itself')

  a.clock.advance(2 * MINUTE)
  const fixed = await edit(a, id, editToken, { body: 'Welcome **home**, sailors.' }, { 'if-match': res.headers.etag as string })
  t.equal(fixed.statusCode, 200)
  t.match(fixed.json(), { id, body: 'Welcome **home**, sailors.', bodyHtml: '<p>Welcome <strong>home</strong>, sailors.</p>\n', status: 'approved', edited: true, updatedAt: '2026-07-08T09:02:00.000Z', createdAt: '2026-07-08T09:00:00.000Z' })
  t.notOk('authorEmail' in fixed.json(), 'the author gets the public shape')
  t.notOk('editToken' in fixed.json())
  const pub = (await a.inject({ method: 'GET', url: `/v1/comments/${id}` }))
  t.match(pub.json(), { edited: true, updatedAt: '2026-07-08T09:02:00.000Z', body: 'Welcome **home**, sailors.' }, 'the public sees the change')
  t.equal(pub.headers.etag, fixed.headers.etag)
  t.match((await a.inject({ method: 'GET', url: '/v1/articles/fleet/comments' })).json().data[0], { edited: true })

  const stale = await edit(a, id, editToken, { body: 'Again' }, { 'if-match': res.headers.etag as string })
  assertProblem(t, stale, 412, 'precondition-failed')
  const same = await edit(a, id, editToken, { body: 'Welcome **home**, sailors.' })
  t.equal(same.json().updatedAt, '2026-07-08T09:02:00.000Z', 'the same body changes nothing')
  t.equal((await edit(a, id, editToken, {})).statusCode, 200, 'an empty patch is a no-op')

  assertProblem(t, await remove(a, id, editToken, { 'if-match': res.headers.etag as string }), 412, 'precondition-failed')
  t.equal((await remove(a, id, editToken, { 'if-match': pub.headers.etag as string })).statusCode, 204)
  t.equal(await countComments(a), 0)
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/fleet' })).json().commentCount, 0)
  assertProblem(t, await remove(a, id, editToken), 404, 'not-found')
})

t.test('401 without credentials, 403 for a wrong token, a closed window or a moderated comment', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000, commentEditMinutes: 15 })
  await createArticle(a, { title: 'Rules', status: 'published' })
  const mine = await post(a, 'rules')
  const other = await post(a, 'rules', { ...reader, authorEmail: 'ivan@example.com' })

  for (const res of [await edit(a, mine.id, undefined, { body: 'x' }), await remove(a, mine.id, undefined)]) {
    const problem = assertProblem(t, res, 401, 'unauthorized')
    t.match(res.headers['www-authenticate'], /^Bearer/)
    t.match(problem.detail, /Comment-Token/)
  }
  assertProblem(t, await edit(a, mine.id, undefined, { body: '' }), 401, 'unauthorized')
  t.pass('no credentials is a 401 before the body is even validated')
  for (const token of [other.editToken, 'gzc_wrong', mine.editToken.slice(0, -1) + (mine.editToken.endsWith('A') ? 'B' : 'A'), 'x'.repeat(200)]) {
    assertProblem(t, await edit(a, mine.id, token, { body: 'Hijacked' }), 403, 'forbidden')
    assertProblem(t, await remove(a, mine.id, token), 403, 'forbidden')
  }
  assertProblem(t, await edit(a, mine.id, 'x'.repeat(201), { body: 'x' }), 422, 'validation')
  assertProblem(t, await edit(a, mine.id, mine.editToken, { status: 'approved' }), 403, 'forbidden')
  assertProblem(t, await edit(a, mine.id, mine.editToken, { body: '' }), 422, 'validation')
  assertProblem(t, await edit(a, 99999, mine.editToken, { body: 'x' }), 404, 'not-found')
  t.equal(stored(a, mine.id).body, reader.body, 'nothing changed')

  a.clock.advance(15 * MINUTE - 1)
  t.equal((await edit(a, mine.id, mine.editToken, { body: 'Last second' })).statusCode, 200, 'open until the 15th minute ends')
  a.clock.advance(1)
  const closed = assertProblem(t, await edit(a, mine.id, mine.editToken, { body: 'Too late' }), 403, 'forbidden')
  t.match(closed.detail, /15 minutes/)
  assertProblem(t, await remove(a, mine.id, mine.editToken), 403, 'forbidden')
  t.equal(stored(a, mine.id).body, 'Last second')
  t.equal((await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${mine.id}`, payload: { body: 'Moderated' } })).statusCode, 200, 'moderators are not bound by the window')

  for (const status of ['spam', 'trash'] as const) {
    const c = await post(a, 'rules')
    t.equal((await moderate(a, c.id, { status })).statusCode, 200)
    const denied = assertProblem(t, await edit(a, c.id, c.editToken, { body: 'Let me back' }), 403, 'forbidden')
    t.match(denied.detail, /moderator/)
    assertProblem(t, await remove(a, c.id, c.editToken), 403, 'forbidden')
    assertProblem(t, await edit(a, c.id, other.editToken, { body: 'x' }), 403, 'forbidden')
  }
  const pending = await post(a, 'rules')
  await moderate(a, pending.id, { status: 'pending' })
  t.equal((await edit(a, pending.id, pending.editToken, { body: 'Still mine' })).statusCode, 200, 'a pending comment is its author\'s to fix')

  const none = await build(t, { commentEditMinutes: 0 })
  await createArticle(none, { title: 'Frozen', status: 'published' })
  const frozen = (await postComment(none, 'frozen', reader)).json()
  t.equal(frozen.editToken, null, 'COMMENT_EDIT_MINUTES=0: no token is issued')
  t.equal(stored(none, frozen.id).edit_token_hash, null)
})

t.test('an author\'s edit goes through moderation again', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentMaxLinks: 1, commentRateLimit: 1000 })
  await createArticle(a, { title: 'Links', status: 'published' })
  const c = await post(a, 'links')
  const count = async () => (await a.inject({ method: 'GET', url: '/v1/articles/links' })).json().commentCount
  t.equal(await count(), 1)
  const spammy = await edit(a, c.id, c.editToken, { body: 'Buy https://a.example and https://b.example' })
  t.equal(spammy.json().status, 'pending', 'too many links: back to pending')
  t.equal(await count(), 0, 'commentCount follows')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/comments/${c.id}` }), 404, 'not-found')
  const clean = await edit(a, c.id, c.editToken, { body: 'Sorry, no links.' })
  t.equal(clean.json().status, 'pending', 'a pending comment stays pending: a moderator decides')

  // `first`: the comment being edited is not its author's earlier approval.
  const first = await build(t, { commentModeration: 'first', commentRateLimit: 1000 })
  await createArticle(first, { title: 'First', status: 'published' })
  const only = await post(first, 'first')
  t.equal(only.res.json().status, 'pending')
  t.equal((await moderate(first, only.id, { status: 'approved' })).statusCode, 200)
  const edited = await edit(first, only.id, only.editToken, { body: 'Now something else entirely.' })
  t.equal(edited.json().status, 'pending', 'its only approved comment does not vouch for itself')
  t.equal((await first.inject({ method: 'GET', url: '/v1/articles/first' })).json().commentCount, 0)

  await moderate(first, only.id, { status: 'approved' })
  const second = await post(first, 'first')
  t.equal(second.res.json().status, 'approved', 'an approved comment vouches for the next one')
  const again = await edit(first, second.id, second.editToken, { body: 'A fixed typo.' })
  t.equal(again.json().status, 'approved', 'and for an edit of another of its author\'s comments')

  const all = await build(t, { commentModeration: 'all', commentRateLimit: 1000 })
  await createArticle(all, { title: 'All', status: 'published' })
  const held = await post(all, 'all')
  await moderate(all, held.id, { status: 'approved' })
  t.equal((await edit(all, held.id, held.editToken, { body: 'Changed.' })).json().status, 'pending', '`all`: every edit waits')
})

t.test('edits are rate-limited like posts, and share their allowance', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 3 })
  await createArticle(a, { title: 'Limits', status: 'published' })
  const c = await post(a, 'limits')
  const first = await edit(a, c.id, c.editToken, { body: 'one' })
  t.equal(first.statusCode, 200)
  t.equal(first.headers['ratelimit-remaining'], '1', 'the post and this edit used two of three')
  t.equal((await remove(a, c.id, 'gzc_wrong')).statusCode, 403, 'a refused attempt counts too')
  const limited = assertProblem(t, await edit(a, c.id, c.editToken, { body: 'two' }), 429, 'rate-limited')
  t.match(limited.detail, /3 comments a minute/)
  t.ok(Number(await postComment(a, 'limits', reader).then((r) => r.headers['retry-after'])) > 0, 'and posting is limited with them')
  t.equal((await moderate(a, c.id, { body: 'moderators are not limited' })).statusCode, 200)
  t.equal(stored(a, c.id).body, 'moderators are not limited')
})

t.test('a comment of a hidden article, or a tombstone, is 404 to its author; a closed thread is 409 for edits', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Hidden', status: 'published' })
  const c = await post(a, 'hidden')
  const parent = await post(a, 'hidden')
  await post(a, 'hidden', { ...reader, parentId: parent.id })

  await a.as('editor', { method: 'PATCH', url: '/v1/articles/hidden', payload: { commentsOpen: false } })
  assertProblem(t, await edit(a, c.id, c.editToken, { body: 'After closing' }), 409, 'comments-closed')
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/hidden', payload: { commentsOpen: true } })

  await a.as('editor', { method: 'PATCH', url: '/v1/articles/hidden', payload: { status: 'draft' } })
  assertProblem(t, await edit(a, c.id, c.editToken, { body: 'x' }), 404, 'not-found')
  assertProblem(t, await remove(a, c.id, c.editToken), 404, 'not-found')
  assertProblem(t, await edit(a, c.id, 'gzc_wrong', { body: 'x' }), 404, 'not-found')
  t.pass('the article\'s existence is not revealed by the token check')
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/hidden', payload: { status: 'published' } })

  t.equal((await remove(a, parent.id, parent.editToken)).statusCode, 204, 'the author deletes a comment with replies')
  const tomb = (await a.as('moderator', { method: 'GET', url: `/v1/comments/${parent.id}` })).json()
  t.match(tomb, { status: 'deleted', authorEmail: null, body: '' }, 'it stays as a tombstone')
  t.equal(stored(a, parent.id).edit_token_hash, null, 'its edit token goes with the author\'s data')
  assertProblem(t, await edit(a, parent.id, parent.editToken, { body: 'Undo' }), 404, 'not-found')
})

t.test('a bearer token wins over a Comment-Token', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Both', status: 'published' })
  const c = await post(a, 'both')
  const res = await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${c.id}`, payload: { status: 'spam' }, headers: { 'comment-token': 'gzc_anything' } })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'spam', authorEmail: reader.authorEmail })
  assertProblem(t, await a.inject({ method: 'PATCH', url: `/v1/comments/${c.id}`, payload: { body: 'x' }, headers: { authorization: 'Bearer nope-nope-nope-nope-nope', 'comment-token': c.editToken } }), 401, 'unauthorized')
})
