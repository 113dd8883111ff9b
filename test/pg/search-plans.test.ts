// Each process keeps the plans of ranked searches (src/articles/listing/index.pg.ts) at the version of search
// plans they were made at (migrations/pg/0013), and a ranked page's statement reads the version: every change
// a plan is made of (a tag a word names, a word's count) must reach the next search at once, whichever
// process made it. Here another app on the same database makes each change, through the API or in SQL, and
// the first app searches after it, with its response cache off. Before each change the first app's plan is
// shown to be kept (its search reads no terms), so each check sees that change's trigger alone move the
// version. The last test drops two triggers and shows the searches then go stale.
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import { assertProblem, build, createArticle, type TestApp } from '../helper.js'
import { statementsSent } from './sent.js'
import { RANK_LIMIT } from '../../src/articles/search-index.js'

const config = { responseCacheMb: 0, searchRateLimit: 1_000_000 }

/** The slugs a ranked search finds on `a`, sorted (the order of equal ranks is not what this is about). */
async function hits (t: Test, a: TestApp, q: string): Promise<string[]> {
  const res = await a.inject({ method: 'GET', url: `/v1/articles?q=${encodeURIComponent(q)}&limit=50` })
  t.equal(res.statusCode, 200, `${q}: ${res.body.slice(0, 200)}`)
  return (res.json().data as { slug: string }[]).map((x) => x.slug).sort()
}

