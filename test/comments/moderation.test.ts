import t, { type Test } from 'tap'
import { assertProblem, build, countComments, createArticle, postComment, type TestApp } from '../helper.js'

const reader = { authorName: 'Ivan', authorEmail: 'ivan@example.com', authorUrl: 'https://ivan.example', body: 'A comment.' }

/** commentCount on the article, and the approved comments counted through the API, must agree. */
async function assertCount (t: Test, a: TestApp, slug: string, expected: number, why: string): Promise<void> {
  const article = (await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })).json()
  const listed = (await a.as('moderator', { method: 'GET', url: `/v1/articles/${slug}/comments?status=approved&include=total` })).json()
  t.equal(article.commentCount, expected, `${why}: commentCount`)
  t.equal(listed.page.total, expected, `${why}: approved comments through the API`)
}

const patch = (a: TestApp, id: number, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
  a.as('moderator', { method: 'PATCH', url: `/v1/comments/${id}`, payload, headers })
const remove = (a: TestApp, id: number, headers: Record<string, string> = {}) =>
  a.as('moderator', { method: 'DELETE', url: `/v1/comments/${id}`, headers })

t.test('commentCount equals the approved comments through every path', async (t) => {
  const a = await build(t, { commentModeration: 'all', commentRateLimit: 1000 })
  const article = await createArticle(a, { title: 'Counted', status: 'published' })
  const slug = 'counted'
  const ids: number[] = []
  for (let i = 0; i < 4; i++) ids.push((await postComment(a, slug, { ...reader, body: `comment ${i}` })).json().id)
  const [c0, c1, c2, c3] = ids as [number, number, number, number]
  await assertCount(t, a, slug, 0, 'pending comments do not count')

  t.equal((await patch(a, c0, { status: 'approved' })).json().status, 'approved')
  await assertCount(t, a, slug, 1, 'approve')
  await patch(a, c1, { status: 'approved' })
  await patch(a, c2, { status: 'approved' })
  await assertCount(t, a, slug, 3, 'approve two more')
  await patch(a, c0, { status: 'approved' })
  await assertCount(t, a, slug, 3, 'approving an approved comment')
  await patch(a, c1, { status: 'pending' })
  await assertCount(t, a, slug, 2, 'unapprove')
  await patch(a, c2, { status: 'spam' })
  await assertCount(t, a, slug, 1, 'spam')
  await patch(a, c0, { status: 'trash' })
  await assertCount(t, a, slug, 0, 'trash')
  await patch(a, c0, { status: 'approved' })
  await patch(a, c2, { status: 'approved' })
  await assertCount(t, a, slug, 2, 'back from trash and spam')
  await patch(a, c0, { body: 'Edited by a moderator.' })
  await assertCount(t, a, slug, 2, 'an edit')

  const reply = (await a.as('editor', { method: 'POST', url: `/v1/articles/${slug}/comments`, payload: { ...reader, parentId: c0 } })).json()
  await patch(a, reply.id, { status: 'approved' })
  await assertCount(t, a, slug, 3, 'an approved reply')
  t.equal((await remove(a, c0)).statusCode, 204)
  await assertCount(t, a, slug, 2, 'delete with replies (tombstone)')
  t.equal((await remove(a, c2)).statusCode, 204)
  await assertCount(t, a, slug, 1, 'delete without replies')
  t.equal((await remove(a, c3)).statusCode, 204)
  await assertCount(t, a, slug, 1, 'delete a pending comment')

  const after = (await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })).json()
  t.equal(after.revision, article.revision, 'comments do not bump the article\'s revision')
  t.equal(after.updatedAt, article.updatedAt, 'nor its updatedAt')

  const other = await createArticle(a, { title: 'Other', status: 'published' })
  const kept = (await postComment(a, other.slug, reader)).json()
  await patch(a, kept.id, { status: 'approved' })
  const before = await countComments(a)
  t.equal((await a.as('editor', { method: 'DELETE', url: `/v1/articles/${slug}` })).statusCode, 204)
  t.equal(await countComments(a), before - 3, 'the article\'s comments go with it (tombstone, reply, pending)')
  assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/comments/${reply.id}` }), 404, 'not-found')
  await assertCount(t, a, other.slug, 1, 'another article is untouched')
})

t.test('moderators edit, with If-Match; bad patches change nothing', async (t) => {
  const a = await build(t, { commentModeration: 'all', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Edits', status: 'published' })
  const c = (await postComment(a, 'edits', reader)).json()

  const got = await a.as('moderator', { method: 'GET', url: `/v1/comments/${c.id}` })
  const etag = got.headers.etag as string
  a.clock.advance(5000)
  const edited = await patch(a, c.id, { body: 'Now with <b>html</b> and **markdown**', status: 'approved' }, { 'if-match': etag })
  t.equal(edited.statusCode, 200)
  t.match(edited.json(), {
    body: 'Now with <b>html</b> and **markdown**',
    bodyHtml: '<p>Now with &lt;b&gt;html&lt;/b&gt; and <strong>markdown</strong></p>\n',
    status: 'approved',
    authorEmail: 'ivan@example.com',
    createdAt: '2026-07-08T09:00:00.000Z',
    updatedAt: '2026-07-08T09:00:05.000Z'
  })
  t.not(edited.headers.etag, etag)

  const stale = await patch(a, c.id, { status: 'spam' }, { 'if-match': etag })
  assertProblem(t, stale, 412, 'precondition-failed')
  assertProblem(t, await remove(a, c.id, { 'if-match': etag }), 412, 'precondition-failed')
  assertProblem(t, await patch(a, c.id, { status: 'spam' }, { 'if-match': 'garbage' }), 422, 'validation')
  for (const [why, payload] of [
    ['status deleted', { status: 'deleted' }],
    ['unknown status', { status: 'published' }],
    ['empty body', { body: '' }],
    ['body over 10000', { body: 'x'.repeat(10001) }],
    ['unknown field', { authorEmail: 'other@example.com' }],
    ['not an object', ['approved']]
  ] as const) {
    assertProblem(t, await patch(a, c.id, payload as Record<string, unknown>), 422, 'validation')
    t.pass(why)
  }
  assertProblem(t, await patch(a, 99999, { status: 'approved' }), 404, 'not-found')
  assertProblem(t, await patch(a, 0, { status: 'approved' }), 422, 'validation')
  const unchanged = await a.as('moderator', { method: 'GET', url: `/v1/comments/${c.id}` })
  t.equal(unchanged.headers.etag, edited.headers.etag, 'nothing changed')

  const same = await patch(a, c.id, { status: 'approved' }, { 'if-match': edited.headers.etag as string })
  t.equal(same.statusCode, 200)
  t.equal(same.json().updatedAt, '2026-07-08T09:00:05.000Z', 'a patch that changes nothing keeps updatedAt')

  assertProblem(t, await a.inject({ method: 'PATCH', url: `/v1/comments/${c.id}`, payload: { status: 'spam' } }), 401, 'unauthorized')
  assertProblem(t, await a.inject({ method: 'DELETE', url: `/v1/comments/${c.id}` }), 401, 'unauthorized')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/comments' }), 401, 'unauthorized')
  t.equal((await a.as('editor', { method: 'PATCH', url: `/v1/comments/${c.id}`, payload: { status: 'pending' } })).statusCode, 200, 'editors moderate too')
  t.equal((await a.as('admin', { method: 'PATCH', url: `/v1/comments/${c.id}`, payload: { status: 'approved' } })).statusCode, 200, 'and admins')
})

t.test('tombstones keep a thread together and erase the author', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Thread', status: 'published' })
  const root = (await postComment(a, 'thread', reader, { 'user-agent': 'RootAgent' })).json()
  const reply = (await postComment(a, 'thread', { ...reader, authorEmail: 'olga@example.com', parentId: root.id })).json()
  const nested = (await postComment(a, 'thread', { ...reader, parentId: reply.id })).json()
  const lonely = (await postComment(a, 'thread', reader)).json()

  a.clock.advance(1000)
  t.equal((await remove(a, root.id)).statusCode, 204)
  const list = (await a.inject({ method: 'GET', url: '/v1/articles/thread/comments' })).json()
  t.same(list.data.map((c: { id: number }) => c.id), [root.id, reply.id, nested.id, lonely.id], 'the tombstone keeps its place')
  const tomb = list.data[0]
  t.same(tomb, {
    id: root.id,
    articleSlug: 'thread',
    parentId: null,
    authorName: null,
    authorUrl: null,
    avatarHash: null,
    body: '',
    bodyHtml: '',
    status: 'deleted',
    edited: false,
    createdAt: root.createdAt,
    updatedAt: '2026-07-08T09:00:01.000Z'
  })
  t.equal(list.data[1].parentId, root.id, 'the reply still points at it')
  const modView = (await a.as('moderator', { method: 'GET', url: `/v1/comments/${root.id}` })).json()
  t.match(modView, { authorEmail: null, ip: null, userAgent: null, authorName: null, status: 'deleted' }, 'erased for moderators too')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/comments/${root.id}` }), 404, 'not-found')
  assertProblem(t, await patch(a, root.id, { status: 'approved' }), 409, 'conflict')
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/thread' })).json().commentCount, 3)

  t.equal((await remove(a, lonely.id)).statusCode, 204)
  assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/comments/${lonely.id}` }), 404, 'not-found')

  t.equal((await remove(a, reply.id)).statusCode, 204, 'a reply with a reply becomes a tombstone too')
  t.equal((await remove(a, nested.id)).statusCode, 204)
  const empty = (await a.inject({ method: 'GET', url: '/v1/articles/thread/comments' })).json()
  t.same(empty.data, [], 'tombstones left without replies are removed with the last reply')
  t.equal(await countComments(a), 0)
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/thread' })).json().commentCount, 0)
  assertProblem(t, await remove(a, root.id), 404, 'not-found')
})

t.test('lists: an article\'s thread, oldest first, paginated; status filters by role', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Busy', status: 'published' })
  await createArticle(a, { title: 'Quiet', status: 'published' })
  await createArticle(a, { title: 'Hidden' })
  const ids: number[] = []
  for (let i = 0; i < 7; i++) {
    if (i % 3 === 0) a.clock.advance(1000) // several share a timestamp: the id breaks ties
    ids.push((await postComment(a, 'busy', { ...reader, body: `comment ${i}` })).json().id)
  }
  await postComment(a, 'quiet', reader)
  const held = (await postComment(a, 'busy', { ...reader, body: 'https://a.example https://b.example https://c.example' })).json()
  t.equal(held.status, 'pending')

  const seen: number[] = []
  let url: string | undefined = '/v1/articles/busy/comments?limit=3&include=total'
  let pages = 0
  while (url !== undefined) {
    const res = await a.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.equal(body.page.total, 7)
    seen.push(...body.data.map((c: { id: number }) => c.id))
    t.equal(res.headers.link === undefined, body.page.nextCursor === null, 'Link: rel="next" when there is a next page')
    url = body.page.nextCursor === null ? undefined : `/v1/articles/busy/comments?limit=3&include=total&cursor=${body.page.nextCursor}`
    pages++
  }
  t.same(seen, ids, 'every approved comment once, oldest first')
  t.equal(pages, 3)

  const first = (await a.inject({ method: 'GET', url: '/v1/articles/busy/comments?limit=3' })).json()
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles/quiet/comments?limit=3&cursor=${first.page.nextCursor}` }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/busy/comments?cursor=nonsense' }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/busy/comments?limit=101' }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/busy/comments?limit=0' }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/busy/comments?sort=id' }), 422, 'validation')

  const list = await a.inject({ method: 'GET', url: '/v1/articles/busy/comments' })
  t.match(list.headers.etag, /^"/)
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/busy/comments', headers: { 'if-none-match': list.headers.etag as string } })).statusCode, 304)

  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/busy/comments?status=pending' }), 401, 'unauthorized')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/busy/comments?status=any' }), 401, 'unauthorized')
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/busy/comments?status=approved' })).json().data.length, 7)
  const pending = (await a.as('moderator', { method: 'GET', url: '/v1/articles/busy/comments?status=pending' })).json()
  t.same(pending.data.map((c: { id: number }) => c.id), [held.id])
  t.equal(pending.data[0].authorEmail, 'ivan@example.com', 'moderators get ModeratedComments')
  t.equal((await a.as('moderator', { method: 'GET', url: '/v1/articles/busy/comments?status=any' })).json().data.length, 8)
  t.equal((await a.as('moderator', { method: 'GET', url: '/v1/articles/busy/comments' })).json().data.length, 7, 'by default, the thread as readers see it')

  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/hidden/comments' }), 404, 'not-found')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/nothing-here/comments' }), 404, 'not-found')
  assertProblem(t, await a.as('moderator', { method: 'GET', url: '/v1/articles/hidden/comments' }), 404, 'not-found')
  t.equal((await a.as('editor', { method: 'GET', url: '/v1/articles/hidden/comments' })).statusCode, 200, 'the thread of an unpublished article is seen by those who see the article: editors')

  const quiet = (await a.inject({ method: 'GET', url: '/v1/articles/quiet/comments' })).json().data[0]
  t.equal((await a.inject({ method: 'GET', url: `/v1/comments/${quiet.id}` })).statusCode, 200)
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/quiet', payload: { status: 'archived' } })
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/comments/${quiet.id}` }), 404, 'not-found')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/quiet/comments' }), 404, 'not-found')
  assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/comments/${quiet.id}` }), 404, 'not-found')
  t.equal((await a.as('editor', { method: 'GET', url: `/v1/comments/${quiet.id}` })).statusCode, 200, 'a comment on an unpublished article is seen by editors only')
})

