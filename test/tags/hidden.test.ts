// Issue 13 item 3: a tag that only drafts or scheduled articles carry leaks an embargoed topic ("Acme
// Merger") unless the public is kept from it everywhere a tag shows: the list (both sorts, its total), the
// name prefix search, and GET by slug. The public sees a tag once it has a visible article, or when an
// editor made it on purpose through POST /v1/tags; editors see every tag.
import t from 'tap'
import { assertProblem, build, createArticle, type TestApp } from '../helper.js'

const publicSlugs = async (a: TestApp, query: string): Promise<string[]> =>
  (await a.inject({ method: 'GET', url: `/v1/tags?limit=100&${query}` })).json().data.map((x: { slug: string }) => x.slug)

t.test('tags of drafts and scheduled articles are invisible to the public, made ones are not', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Secret deal', tags: ['Acme Merger', 'Business'] })
  await createArticle(a, { title: 'Embargoed', status: 'published', publishedAt: '2026-07-08T12:00:00.000Z', tags: ['Acme Results'] })
  await createArticle(a, { title: 'Old news', status: 'archived', publishedAt: '2026-01-01T00:00:00.000Z', tags: ['Acme Archive'] })
  await createArticle(a, { title: 'Market report', status: 'published', tags: ['Business'] })
  t.equal((await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Acme Watch' } })).statusCode, 201)

  for (const query of ['', 'sort=-articleCount', 'q=acme', 'q=ACME', 'sort=-articleCount&q=ac']) {
    const slugs = await publicSlugs(a, query)
    t.notOk(slugs.some((s) => ['acme-merger', 'acme-results', 'acme-archive'].includes(s)), `public ?${query}: no tag of a hidden article`)
  }
  t.same(await publicSlugs(a, ''), ['acme-watch', 'business'], 'a tag made on purpose is public, with no article yet')
  t.same(await publicSlugs(a, 'q=acme'), ['acme-watch'])
  const total = await a.inject({ method: 'GET', url: '/v1/tags?include=total&limit=1' })
  t.equal(total.json().page.total, 2, 'the total counts what the public sees')
  for (const slug of ['acme-merger', 'acme-results', 'acme-archive']) {
    assertProblem(t, await a.inject({ method: 'GET', url: `/v1/tags/${slug}` }), 404, 'not-found')
    assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/tags/${slug}` }), 404, 'not-found')
    t.equal((await a.as('editor', { method: 'GET', url: `/v1/tags/${slug}` })).json().articleCount, 1, `an editor sees ${slug}`)
  }
  t.same((await a.inject({ method: 'GET', url: '/v1/tags/acme-watch' })).json().articleCount, 0)

  const editor = await a.as('editor', { method: 'GET', url: '/v1/tags?limit=100&include=total' })
  t.same(editor.json().data.map((x: { slug: string }) => x.slug), ['acme-archive', 'acme-merger', 'acme-results', 'acme-watch', 'business'])
  t.equal(editor.json().page.total, 5)

  // No write happens when the scheduled article falls due: the tag appears with it.
  a.clock.advance(3 * 3600_000)
  t.same(await publicSlugs(a, 'q=acme'), ['acme-results', 'acme-watch'], 'due now')
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags/acme-results' })).json().articleCount, 1)
  // Business is on the draft and on the market report: unpublishing the report leaves it on drafts only.
  t.equal((await a.as('editor', { method: 'PATCH', url: '/v1/articles/market-report', payload: { status: 'draft' } })).statusCode, 200)
  t.notOk((await publicSlugs(a, '')).includes('business'), 'a tag whose last visible article is unpublished leaves the public list')
  t.equal((await a.as('editor', { method: 'PATCH', url: '/v1/articles/secret-deal', payload: { status: 'published' } })).statusCode, 200)
  t.same(await publicSlugs(a, ''), ['acme-merger', 'acme-results', 'acme-watch', 'business'], 'published: its tags are public')
})
