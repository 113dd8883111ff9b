// The author's edit window, continued (API.md section 11): edits go through moderation again, count
// against the posts' rate limit, respect the article's visibility and closed threads; CORS lets a
// browser send the token.
import t from 'tap'
import { authorDelete, authorEdit, assertProblem, build, createArticle, postComment, postWithToken, type TestApp, onSqlite } from '../helper.js'

const reader = { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Welcome hmoe, sailors.' }

const moderate = (a: TestApp, id: number, payload: Record<string, unknown>) =>
  a.as('moderator', { method: 'PATCH', url: `/v1/comments/${id}`, payload })
const stored = (a: TestApp, id: number) => a.app.db.$client.prepare('SELECT * FROM comments WHERE id = ?').get(id) as Record<string, unknown>
const post = (a: TestApp, slug: string, payload: Record<string, unknown> = reader) => postWithToken(a, slug, payload)

t.test('an author\'s edit goes through moderation again', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentMaxLinks: 1, commentRateLimit: 1000 })
  await createArticle(a, { title: 'Links', status: 'published' })
  const c = await post(a, 'links')
  const count = async () => (await a.inject({ method: 'GET', url: '/v1/articles/links' })).json().commentCount
  t.equal(await count(), 1)
  const spammy = await authorEdit(a, c.id, c.editToken, { body: 'Buy https://a.example and https://b.example' })
  t.equal(spammy.json().status, 'pending', 'too many links: back to pending')
  t.equal(await count(), 0, 'commentCount follows')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/comments/${c.id}` }), 404, 'not-found')
  const clean = await authorEdit(a, c.id, c.editToken, { body: 'Sorry, no links.' })
  t.equal(clean.json().status, 'pending', 'a pending comment stays pending: a moderator decides')

  // `first`: the comment being edited is not its author's earlier approval.
  const first = await build(t, { commentModeration: 'first', commentRateLimit: 1000 })
  await createArticle(first, { title: 'First', status: 'published' })
  const only = await post(first, 'first')
  t.equal(only.res.json().status, 'pending')
  t.equal((await moderate(first, only.id, { status: 'approved' })).statusCode, 200)
  const edited = await authorEdit(first, only.id, only.editToken, { body: 'Now something else entirely.' })
  t.equal(edited.json().status, 'pending', 'its only approved comment does not vouch for itself')
  t.equal((await first.inject({ method: 'GET', url: '/v1/articles/first' })).json().commentCount, 0)

  await moderate(first, only.id, { status: 'approved' })
  const second = await post(first, 'first')
  t.equal(second.res.json().status, 'approved', 'an approved comment vouches for the next one')
  const again = await authorEdit(first, second.id, second.editToken, { body: 'A fixed typo.' })
  t.equal(again.json().status, 'approved', 'and for an edit of another of its author\'s comments')

  const all = await build(t, { commentModeration: 'all', commentRateLimit: 1000 })
  await createArticle(all, { title: 'All', status: 'published' })
  const held = await post(all, 'all')
  await moderate(all, held.id, { status: 'approved' })
  t.equal((await authorEdit(all, held.id, held.editToken, { body: 'Changed.' })).json().status, 'pending', '`all`: every edit waits')
})

t.test('edits are rate-limited like posts, and share their allowance', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 3 })
  await createArticle(a, { title: 'Limits', status: 'published' })
  const c = await post(a, 'limits')
  const first = await authorEdit(a, c.id, c.editToken, { body: 'one' })
  t.equal(first.statusCode, 200)
  t.equal(first.headers['ratelimit-remaining'], '1', 'the post and this edit used two of three')
  t.equal((await authorDelete(a, c.id, 'gzc_wrong')).statusCode, 403, 'a refused attempt counts too')
  const limited = assertProblem(t, await authorEdit(a, c.id, c.editToken, { body: 'two' }), 429, 'rate-limited')
  t.match(limited.detail, /3 comments a minute/)
  t.ok(Number(await postComment(a, 'limits', reader).then((r) => r.headers['retry-after'])) > 0, 'and posting is limited with them')
  t.equal((await moderate(a, c.id, { body: 'moderators are not limited' })).statusCode, 200)
  t.equal(stored(a, c.id).body, 'moderators are not limited')
})

t.test('a comment of a hidden article, or a tombstone, is 404 to its author; a closed thread is 409 for edits', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Hidden', status: 'published' })
  const c = await post(a, 'hidden')
  const parent = await post(a, 'hidden')
  await post(a, 'hidden', { ...reader, parentId: parent.id })

  await a.as('editor', { method: 'PATCH', url: '/v1/articles/hidden', payload: { commentsOpen: false } })
  assertProblem(t, await authorEdit(a, c.id, c.editToken, { body: 'After closing' }), 409, 'comments-closed')
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/hidden', payload: { commentsOpen: true } })

  await a.as('editor', { method: 'PATCH', url: '/v1/articles/hidden', payload: { status: 'draft' } })
  assertProblem(t, await authorEdit(a, c.id, c.editToken, { body: 'x' }), 404, 'not-found')
  assertProblem(t, await authorDelete(a, c.id, c.editToken), 404, 'not-found')
  assertProblem(t, await authorEdit(a, c.id, 'gzc_wrong', { body: 'x' }), 404, 'not-found')
  t.pass('the article\'s existence is not revealed by the token check')
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/hidden', payload: { status: 'published' } })

  t.equal((await authorDelete(a, parent.id, parent.editToken)).statusCode, 204, 'the author deletes a comment with replies')
  const tomb = (await a.as('moderator', { method: 'GET', url: `/v1/comments/${parent.id}` })).json()
  t.match(tomb, { status: 'deleted', authorEmail: null, body: '' }, 'it stays as a tombstone')
  t.equal(stored(a, parent.id).edit_token_hash, null, 'its edit token goes with the author\'s data')
  assertProblem(t, await authorEdit(a, parent.id, parent.editToken, { body: 'Undo' }), 404, 'not-found')
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

t.test('a browser on another origin may send Comment-Token (CORS)', async (t) => {
  const a = await build(t, { corsOrigins: ['https://news.example'] })
  for (const method of ['PATCH', 'DELETE']) {
    const res = await a.inject({
      method: 'OPTIONS',
      url: '/v1/comments/1',
      headers: { origin: 'https://news.example', 'access-control-request-method': method, 'access-control-request-headers': 'comment-token, content-type, if-match' }
    })
    t.equal(res.statusCode, 204)
    t.equal(res.headers['access-control-allow-origin'], 'https://news.example')
    t.ok(String(res.headers['access-control-allow-headers']).split(', ').includes('Comment-Token'), `${method}: Comment-Token is allowed`)
  }
})

t.test('a moderator\'s decision made between the author\'s read and write stands', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Raced', status: 'published' })
  // Another process marks the comment as spam just after this one has read it for the author.
  const findById = a.app.comments.findById
  t.teardown(() => { a.app.comments.findById = findById })
  const raced = (status: string) => {
    let pending = true
    a.app.comments.findById = async (id) => {
      const record = await findById(id)
      if (pending) {
        pending = false
        a.app.db.$client.prepare('UPDATE comments SET status = ?, updated_at = updated_at + 1 WHERE id = ?').run(status, id)
      }
      return record
    }
  }
  const edited = await post(a, 'raced')
  raced('spam')
  assertProblem(t, await authorEdit(a, edited.id, edited.editToken, { body: 'Buy now' }), 403, 'forbidden')
  t.match(stored(a, edited.id), { status: 'spam', body: reader.body }, 'the edit neither lands nor approves the spam again')

  const deleted = await post(a, 'raced')
  raced('trash')
  assertProblem(t, await authorDelete(a, deleted.id, deleted.editToken), 403, 'forbidden')
  t.match(stored(a, deleted.id), { status: 'trash' }, 'the comment a moderator trashed is not deleted by its author')

  // An editor closes the thread just after the read: the edit is refused as on a closed thread.
  const closing = await post(a, 'raced')
  let close = true
  a.app.comments.findById = async (id) => {
    const record = await findById(id)
    if (close) {
      close = false
      a.app.db.$client.prepare("UPDATE articles SET comments_open = 0 WHERE slug = 'raced'").run()
    }
    return record
  }
  assertProblem(t, await authorEdit(a, closing.id, closing.editToken, { body: 'Sneaked in' }), 409, 'comments-closed')
  t.equal(stored(a, closing.id).body, reader.body)
  a.app.db.$client.prepare("UPDATE articles SET comments_open = 1 WHERE slug = 'raced'").run()

  // Another process edits it after every read: the author's write gives up with a 409, writing nothing.
  const restless = await post(a, 'raced')
  a.app.comments.findById = async (id) => {
    const record = await findById(id)
    a.app.db.$client.prepare('UPDATE comments SET body = body || \'!\', updated_at = updated_at + 1 WHERE id = ?').run(id)
    return record
  }
  assertProblem(t, await authorEdit(a, restless.id, restless.editToken, { body: 'Mine' }), 409, 'conflict')
  t.notOk(String(stored(a, restless.id).body).includes('Mine'))
  assertProblem(t, await authorDelete(a, restless.id, restless.editToken), 409, 'conflict')
  t.ok(stored(a, restless.id), 'and deletes nothing')
})
