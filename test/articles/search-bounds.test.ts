// What bounds a search's cost before it runs (src/articles/search-index.ts) and a list's total
// (src/articles/listing/): prefixes expanded into whole words, phrases of very common words and prefixes of
// very many words refused with a 422 on `q`, `include=total` beyond what may be counted refused on `include`.
// The word counts the planner prices a search with (search_terms) are what a large archive would have, set
// here directly: a million articles do not fit in a test.
import t from 'tap'
import { TOTAL_LIMIT } from '../../src/articles/listing/index.js'
import { PHRASE_LIMIT, PREFIX_WORDS, RANK_LIMIT } from '../../src/articles/search-index.js'
import { assertProblem, build, createArticle, type TestApp, onSqlite } from '../helper.js'

const slugs = async (a: TestApp, query: string) => {
  const res = await a.inject({ method: 'GET', url: `/v1/articles?limit=100&${query}` })
  t.equal(res.statusCode, 200, `${query}: ${res.body.slice(0, 300)}`)
  return (res.json().data as { slug: string }[]).map((x) => x.slug).sort()
}
/** Pretends the archive holds `docs` more articles with each of these tokens (prefix: every token starting so). */
const inflate = (a: TestApp, pattern: string, docs: number) =>
  a.app.db.$client.prepare('UPDATE search_terms SET docs = docs + ? WHERE term GLOB ?').run(docs, pattern)

t.test('prefixes: expanded into whole words when they are in many articles, the same answer either way', onSqlite, async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'The minister resigns', status: 'published' })
  await createArticle(a, { title: 'A new ministry', status: 'published' })
  await createArticle(a, { title: 'Miniature railways', status: 'published' })
  await createArticle(a, { title: 'Mining towns', body: 'The minister visited.', status: 'published' })
  await createArticle(a, { title: 'Unrelated', status: 'published' })
  const expected = {
    // Prefixes go through the index's stemmer like words: `minis` is "mini", so it means what mini* means.
    'minis*': ['a-new-ministry', 'miniature-railways', 'mining-towns', 'the-minister-resigns'],
    'minist*': ['a-new-ministry', 'mining-towns', 'the-minister-resigns'],
    'mini*': ['a-new-ministry', 'miniature-railways', 'mining-towns', 'the-minister-resigns'],
    '"the minist"*': ['mining-towns', 'the-minister-resigns']
  }
  for (const [q, want] of Object.entries(expected)) t.same(await slugs(a, `q=${encodeURIComponent(q)}&sort=-publishedAt`), want, `${q}, merged by FTS5`)
  // (Sorted by date: so many matches are too many to rank by relevance.)
  inflate(a, 'min*', 30_000)
  for (const [q, want] of Object.entries(expected)) t.same(await slugs(a, `q=${encodeURIComponent(q)}&sort=-publishedAt`), want, `${q}, expanded into words`)
  const item = (await a.inject({ method: 'GET', url: '/v1/articles?q=minist*&sort=-publishedAt' })).json().data.find((x: { slug: string }) => x.slug === 'mining-towns')
  t.match(item.snippet, /<mark>minister<\/mark>/, 'the expanded word is marked in the snippet')
})

t.test('a prefix of very many words in many articles is refused; a rare one is merged', onSqlite, async (t) => {
  const a = await build(t)
  const words = Array.from({ length: PREFIX_WORDS + 1 }, (_, i) => `zq${String(i).padStart(3, '0')}x`)
  await createArticle(a, { title: 'Word list', body: words.join(' '), status: 'published' })
  t.same(await slugs(a, 'q=zq*'), ['word-list'], 'few articles: FTS5 merges them')
  inflate(a, 'zq*', 1000)
  const body = assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?q=zq*' }), 422, 'validation')
  t.match(body.errors, [{ in: 'query', pointer: '/q', message: /more than 64 different words.*type more/ }])
  t.same(await slugs(a, 'q=zq00*'), ['word-list'], 'a longer prefix means fewer words')
})