t.test('the moderation queue across articles', async (t) => {
  const a = await build(t, { commentModeration: 'first', commentRateLimit: 1000 })
  await createArticle(a, { title: 'North', status: 'published' })
  await createArticle(a, { title: 'South', status: 'published' })
  const n1 = (await postComment(a, 'north', reader)).json()
  a.clock.advance(1000)
  const s1 = (await postComment(a, 'south', { ...reader, authorEmail: 'olga@example.com' })).json()
  a.clock.advance(1000)
  const n2 = (await postComment(a, 'north', { ...reader, authorEmail: 'petr@example.com' })).json()
  await patch(a, n1.id, { status: 'approved' })
  await patch(a, s1.id, { status: 'spam' })

  const ids = async (query: string) => {
    const res = await a.as('moderator', { method: 'GET', url: `/v1/comments${query}` })
    t.equal(res.statusCode, 200, query)
    return res.json().data.map((c: { id: number }) => c.id)
  }
  t.same(await ids(''), [n2.id, s1.id, n1.id], 'every status, newest first')
  t.same(await ids('?sort=createdAt'), [n1.id, s1.id, n2.id])
  t.same(await ids('?status=pending'), [n2.id])
  t.same(await ids('?status=spam'), [s1.id])
  t.same(await ids('?status=any&article=north'), [n2.id, n1.id])
  t.same(await ids('?article=north&status=approved'), [n1.id])
  t.same(await ids('?article=no-such-article'), [])
  const total = (await a.as('moderator', { method: 'GET', url: '/v1/comments?article=no-such-article&include=total' })).json()
  t.equal(total.page.total, 0)

  const page1 = (await a.as('moderator', { method: 'GET', url: '/v1/comments?limit=2' })).json()
  t.equal(page1.data.length, 2)
  t.match(page1.data[0], { authorEmail: 'petr@example.com', ip: '127.0.0.1' })
  const page2 = (await a.as('moderator', { method: 'GET', url: `/v1/comments?limit=2&cursor=${page1.page.nextCursor}` })).json()
  t.same(page2.data.map((c: { id: number }) => c.id), [n1.id])
  t.equal(page2.page.nextCursor, null)
  assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/comments?status=spam&cursor=${page1.page.nextCursor}` }), 422, 'validation')
  assertProblem(t, await a.as('moderator', { method: 'GET', url: '/v1/comments?status=bogus' }), 422, 'validation')
  assertProblem(t, await a.as('moderator', { method: 'GET', url: '/v1/comments?article=Bad_Slug' }), 422, 'validation')
  assertProblem(t, await a.as('moderator', { method: 'GET', url: '/v1/comments?foo=1' }), 422, 'validation')
})
