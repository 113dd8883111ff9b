// Article history: a revision per change, with its author and the fields it changed, and every old
// revision readable as the article was.
import t from 'tap'
import { assertProblem, build, createArticle, type TestApp, onSqlite } from '../helper.js'

const revisions = (a: TestApp, slug: string, query = '') =>
  a.as('editor', { method: 'GET', url: `/v1/articles/${slug}/revisions${query}` })
const revision = (a: TestApp, slug: string, n: number) =>
  a.as('editor', { method: 'GET', url: `/v1/articles/${slug}/revisions/${n}` })

/** The versioned fields of an article as GET /v1/articles/{slug} shows them. */
const versioned = (article: Record<string, unknown>) => {
  const { id: _id, createdAt: _c, updatedAt: _u, commentCount: _n, revision: _r, ...rest } = article
  return rest
}

t.test('each change makes a revision by the token that made it, naming the fields it changed', async (t) => {
  const a = await build(t)
  const desk = (await a.app.tokens.create('Night desk', 'editor')).token
  const created = await createArticle(a, {
    title: 'Harbour reopens', body: 'The harbour reopened today.\n', tags: ['Ports'], authors: ['Anna Petrova']
  })
  a.clock.advance(60_000)
  const edit = (payload: Record<string, unknown>, token = a.tokens.editor) =>
    a.inject({ method: 'PATCH', url: `/v1/articles/${created.slug}`, headers: { authorization: `Bearer ${token}` }, payload })
  t.equal((await edit({ title: 'Harbour reopens after storm', body: 'The harbour reopened this morning.\n' }, desk)).json().revision, 2)
  a.clock.advance(60_000)
  t.equal((await edit({ status: 'published' })).json().revision, 3)
  a.clock.advance(60_000)
  t.equal((await edit({ tags: ['Ports', 'Weather'], authors: ['Anna Petrova', 'Boris Okafor'], commentsOpen: false })).json().revision, 4)
  const noop = await edit({ title: 'Harbour reopens after storm', tags: ['ports', 'WEATHER'] })
  t.equal(noop.json().revision, 4, 'a patch that changes nothing makes no revision')

  const list = await revisions(a, created.slug)
  t.equal(list.statusCode, 200)
  t.match(list.headers.etag, /^"/)
  t.same(list.json(), {
    data: [
      { revision: 4, createdAt: '2026-07-08T09:03:00.000Z', author: 'test editor', changed: ['authors', 'tags', 'commentsOpen'], restoredFrom: null },
      { revision: 3, createdAt: '2026-07-08T09:02:00.000Z', author: 'test editor', changed: ['status', 'publishedAt'], restoredFrom: null },
      { revision: 2, createdAt: '2026-07-08T09:01:00.000Z', author: 'Night desk', changed: ['title', 'body'], restoredFrom: null },
      {
        revision: 1,
        createdAt: '2026-07-08T09:00:00.000Z',
        author: 'test editor',
        changed: ['slug', 'title', 'summary', 'body', 'section', 'dateline', 'source', 'authors', 'tags', 'status', 'publishedAt', 'commentsOpen', 'image', 'canonicalUrl'],
        restoredFrom: null
      }
    ],
    page: { limit: 20, nextCursor: null }
  })
  const again = await revisions(a, created.slug, '')
  t.equal(again.headers.etag, list.headers.etag, 'the same history has the same ETag')
  const notModified = await a.as('editor', { method: 'GET', url: `/v1/articles/${created.slug}/revisions`, headers: { 'if-none-match': list.headers.etag as string } })
  t.equal(notModified.statusCode, 304)

  // The author is the token's name at the time: renaming history is not possible by revoking it.
  const id = (await a.as('admin', { method: 'GET', url: '/v1/tokens?limit=100' })).json().data.find((x: { name: string }) => x.name === 'Night desk').id
  t.equal((await a.as('admin', { method: 'DELETE', url: `/v1/tokens/${id}` })).statusCode, 204)
  t.equal((await revisions(a, created.slug)).json().data[2].author, 'Night desk')
})

t.test('every revision reads as the article was, the current one included', async (t) => {
  const a = await build(t)
  const seen: Record<string, unknown>[] = []
  const first = await createArticle(a, { title: 'Budget vote', summary: 'Parliament votes.', body: 'Para one.\n\nPara two.\n', tags: ['Budget'], section: 'Politics' })
  seen.push(first)
  const changes: Record<string, unknown>[] = [
    { body: 'Para one, corrected.\n\nPara two.\n' },
    { summary: null, dateline: 'OSLO', source: 'Wire' },
    { slug: 'budget-vote-passes', title: 'Budget vote passes' },
    { status: 'published', publishedAt: '2026-07-08T08:00:00.000Z' },
    { body: '' },
    { body: 'Rewritten from scratch.\n', tags: [], authors: ['Kemi Silva'] }
  ]
  let slug = first.slug as string
  for (const change of changes) {
    a.clock.advance(1000)
    const res = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload: change })
    t.equal(res.statusCode, 200, res.body)
    seen.push(res.json())
    slug = res.json().slug
  }
  for (const [i, article] of seen.entries()) {
    const res = await revision(a, slug, i + 1)
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.equal(body.revision, i + 1)
    t.same(body.article, versioned(article), `revision ${i + 1} is the article as it was`)
    t.equal(body.createdAt, article.updatedAt, 'made when the article was updated')
  }
  assertProblem(t, await revision(a, slug, 8), 404, 'not-found')
  assertProblem(t, await revision(a, 'nowhere', 1), 404, 'not-found')
  const bad = await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}/revisions/0` })
  t.match(assertProblem(t, bad, 422, 'validation').errors, [{ in: 'path', pointer: '/revision' }])

  // At a slug it used to have, a read of its history redirects, query included.
  const moved = await a.as('editor', { method: 'GET', url: '/v1/articles/budget-vote/revisions/3/diff?against=1' })
  t.equal(moved.statusCode, 301)
  t.equal(moved.headers.location, '/v1/articles/budget-vote-passes/revisions/3/diff?against=1')
  t.equal((await a.as('editor', { method: 'GET', url: '/v1/articles/budget-vote/revisions?limit=2' })).headers.location, '/v1/articles/budget-vote-passes/revisions?limit=2')
  t.equal((await a.as('editor', { method: 'GET', url: '/v1/articles/budget-vote/revisions/2' })).headers.location, '/v1/articles/budget-vote-passes/revisions/2')
})

t.test('tags are shown under their current names; a deleted one under the name it had', async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Ferry strike', tags: ['Unions', 'Ferries'] })
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${art.slug}`, payload: { title: 'Ferry strike ends', tags: ['Unions'] } })
  await a.as('editor', { method: 'PATCH', url: '/v1/tags/unions', payload: { name: 'Trade unions' } })
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/tags/ferries' })).statusCode, 204)
  t.same((await revision(a, art.slug, 1)).json().article.tags, [{ slug: 'unions', name: 'Trade unions' }, { slug: 'ferries', name: 'Ferries' }])
  t.same((await revision(a, art.slug, 2)).json().article.tags, [{ slug: 'unions', name: 'Trade unions' }])
  t.equal((await revisions(a, art.slug)).json().data.length, 2, 'a renamed or deleted tag is not a change of the article')

  // A tag deleted while on the current revision leaves the article, not the revision written with it.
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${art.slug}`, payload: { tags: ['Unions', 'Strikes'] } })
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/tags/strikes' })).statusCode, 204)
  t.same((await revision(a, art.slug, 3)).json().article.tags.map((x: { slug: string }) => x.slug), ['unions'], 'the current revision is the article as it is')
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${art.slug}`, payload: { title: 'Ferry strike is over' } })
  t.same((await revision(a, art.slug, 3)).json().article.tags, [{ slug: 'unions', name: 'Trade unions' }, { slug: 'strikes', name: 'Strikes' }])
  t.same((await revision(a, art.slug, 2)).json().article.tags, [{ slug: 'unions', name: 'Trade unions' }])
  t.same((await revision(a, art.slug, 4)).json().changed, ['title'])
})