t.test('a phrase of very common words is refused; with a rarer word, or without quotes, it runs', onSqlite, async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Harbour council meets', body: 'The harbour council met in Zanzibar.', status: 'published' })
  await createArticle(a, { title: 'Council of the harbour', status: 'published' })
  t.same(await slugs(a, `q=${encodeURIComponent('"harbour council"')}`), ['harbour-council-meets'])
  inflate(a, 'harbour', PHRASE_LIMIT)
  inflate(a, 'council', PHRASE_LIMIT)
  const body = assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles?q=${encodeURIComponent('"harbour council"')}` }), 422, 'validation')
  t.match(body.errors, [{ in: 'query', pointer: '/q', message: /phrase "harbour council".*less common word/ }])
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles?q=${encodeURIComponent('"harbour coun"*')}` }), 422, 'validation')
  t.same(await slugs(a, 'q=harbour%20council&sort=-publishedAt'), ['council-of-the-harbour', 'harbour-council-meets'], 'the words without quotes')
  t.same(await slugs(a, `q=${encodeURIComponent('"council met in zanzibar"')}`), ['harbour-council-meets'], 'a phrase with a rare word')
  // Relevance would rank every match. One word's count is exact (search_terms): too many is refused at once.
  inflate(a, 'zanzibar', 60_000)
  const tooMany = assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?q=zanzibar' }), 422, 'validation')
  t.match(tooMany.errors, [{ in: 'query', pointer: '/q', message: new RegExp(`more than ${RANK_LIMIT.toLocaleString('en')} articles.*sort=-publishedAt`) }])
  t.same(await slugs(a, 'q=zanzibar&sort=-publishedAt'), ['harbour-council-meets'], 'the same search by date runs')
  // Several words: the counts only bound the matches from above, so the matches themselves are counted.
  inflate(a, 'met', 60_000)
  t.same(await slugs(a, 'q=zanzibar%20met'), ['harbour-council-meets'], 'counted, not guessed')
})

t.test('tag names are searched through the tags they name; a match on a name alone marks it in the snippet', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Ships at dawn', status: 'published', tags: ['Pacific Fleet', 'Navy'] })
  await createArticle(a, { title: 'Navy day', status: 'published' })
  const res = await a.inject({ method: 'GET', url: '/v1/articles?q=fleet' })
  t.same(res.json().data.map((x: { slug: string }) => x.slug), ['ships-at-dawn'])
  t.equal(res.json().data[0].snippet, '<mark>Pacific Fleet</mark> Navy')
  t.same(await slugs(a, 'q=navy'), ['navy-day', 'ships-at-dawn'], 'a word in a title or a tag name')
  t.same(await slugs(a, `q=${encodeURIComponent('"pacific fl"*')}`), ['ships-at-dawn'], 'a phrase prefix of a tag name')
  t.same(await slugs(a, 'q=navy%20dawn'), ['ships-at-dawn'], 'each word may match in the text or a tag')
})

t.test('include=total: stored counts for one filter, a count up to TOTAL_LIMIT for the rest', onSqlite, async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Tagged', status: 'published', section: 'World', authors: ['Anna'], tags: ['Harbour', 'Ferry'] })
  const sqlite = a.app.db.$client
  sqlite.transaction(() => {
    const insert = sqlite.prepare(`INSERT INTO articles (slug, title, body, status, published_at, section, created_at, updated_at)
      VALUES (?, 'x', '', 'published', ?, 'World', 0, 0)`)
    for (let i = 0; i < TOTAL_LIMIT + 1; i++) insert.run(`bulk-${i}`, Date.parse('2025-01-01T00:00:00.000Z') + i)
  })()
  const total = async (query: string) => {
    const res = await a.inject({ method: 'GET', url: `/v1/articles?limit=1&include=total&${query}` })
    return res.statusCode === 200 ? res.json().page.total : res
  }
  t.equal(await total(''), TOTAL_LIMIT + 2, 'all articles: stored')
  t.equal(await total('section=World'), TOTAL_LIMIT + 2, 'a section: stored')
  t.equal(await total('tag=harbour'), 1)
  t.equal(await total('author=Anna'), 1)
  t.equal(await total('tag=harbour&tag=ferry'), 1, 'two tags: counted')
  t.equal(await total('section=World&publishedBefore=2025-01-01T00:00:00.100Z'), 101, 'a section and a date: counted')
  const refused = assertProblem(t, await total('publishedAfter=2024-01-01T00:00:00.000Z'), 422, 'validation')
  t.match(refused.errors, [{ in: 'query', pointer: '/include', message: /at most 20,000 articles/ }])
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles?limit=1&publishedAfter=2024-01-01T00:00:00.000Z' })).statusCode, 200, 'the same list without the total')
})

