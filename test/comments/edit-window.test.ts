// The author's edit window (API.md section 11): the 201 carries an edit token once; with it as
// Comment-Token the author may PATCH the body or DELETE the comment for COMMENT_EDIT_MINUTES.
import t from 'tap'
import { authorDelete, authorEdit, assertProblem, build, countComments, createArticle, postComment, postWithToken, type TestApp, onSqlite } from '../helper.js'

const reader = { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Welcome hmoe, sailors.' }
const MINUTE = 60_000

const moderate = (a: TestApp, id: number, payload: Record<string, unknown>) =>
  a.as('moderator', { method: 'PATCH', url: `/v1/comments/${id}`, payload })
const stored = (a: TestApp, id: number) => a.app.db.$client.prepare('SELECT * FROM comments WHERE id = ?').get(id) as Record<string, unknown>
const post = (a: TestApp, slug: string, payload: Record<string, unknown> = reader) => postWithToken(a, slug, payload)

t.test('the author fixes a typo and deletes within the window; the public sees edited and updatedAt', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Fleet', status: 'published' })
  const { id, editToken, res } = await post(a, 'fleet')
  t.equal(stored(a, id).edit_token_hash, (await import('node:crypto')).createHash('sha256').update(editToken).digest('hex'), 'only the SHA-256 is stored')
  t.notOk(JSON.stringify(stored(a, id)).includes(editToken), 'never the token itself')

  a.clock.advance(2 * MINUTE)
  const fixed = await authorEdit(a, id, editToken, { body: 'Welcome **home**, sailors.' }, { 'if-match': res.headers.etag as string })
  t.equal(fixed.statusCode, 200)
  t.match(fixed.json(), { id, body: 'Welcome **home**, sailors.', bodyHtml: '<p>Welcome <strong>home</strong>, sailors.</p>\n', status: 'approved', edited: true, updatedAt: '2026-07-08T09:02:00.000Z', createdAt: '2026-07-08T09:00:00.000Z' })
  t.notOk('authorEmail' in fixed.json(), 'the author gets the public shape')
  t.notOk('editToken' in fixed.json())
  const pub = (await a.inject({ method: 'GET', url: `/v1/comments/${id}` }))
  t.match(pub.json(), { edited: true, updatedAt: '2026-07-08T09:02:00.000Z', body: 'Welcome **home**, sailors.' }, 'the public sees the change')
  t.equal(pub.headers.etag, fixed.headers.etag)
  t.match((await a.inject({ method: 'GET', url: '/v1/articles/fleet/comments' })).json().data[0], { edited: true })

  const stale = await authorEdit(a, id, editToken, { body: 'Again' }, { 'if-match': res.headers.etag as string })
  assertProblem(t, stale, 412, 'precondition-failed')
  const same = await authorEdit(a, id, editToken, { body: 'Welcome **home**, sailors.' })
  t.equal(same.json().updatedAt, '2026-07-08T09:02:00.000Z', 'the same body changes nothing')
  t.equal((await authorEdit(a, id, editToken, {})).statusCode, 200, 'an empty patch is a no-op')

  assertProblem(t, await authorDelete(a, id, editToken, { 'if-match': res.headers.etag as string }), 412, 'precondition-failed')
  t.equal((await authorDelete(a, id, editToken, { 'if-match': pub.headers.etag as string })).statusCode, 204)
  t.equal(await countComments(a), 0)
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/fleet' })).json().commentCount, 0)
  assertProblem(t, await authorDelete(a, id, editToken), 404, 'not-found')
})

t.test('401 without credentials, 403 for a wrong token, a closed window or a moderated comment', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 }) // COMMENT_EDIT_MINUTES: the default, 15
  await createArticle(a, { title: 'Rules', status: 'published' })
  const mine = await post(a, 'rules')
  const other = await post(a, 'rules', { ...reader, authorEmail: 'ivan@example.com' })

  for (const res of [await authorEdit(a, mine.id, undefined, { body: 'x' }), await authorDelete(a, mine.id, undefined)]) {
    const problem = assertProblem(t, res, 401, 'unauthorized')
    t.match(res.headers['www-authenticate'], /^Bearer/)
    t.match(problem.detail, /Comment-Token/)
  }
  assertProblem(t, await authorEdit(a, mine.id, undefined, { body: '' }), 401, 'unauthorized')
  t.pass('no credentials is a 401 before the body is even validated')
  for (const token of [other.editToken, 'gzc_wrong', mine.editToken.slice(0, -1) + (mine.editToken.endsWith('A') ? 'B' : 'A'), 'x'.repeat(200)]) {
    assertProblem(t, await authorEdit(a, mine.id, token, { body: 'Hijacked' }), 403, 'forbidden')
    assertProblem(t, await authorDelete(a, mine.id, token), 403, 'forbidden')
  }
  assertProblem(t, await authorEdit(a, mine.id, 'x'.repeat(201), { body: 'x' }), 422, 'validation')
  assertProblem(t, await authorEdit(a, mine.id, mine.editToken, { status: 'approved' }), 403, 'forbidden')
  assertProblem(t, await authorEdit(a, mine.id, mine.editToken, { body: '' }), 422, 'validation')
  assertProblem(t, await authorEdit(a, 99999, mine.editToken, { body: 'x' }), 404, 'not-found')
  t.equal(stored(a, mine.id).body, reader.body, 'nothing changed')

  a.clock.advance(15 * MINUTE - 1)
  t.equal((await authorEdit(a, mine.id, mine.editToken, { body: 'Last second' })).statusCode, 200, 'open until the 15th minute ends')
  a.clock.advance(1)
  const closed = assertProblem(t, await authorEdit(a, mine.id, mine.editToken, { body: 'Too late' }), 403, 'forbidden')
  t.match(closed.detail, /15 minutes/)
  assertProblem(t, await authorDelete(a, mine.id, mine.editToken), 403, 'forbidden')
  t.equal(stored(a, mine.id).body, 'Last second')
  t.equal((await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${mine.id}`, payload: { body: 'Moderated' } })).statusCode, 200, 'moderators are not bound by the window')

  for (const status of ['spam', 'trash'] as const) {
    const c = await post(a, 'rules')
    t.equal((await moderate(a, c.id, { status })).statusCode, 200)
    const denied = assertProblem(t, await authorEdit(a, c.id, c.editToken, { body: 'Let me back' }), 403, 'forbidden')
    t.match(denied.detail, /moderator/)
    assertProblem(t, await authorDelete(a, c.id, c.editToken), 403, 'forbidden')
    assertProblem(t, await authorEdit(a, c.id, other.editToken, { body: 'x' }), 403, 'forbidden')
  }
  const pending = await post(a, 'rules')
  await moderate(a, pending.id, { status: 'pending' })
  t.equal((await authorEdit(a, pending.id, pending.editToken, { body: 'Still mine' })).statusCode, 200, 'a pending comment is its author\'s to fix')

  const none = await build(t, { commentEditMinutes: 0 })
  await createArticle(none, { title: 'Frozen', status: 'published' })
  const frozen = (await postComment(none, 'frozen', reader)).json()
  t.equal(frozen.editToken, null, 'COMMENT_EDIT_MINUTES=0: no token is issued')
  t.equal(stored(none, frozen.id).edit_token_hash, null)
})