t.test('the list pages newest first with cursors bound to the article', async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Page me' })
  const other = await createArticle(a, { title: 'Other' })
  for (let i = 0; i < 6; i++) await a.as('editor', { method: 'PATCH', url: `/v1/articles/${art.slug}`, payload: { title: `Page me ${i}` } })
  const seen: number[] = []
  let url: string | undefined = `/v1/articles/${art.slug}/revisions?limit=3&include=total`
  let first: Record<string, any> | undefined
  while (url !== undefined) {
    const res = await a.as('editor', { method: 'GET', url })
    t.equal(res.statusCode, 200)
    const body = res.json()
    first ??= body
    t.equal(body.page.total, 7)
    seen.push(...body.data.map((r: { revision: number }) => r.revision))
    if (body.page.nextCursor !== null) t.match(res.headers.link, /rel="next"/)
    url = body.page.nextCursor === null ? undefined : (res.headers.link as string).replace(/^<([^>]+)>.*$/, '$1')
  }
  t.same(seen, [7, 6, 5, 4, 3, 2, 1], 'every revision once, newest first')
  const cursor = first!.page.nextCursor as string
  const elsewhere = await a.as('editor', { method: 'GET', url: `/v1/articles/${other.slug}/revisions?cursor=${cursor}` })
  assertProblem(t, elsewhere, 422, 'validation')
  const forged = Buffer.from(JSON.stringify([JSON.parse(Buffer.from(cursor, 'base64url').toString())[0], 'x'])).toString('base64url')
  assertProblem(t, await a.as('editor', { method: 'GET', url: `/v1/articles/${art.slug}/revisions?cursor=${forged}` }), 422, 'validation')
  assertProblem(t, await a.as('editor', { method: 'GET', url: `/v1/articles/${art.slug}/revisions?limit=101` }), 422, 'validation')
  assertProblem(t, await a.as('editor', { method: 'GET', url: `/v1/articles/${art.slug}/revisions?sort=x` }), 422, 'validation')
})

t.test('deleting an article deletes its history; a new article at its slug starts afresh', onSqlite, async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Gone soon', body: 'v1' })
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${art.slug}`, payload: { body: 'v2' } })
  t.equal((await a.as('editor', { method: 'DELETE', url: `/v1/articles/${art.slug}` })).statusCode, 204)
  assertProblem(t, await revisions(a, art.slug), 404, 'not-found')
  const rows = a.app.db.$client.prepare('SELECT count(*) AS n FROM article_revisions WHERE article_id = ?').get(art.id) as { n: number }
  t.equal(rows.n, 0, 'no row is left behind')
  const again = await createArticle(a, { title: 'Gone soon', body: 'new' })
  t.same((await revisions(a, again.slug)).json().data.map((r: { revision: number }) => r.revision), [1])
  t.equal((await revision(a, again.slug, 1)).json().article.body, 'new')
})