t.test('include=total is refused before counting when the count would go through too many articles', onSqlite, async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Harbour ferry', status: 'published', tags: ['Harbour', 'Ferry'], authors: ['Anna'] })
  const sqlite = a.app.db.$client
  // Pretend the tag, the author and the word are on more articles than a count may go through.
  sqlite.prepare("UPDATE tags SET article_count = article_count + ? WHERE slug IN ('harbour', 'ferry')").run(TOTAL_LIMIT)
  sqlite.prepare("UPDATE article_counts SET total = total + ? WHERE kind = 'author' AND key = 'Anna'").run(TOTAL_LIMIT)
  inflate(a, 'ferri', TOTAL_LIMIT)
  const statements = sqlite.prepare('SELECT total_changes()').pluck()
  for (const query of ['tag=harbour&tag=ferry', 'tag=harbour&publishedAfter=2020-01-01T00:00:00.000Z', 'author=Anna&section=World', 'q=ferry&sort=-publishedAt']) {
    const before = statements.get()
    const refused = assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles?limit=1&include=total&${query}` }), 422, 'validation')
    t.match(refused.errors, [{ in: 'query', pointer: '/include', message: /at most 20,000 articles/ }], query)
    t.equal(statements.get(), before, `${query}: nothing written`)
    t.equal((await a.inject({ method: 'GET', url: `/v1/articles?limit=1&${query}` })).statusCode, 200, `${query}: the same list without the total`)
  }
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles?limit=1&include=total&tag=harbour' })).json().page.total, 1, 'one tag alone: its stored count')
})

t.test('a search sorted by date gives the same pages whether its matches drive or the date index does', onSqlite, async (t) => {
  const a = await build(t)
  for (let i = 0; i < 23; i++) {
    await createArticle(a, {
      title: `Lighthouse ${i}`,
      status: i % 5 === 4 ? 'draft' : 'published',
      publishedAt: i % 5 === 4 ? undefined : new Date(Date.parse('2026-01-01T00:00:00.000Z') + (i % 7) * 86_400_000).toISOString(),
      tags: i % 2 === 0 ? ['Coast'] : []
    })
    a.clock.advance((i % 3) * 1000)
  }
  const walk = async (query: string): Promise<string[]> => {
    const seen: string[] = []
    let url: string | undefined = `/v1/articles?limit=4&${query}`
    while (url !== undefined) {
      const res = await a.inject({ method: 'GET', url })
      t.equal(res.statusCode, 200, `${query}: ${res.body.slice(0, 200)}`)
      const body = res.json() as { data: { slug: string }[], page: { nextCursor: string | null } }
      seen.push(...body.data.map((x) => x.slug))
      url = body.page.nextCursor === null ? undefined : `/v1/articles?limit=4&${query}&cursor=${body.page.nextCursor}`
    }
    return seen
  }
  const queries = ['-publishedAt', 'publishedAt', '-updatedAt'].flatMap((sort) => [`q=lighthouse&sort=${sort}`, `q=lighthouse&tag=coast&sort=${sort}`])
  const driven = await Promise.all(queries.map(walk))
  t.equal(driven[0]!.length, 19, 'every visible match, once')
  inflate(a, 'lighthous', RANK_LIMIT)
  for (const [i, query] of queries.entries()) t.same(await walk(query), driven[i], `${query}: the same pages`)
})
