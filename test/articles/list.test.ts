import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

t.test('keyset pages walk every article exactly once, even as new ones arrive', async (t) => {
  const a = await build(t)
  for (let i = 0; i < 25; i++) {
    a.clock.advance(i % 3 === 0 ? 0 : 1000) // some share a publishedAt: the id breaks ties
    await createArticle(a, { title: `Story ${i}`, status: 'published' })
  }
  const seen: string[] = []
  let url: string | undefined = '/v1/articles?limit=7&include=total'
  let pages = 0
  while (url) {
    const res = await a.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200)
    const body = res.json()
    if (pages === 0) t.equal(body.page.total, 25)
    seen.push(...body.data.map((x: { slug: string }) => x.slug))
    // A new article published while paging lands on page one, not in the walk.
    a.clock.advance(1000)
    await createArticle(a, { title: `Late ${pages}`, status: 'published' })
    const link = res.headers.link as string | undefined
    url = body.page.nextCursor ? `/v1/articles?limit=7&include=total&cursor=${body.page.nextCursor as string}` : undefined
    t.equal(link, url ? `<${url}>; rel="next"` : undefined, 'Link header carries the next page')
    pages++
  }
  t.equal(pages, 4)
  t.equal(seen.length, 25)
  t.equal(new Set(seen).size, 25, 'no duplicates')
  t.notOk(seen.some((s) => s.startsWith('late')), 'nothing added later')

  const oldest = await a.inject({ method: 'GET', url: '/v1/articles?sort=publishedAt&limit=2' })
  t.same(oldest.json().data.map((x: { slug: string }) => x.slug), ['story-0', 'story-1'])
})

t.test('editors page through drafts (no publishedAt) and published articles together', async (t) => {
  const a = await build(t)
  for (let i = 0; i < 5; i++) {
    a.clock.advance(1000)
    await createArticle(a, { title: `Draft ${i}` })
    await createArticle(a, { title: `Live ${i}`, status: 'published' })
  }
  for (const sort of ['-publishedAt', 'publishedAt', '-updatedAt']) {
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res = await a.as('editor', { method: 'GET', url: `/v1/articles?limit=3&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}` })
      seen.push(...res.json().data.map((x: { slug: string }) => x.slug))
      cursor = res.json().page.nextCursor
    } while (cursor)
    t.equal(new Set(seen).size, 10, `${sort}: all ten exactly once`)
  }
})

t.test('cursors are bound to their query', async (t) => {
  const a = await build(t)
  for (let i = 0; i < 3; i++) await createArticle(a, { title: `S ${i}`, status: 'published', section: 'World' })
  const first = await a.inject({ method: 'GET', url: '/v1/articles?limit=1&section=World' })
  const cursor = first.json().page.nextCursor as string
  t.equal((await a.inject({ method: 'GET', url: `/v1/articles?limit=2&section=World&cursor=${cursor}` })).statusCode, 200, 'limit may change')
  const other = await a.inject({ method: 'GET', url: `/v1/articles?limit=1&section=Sport&cursor=${cursor}` })
  t.match(assertProblem(t, other, 422, 'validation').errors, [{ in: 'query', pointer: '/cursor' }])
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?cursor=garbage' }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles?cursor=${Buffer.from('[1,2]').toString('base64url')}` }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles?cursor=${Buffer.from('{"a":1}').toString('base64url')}` }), 422, 'validation')
})

t.test('filters: tag (all must match), section, author, dates', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Tokyo talks', status: 'published', tags: ['Japan', 'Diplomacy'], section: 'World', authors: ['Ken Sato'], publishedAt: '2026-07-01T00:00:00.000Z' })
  await createArticle(a, { title: 'Osaka expo', status: 'published', tags: ['Japan'], section: 'Culture', authors: ['Ken Sato', 'Mia Lee'], publishedAt: '2026-07-03T00:00:00.000Z' })
  await createArticle(a, { title: 'Paris summit', status: 'published', tags: ['Diplomacy'], section: 'World', authors: ['Mia Lee'], publishedAt: '2026-07-05T00:00:00.000Z' })
  const slugs = async (query: string) => (await a.inject({ method: 'GET', url: `/v1/articles?${query}` })).json().data.map((x: { slug: string }) => x.slug)
  t.same(await slugs('tag=japan'), ['osaka-expo', 'tokyo-talks'])
  t.same(await slugs('tag=japan&tag=diplomacy'), ['tokyo-talks'])
  t.same(await slugs('tag=nothing'), [])
  t.same(await slugs('section=World'), ['paris-summit', 'tokyo-talks'])
  t.same(await slugs('author=Mia%20Lee'), ['paris-summit', 'osaka-expo'])
  t.same(await slugs('publishedAfter=2026-07-02T00:00:00.000Z'), ['paris-summit', 'osaka-expo'])
  t.same(await slugs('publishedBefore=2026-07-04T00:00:00.000Z&publishedAfter=2026-07-02T00:00:00.000Z'), ['osaka-expo'])
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?tag=Not%20A%20Slug' }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?sort=title' }), 422, 'validation')
})