/** How many of the statements sent are the terms' statement (src/articles/search-index.pg.ts). */
const termsIn = (sent: { text: string }[]): number => sent.filter((s) => /jsonb_array_elements\(/.test(s.text)).length

/** How many times a search on `a` read its terms. */
async function termsRead (a: TestApp, q: string): Promise<number> {
  const { sent } = await statementsSent(async () => await a.inject({ method: 'GET', url: `/v1/articles?q=${q}&limit=50` }))
  return termsIn(sent)
}

/** The plan of a ranked search of `q` is kept on `a` (made now if it was not): its next search reads no terms. */
async function keptFor (t: Test, a: TestApp, q: string): Promise<void> {
  await hits(t, a, q)
  t.equal(await termsRead(a, q), 0, `${q}: the plan is kept`)
}

/** Two apps on one database, and articles whose words and tags the searches below find. */
async function twoProcesses (t: Test): Promise<{ a: TestApp, b: TestApp }> {
  const a = await build(t, config, { engine: 'postgres' })
  const b = await build(t, { ...config, postgres: { url: a.pg!.url, poolSize: 4 } }, { engine: 'postgres' })
  await createArticle(b, { title: 'Marsupial survey', body: 'Counting in the bush.', status: 'published', tags: ['Marsupials'] })
  await createArticle(b, { title: 'Wombat burrows', body: 'Deep burrows.', status: 'published' })
  return { a, b }
}

t.test('a ranked search keeps its plan, and makes it again after any change it is made of, by any process', async (t) => {
  const { a, b } = await twoProcesses(t)

  t.equal(await termsRead(a, 'wombat'), 1, 'the first search reads its terms')
  t.equal(await termsRead(a, 'wombat'), 0, 'the next one uses the plan kept')
  t.equal(await termsRead(a, 'wombat&sort=-publishedAt'), 1, 'a search by date reads them every time')
  t.same(await hits(t, a, 'wombat'), ['wombat-burrows'])
  t.same(await hits(t, a, 'quoll'), [], 'nothing has the word: a page of no rows')

  // A tag renamed: its articles match the word through the tag. The page had rows, which read the version.
  await keptFor(t, a, 'wombat')
  t.equal((await b.as('editor', { method: 'PATCH', url: '/v1/tags/marsupials', payload: { name: 'Wombats' } })).statusCode, 200)
  t.same(await hits(t, a, 'wombat'), ['marsupial-survey', 'wombat-burrows'], 'a tag renamed by the other process')
  // And again: a page of no rows reads the version in a statement of its own.
  await keptFor(t, a, 'quoll')
  t.equal((await b.as('editor', { method: 'PATCH', url: '/v1/tags/marsupials', payload: { name: 'Quolls' } })).statusCode, 200)
  t.same(await hits(t, a, 'quoll'), ['marsupial-survey'], 'renamed again: found from a page that had no rows')
  t.same(await hits(t, a, 'wombat'), ['wombat-burrows'], 'and no longer by the old name')

  // A new tag on an article: the tag's row is new, the article's words unchanged (search_terms untouched).
  await keptFor(t, a, 'numbat')
  t.equal((await b.as('editor', { method: 'PATCH', url: '/v1/articles/wombat-burrows', payload: { tags: ['Numbats'] } })).statusCode, 200)
  t.same(await hits(t, a, 'numbat'), ['wombat-burrows'], 'a new tag')

  // A tag deleted: its articles keep its `#id` in their documents, and no search names it again.
  await keptFor(t, a, 'quoll')
  t.equal((await b.as('editor', { method: 'DELETE', url: '/v1/tags/marsupials' })).statusCode, 204)
  t.same(await hits(t, a, 'quoll'), [], 'a tag deleted')

  // In SQL, behind both apps' backs: a word's count, which prices a search. A ranked search of a word in
  // more than RANK_LIMIT articles is refused; then the count goes back, and the search is answered again.
  await keptFor(t, a, 'burrows')
  await a.pg!.db.execute(sql`UPDATE search_terms SET docs = docs + 1000000 WHERE term = 'burrow'`)
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?q=burrows&limit=50' }), 422, 'validation')
  await a.pg!.db.execute(sql`UPDATE search_terms SET docs = docs - 1000000 WHERE term = 'burrow'`)
  t.same(await hits(t, a, 'burrows'), ['wombat-burrows'], 'the count back')

  // In SQL too: a tag's article count, which the words that name it add to their count.
  await keptFor(t, a, 'numbat')
  await a.pg!.db.execute(sql`UPDATE tags SET article_count = article_count + 1000000 WHERE slug = 'numbats'`)
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?q=numbat&limit=50' }), 422, 'validation')
  await a.pg!.db.execute(sql`UPDATE tags SET article_count = article_count - 1000000 WHERE slug = 'numbats'`)
  // And a tag added in SQL, named by a word whose plan is kept, said to be on a million articles.
  await keptFor(t, a, 'dingo')
  await a.pg!.db.execute(sql`INSERT INTO tags (slug, name, created_at, updated_at, article_count) VALUES ('dingoes', 'Dingoes', 0, 0, 1000000)`)
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?q=dingo&limit=50' }), 422, 'validation')
})

t.test('a search refused is refused on a plan made for it, every time: a plan that refuses is not kept', async (t) => {
  const { a } = await twoProcesses(t)
  await a.pg!.db.execute(sql`UPDATE search_terms SET docs = docs + 1000000 WHERE term = 'burrow'`)
  const refused = async () => await statementsSent(async () => {
    assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?q=burrows&limit=50' }), 422, 'validation')
  })
  t.equal(termsIn((await refused()).sent), 1, 'the first search made its plan')
  t.equal(termsIn((await refused()).sent), 1, 'the next one made it again')
})

t.test('a kept plan that now matches too many is forgotten: the search is refused at the cost of one count', async (t) => {
  const { a } = await twoProcesses(t)
  await createArticle(a, { title: 'Zanzibar quay', body: 'Met at dawn.', status: 'published' })
  // Two words each said to be in more than RANK_LIMIT articles: their counts only bound the matches from
  // above, so each search counts its matches (up to RANK_LIMIT + 1 rows), and a plan that finds few is kept.
  await a.pg!.db.execute(sql`UPDATE search_terms SET docs = docs + ${RANK_LIMIT * 3} WHERE term IN ('zanzibar', 'quay')`)
  const counts = (sent: { text: string }[]): number => sent.filter((s) => /count\(\*\) AS n FROM \(SELECT 1 FROM articles WHERE search @@/.test(s.text)).length
  t.same(await hits(t, a, 'zanzibar quay'), ['zanzibar-quay'])
  t.equal(await termsRead(a, 'zanzibar%20quay'), 0, 'the plan is kept')
  // Then the site grows: more than RANK_LIMIT articles have both words. (Behind the counts' triggers, which
  // would update the same rows 20,000 times over in one statement, for 40 s: the words' counts are already
  // above RANK_LIMIT, and the searches below count the articles themselves.)
  await a.pg!.db.transaction(async (tx) => {
    await tx.execute(sql`ALTER TABLE articles DISABLE TRIGGER search_terms_ai, DISABLE TRIGGER article_counts_ai`)
    await tx.execute(sql`INSERT INTO articles (slug, title, body, body_html, status, published_at, created_at, updated_at, authors)
      SELECT 'quay-' || n, 'Zanzibar quay ' || n, 'Nothing here', '<p>Nothing here</p>', 'published', n, n, n, '[]' FROM generate_series(1, ${RANK_LIMIT}) AS n`)
    await tx.execute(sql`ALTER TABLE articles ENABLE TRIGGER search_terms_ai, ENABLE TRIGGER article_counts_ai`)
  })
  const refused = async () => await statementsSent(async () => {
    assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?q=zanzibar%20quay&limit=50' }), 422, 'validation')
  })
  t.equal(counts((await refused()).sent), 2, 'the kept plan counted, then a plan made now, which refuses')
  const again = (await refused()).sent
  t.equal(termsIn(again), 1, 'the next search makes its plan: none is kept')
  t.equal(counts(again), 1, 'and counts once')
  const byDate = await a.inject({ method: 'GET', url: '/v1/articles?q=zanzibar%20quay&sort=-publishedAt&limit=50' })
  t.equal(byDate.json().data.length, 50, 'by date the same search runs')
})

t.test('without the triggers that move the version, the searches go stale', async (t) => {
  const { a, b } = await twoProcesses(t)
  await a.pg!.db.execute(sql`DROP TRIGGER search_plans_tag_changed ON tags`)
  t.same(await hits(t, a, 'wombat'), ['wombat-burrows'])
  t.equal((await b.as('editor', { method: 'PATCH', url: '/v1/tags/marsupials', payload: { name: 'Wombats' } })).statusCode, 200)
  t.same(await hits(t, a, 'wombat'), ['wombat-burrows'], 'the rename is not seen by the plan kept')
  t.same(await hits(t, b, 'wombat'), ['marsupial-survey', 'wombat-burrows'], 'where a process that kept none sees it')

  await a.pg!.db.execute(sql`DROP TRIGGER search_plans_terms ON search_terms`)
  t.same(await hits(t, a, 'burrows'), ['wombat-burrows'])
  await a.pg!.db.execute(sql`UPDATE search_terms SET docs = docs + 1000000 WHERE term = 'burrow'`)
  t.same(await hits(t, a, 'burrows'), ['wombat-burrows'], 'a count moved is not seen by the plan kept')
})
