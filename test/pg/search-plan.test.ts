// A search on PostgreSQL reads the few entries of its words in articles_search_idx, however the articles
// were written (migrations/pg/0010). With GIN's fast update (PostgreSQL's default), the search documents
// of recent writes wait in the index's pending list, up to gin_pending_list_limit (4 MB), and every search
// scans all of it: on the bench's copy, 79 ms for a word in 85 articles, and the planner, counting those
// pages, chose a sequential scan of every article instead. The articles here are written one statement
// each, as the API writes them, and the search is the app's own statement, captured from the pool. The
// tags a search's statements read (the words' and the page's) are read by their keys, never the whole of
// tags or article_tags, on a site of 20,000 tags.
// Then the snippets: the body's excerpt is asked for only where it could win (src/articles/search-index.pg.ts,
// searchPageExtrasPg); the answers must be those of asking for all three, ranked or sorted by date, and the
// page's tags come in the same statement. And the planning: one statement for every term's lexemes, counts
// and the tags they name, the first refusal in the order of the terms. Last, the named statements' generic
// plans, which PostgreSQL may keep after five runs: they must keep to their indexes on a large site's
// vocabulary.
import t from 'tap'
import pg from 'pg'
import { sql } from 'drizzle-orm'
import { parseSearch } from '../../src/articles/search.js'
import { searchPlannerPg } from '../../src/articles/search-index.pg.js'
import { PHRASE_LIMIT, TAG_MATCHES } from '../../src/articles/search-index.js'
import { build, createArticle } from '../helper.js'
import { analyzed, planNodes as nodes, rowsRead, statementsSent } from './sent.js'

interface PlanNode { 'Node Type': string, 'Subplan Name'?: string, 'Index Name'?: string, 'Index Cond'?: string, 'Relation Name'?: string, Output?: string[], 'Shared Hit Blocks'?: number, 'Shared Read Blocks'?: number, Plans?: PlanNode[] }

/** Whether a statement sent is a ranked page's: its matches ranked, with their excerpts. */
const isRankedPage = (s: { text: string }): boolean => /\bts_rank\(/.test(s.text) && /ts_headline\(/.test(s.text)

/** How many tags each article of the first test has. */
const TAGS_EACH = 10

/** The plan PostgreSQL makes for a statement without its values (what it may keep for a named one). */
async function genericPlan (pool: pg.Pool, statement: { text: string }): Promise<PlanNode> {
  const { rows: [explained] } = await pool.query(`EXPLAIN (GENERIC_PLAN, FORMAT JSON) ${statement.text}`)
  return (explained as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan
}

t.test('a search reads its words\' entries of the index, not a pending list or every article', async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine: 'postgres' })
  const db = a.pg!.db
  // 600 articles of some 300 words each, one INSERT each (the triggers index each as it comes); the rare
  // word in three of them.
  const words = Array.from({ length: 300 }, (_, i) => `word${i % 97}x${i % 13}`).join(' ')
  for (let i = 0; i < 600; i++) {
    const rare = i % 200 === 7 ? ' zanzibarite' : ''
    await db.execute(sql`INSERT INTO articles (slug, title, body, body_html, status, published_at, created_at, updated_at, authors)
      VALUES (${`a-${i}`}, ${`Article ${i}`}, ${words + rare}, ${`<p>${words}${rare}</p>`}, 'published', ${1_000_000 + i}, ${1_000_000 + i}, ${1_000_000 + i}, '[]')`)
  }
  // And a large site's tags: 20,000 of them, ten on every article (6,000 rows of article_tags), spread over
  // every tag's id as a site's are (a merge join over tags' key then walks them all), so that a statement
  // reading article_tags or tags whole reads tens of times a page's own rows.
  await db.execute(sql`INSERT INTO tags (slug, name, created_at, updated_at) SELECT 'topic-' || n, 'Topic ' || n, 0, 0 FROM generate_series(1, 20000) AS n`)
  await db.execute(sql`INSERT INTO article_tags (article_id, tag_id, position)
    SELECT a.id, t.id, k FROM articles a CROSS JOIN generate_series(0, ${TAGS_EACH - 1}) AS k JOIN tags t ON t.slug = 'topic-' || (a.id * 33 + k) % 20000 + 1`)
  await db.execute(sql`ANALYZE`)

  const { result: res, sent } = await statementsSent(async () => await a.inject({ method: 'GET', url: '/v1/articles?q=zanzibarite&limit=20' }))
  t.equal(res.statusCode, 200)
  t.equal(res.json().data.length, 3, 'the three articles that have the word')
  const ranked = sent.filter((s) => /\bts_rank\(/.test(s.text) && /\bfrom "articles"/i.test(s.text))
  t.equal(ranked.length, 1, 'one ranked statement on articles')

  const pool = new pg.Pool({ connectionString: a.pg!.url, max: 1 })
  t.teardown(() => pool.end())
  const { rows: [explained] } = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${ranked[0]!.text}`, ranked[0]!.values)
  const plan = (explained as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan
  const all = nodes(plan)
  t.ok(all.some((n) => n['Index Name'] === 'articles_search_idx'), `the full-text index drives it:\n${JSON.stringify(all.map((n) => [n['Node Type'], n['Index Name']]))}`)
  t.notOk(all.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'articles'), `no article is scanned in turn: ${JSON.stringify(all.map((n) => [n['Node Type'], n['Relation Name'] ?? n['Index Name']]))}`)
  const index = all.find((n) => n['Index Name'] === 'articles_search_idx')
  const pages = (index?.['Shared Hit Blocks'] ?? 0) + (index?.['Shared Read Blocks'] ?? 0)
  t.ok(index !== undefined && pages <= 10, `the index gives its entries in a few pages, no pending list (${pages} read)`)

  // ts_rank reads the whole document of every match: once, for the output column the page is ordered by.
  // Ordered by the same expression again (with its own placeholders), the scan computed it twice.
  const { rows: [verbose] } = await pool.query(`EXPLAIN (VERBOSE, FORMAT JSON) ${ranked[0]!.text}`, ranked[0]!.values)
  const scan = nodes((verbose as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan).find((n) => n['Relation Name'] === 'articles')
  t.equal(scan?.Output?.filter((o) => o.includes('ts_rank(')).length, 1, `each match ranked once: ${JSON.stringify(scan?.Output)}`)

  // The tags: those the words name (looked up in tags_search_idx; none here) and those of the page's
  // articles, each by its key. Every statement of a search that reads them, ranked and sorted by date, for
  // the rare word (3 hits) and for a word in every article (a page of 20, and the row past it), as sent and
  // with its values (the plans PostgreSQL makes for them), under EXPLAIN ANALYZE: a join answered by
  // hashing every tag, or the page's article_tags read without its articles' ids, reads thousands of rows
  // where the page has at most 210.
  for (const [q, own] of [['zanzibarite', 3], ['word5x5', 21]] as const) {
    const { result: byRank, sent: sentByRank } = await statementsSent(async () => await a.inject({ method: 'GET', url: `/v1/articles?q=${q}&limit=20` }))
    const { result: byDate, sent: sentByDate } = await statementsSent(async () => await a.inject({ method: 'GET', url: `/v1/articles?q=${q}&sort=-publishedAt&limit=20` }))
    for (const page of [byRank, byDate]) {
      t.equal(page.statusCode, 200, page.body.slice(0, 200))
      t.same(page.json().data.map((x: { tags: unknown[] }) => x.tags.length), Array(Math.min(own, 20)).fill(TAGS_EACH), `${q}: the hits' tags, all of them`)
    }
    // The statements that read them (src/articles/search-index.pg.ts): the terms' (tags), the ranked page's,
    // and the extras of a page by date (article_tags and tags). Writes (the upkeep's) left out. The ranked
    // page's plan is kept once made (src/articles/listing/index.pg.ts): zanzibarite's was, by the ranked
    // search above, so only its page by date reads its terms. A page by date reads them every time.
    const reads = [...sentByRank, ...sentByDate].filter((s) => /\b(article_tags|tags)\b/.test(s.text) && /^\s*(SELECT|WITH)\b/i.test(s.text) && !/\b(INSERT|UPDATE|DELETE)\b/i.test(s.text))
    // The page's statements read tag ids; the names of those this process has not met yet are looked up
    // by key (src/tags/tag-refs.pg.ts), once at most (not when an earlier page met them all), and not again
    // for the page by date, which shows the same tags.
    const which = (text: string) => /jsonb_array_elements\(/.test(text) ? 'the terms' : /\bts_rank\(/.test(text) ? 'the ranked page' : /ts_headline\(/.test(text) ? 'the extras by date' : /\bunnest\(\$1::int\[\]\) AS u\(id\)/.test(text) ? 'the names' : text.replace(/\s+/g, ' ').slice(0, 80)
    const kinds = reads.map((s) => which(s.text)).sort()
    t.same(kinds.filter((k) => k !== 'the names'), ['the extras by date', 'the ranked page', ...q === 'zanzibarite' ? ['the terms'] : ['the terms', 'the terms']], `${q}: the statements that read tags`)
    t.ok(kinds.filter((k) => k === 'the names').length <= 1, `${q}: names looked up once at most`)
    for (const statement of reads) {
      const plan = await analyzed(pool, statement)
      for (const relation of ['article_tags', 'tags']) {
        const read = rowsRead(plan, relation)
        t.ok(read <= own * TAGS_EACH, `${q}, ${which(statement.text)}: ${read} rows of ${relation} read, the page's own at most`)
      }
    }
  }

  // The ranked page reads the row past it (21 for a page of 20) to tell whether another page follows; its
  // excerpts and tags are for the 20 shown only. Where each ts_headline is computed is the lowest node that
  // outputs it (EXPLAIN deparses a parent's reference to it as the same call), once a row it gives.
  const { sent: sentRanked } = await statementsSent(async () => await a.inject({ method: 'GET', url: '/v1/articles?q=word5x5&limit=20' }))
  const rankedPage = sentRanked.find(isRankedPage)!
  const { rows: [withOutputs] } = await pool.query(`EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) ${rankedPage.text}`, rankedPage.values)
  type Analyzed = PlanNode & { 'Actual Rows': number, 'Actual Loops': number }
  const heads = (node: Analyzed, of: string): Analyzed[] => {
    const below = (node.Plans ?? []).flatMap((n) => heads(n as Analyzed, of))
    return below.length > 0 ? below : node.Output?.some((o) => o.includes('ts_headline(') && o.includes(`translate(${of},`)) === true ? [node] : []
  }
  // The title's and the summary's (the summary's made where it could be shown, at most once a shown row).
  for (const of of ['a.title', 'a.summary']) {
    const made = heads((withOutputs as { 'QUERY PLAN': [{ Plan: Analyzed }] })['QUERY PLAN'][0].Plan, of)
    t.ok(made.length > 0, `the excerpts of ${of} are made in the plan`)
    t.equal(made.reduce((n, node) => n + Math.round(node['Actual Rows'] * node['Actual Loops']), 0), 20,
      `excerpts of ${of} made for the 20 rows shown, not the row past them: ${JSON.stringify(made.map((n) => [n['Node Type'], n['Actual Rows'], n['Actual Loops']]))}`)
  }
  const tagged = rowsRead(await analyzed(pool, rankedPage), 'article_tags')
  t.equal(tagged, 20 * TAGS_EACH, 'and tags read for those 20')
})

t.test('snippets are those of the best of title, summary and body, as if all three were asked for', async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine: 'postgres' })
  const filler = 'words that say nothing much about anything at all here '.repeat(12)
  await createArticle(a, { title: 'Harbour in the title', body: `${filler} no mark here`, status: 'published' })
  await createArticle(a, { title: 'Plain title', summary: 'The harbour, in the summary', body: filler, status: 'published' })
  await createArticle(a, { title: 'Harbour once', body: `Harbour, harbour and harbour again: the harbour. ${filler}`, status: 'published' })
  await createArticle(a, { title: 'Harbour and harbour', summary: 'harbour harbour', body: `one harbour ${filler} harbour`, status: 'published' })
  await createArticle(a, { title: 'Ships', summary: 'Fleet news', body: `${filler} the fleet in the harbour, fleet and fleet`, status: 'published', tags: ['Docks'] })
  await createArticle(a, { title: 'Tagged only', body: filler, status: 'published', tags: ['Harbour Works', 'Other'] })
  await createArticle(a, { title: 'Fleet week', summary: 'The fleet <b>', body: `${filler} fleet fleet fleet harbour harbour <script>`, status: 'published' })
  await createArticle(a, { title: 'It\'s the harbourmaster', body: `${filler} harbourmasters and harbours`, status: 'published' })
  // The summary has one mark more than the title: its excerpt must be made, though the title has marks too.
  await createArticle(a, { title: 'Harbour views', summary: 'A harbour wall and a harbour light', body: filler, status: 'published' })
  // The search document has no word of `<harbour>` (PostgreSQL's parser reads an HTML tag), the excerpt
  // marks it: two marks against the title's one, though the document counts one.
  await createArticle(a, { title: 'Harbour tags', summary: 'The <harbour> and the harbour', body: filler, status: 'published' })

  const db = a.pg!.db
  const planner = searchPlannerPg(db)
  // Each search ranked (the excerpts' makings come in the ranked page's own statement) and sorted by date
  // (searchPageExtrasPg makes them in a statement of its own): two ways to the same snippets.
  const ways = [
    { sort: '', name: 'ranked', made: (text: string) => /\bts_rank\(/.test(text), bodies: 0 },
    { sort: '&sort=-publishedAt', name: 'by date', made: (text: string) => !/\bts_rank\(/.test(text) && /\barticle_tags\b/.test(text), bodies: 0 }
  ]
  for (const q of ['harbour', 'fleet', 'harbour fleet', 'harb*', '"harbour again"', 'docks', 'works', 'harbourmaster*']) {
    // The reference: all three excerpts of every hit, the one with the most marks (the first on a tie).
    const plan = await planner.plan(parseSearch(q))
    const options = 'StartSel="\u0002o\u0003", StopSel="\u0003c\u0002", MaxWords=32, MinWords=16, ShortWord=0, HighlightAll=false'
    const head = (column: string) => `ts_headline('gazette', translate(${column}, '<>', E'\\uE000\\uE001'), $1::tsquery, $2)`
    const { rows } = await db.execute<{ id: number, title: string | null, summary: string | null, body: string | null }>(
      sql.raw(`SELECT id, ${head('title')} AS title, ${head('summary')} AS summary, ${head('body')} AS body FROM articles WHERE search @@ $1::tsquery`.replaceAll('$1', `'${plan.fts.replace(/'/g, "''")}'`).replaceAll('$2', `'${options}'`)))
    const marks = (x: string | null) => x === null ? 0 : x.split('\u0002o\u0003').length - 1
    for (const way of ways) {
      const { result: res, sent } = await statementsSent(async () => await a.inject({ method: 'GET', url: `/v1/articles?q=${encodeURIComponent(q)}${way.sort}&limit=50` }))
      t.equal(res.statusCode, 200, `${q}, ${way.name}`)
      t.ok(sent.some((s) => /ts_headline\(/.test(s.text) && way.made(s.text)), `${q}, ${way.name}: the excerpts made by its own statement`)
      const got = res.json().data as { id: number, snippet: string }[]
      t.ok(got.length > 0, `${q}, ${way.name}: hits`)
      t.equal(got.length, rows.length, `${q}, ${way.name}: every hit`)
      for (const item of got) {
        const r = rows.find((x) => x.id === item.id)!
        const best = [r.title, r.summary, r.body].reduce((x, y) => marks(y) > marks(x) ? y : x)
        if (best === r.body && marks(r.body) > 0) way.bodies++
        if (marks(best) === 0) {
          t.match(item.snippet, /<mark>/, `${q}, ${way.name}, ${item.id}: a tag name marked`)
          continue
        }
        const expected = (best ?? '').replaceAll('\uE000', '<').replaceAll('\uE001', '>')
          .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
          .replaceAll('\u0002o\u0003', '<mark>').replaceAll('\u0003c\u0002', '</mark>')
        t.equal(item.snippet, expected, `${q}, ${way.name}, article ${item.id}`)
      }
    }
  }
  for (const way of ways) t.ok(way.bodies >= 3, `${way.name}: the body's excerpt won ${way.bodies} times (it must still be asked for then)`)

  // And the summary's excerpt is made only where it could win: run again, the ranked page's statement has
  // none where the summary holds no more of the words than the title's excerpt has marks, and has the others.
  const summaries = async (q: string): Promise<Map<string, boolean>> => {
    const { sent } = await statementsSent(async () => await a.inject({ method: 'GET', url: `/v1/articles?q=${encodeURIComponent(q)}&limit=50` }))
    const ranked = sent.find(isRankedPage)!
    const { rows } = await db.$client.query<{ title: string, summaryExcerpt: string | null }>({ text: ranked.text, values: ranked.values })
    return new Map(rows.map((r) => [r.title, r.summaryExcerpt !== null]))
  }
  const byWord = await summaries('harbour')
  t.equal(byWord.get('Harbour views'), true, 'two in the summary, one mark in the title: the summary\'s excerpt is made')
  t.equal(byWord.get('Plain title'), true, 'one in the summary, none in the title: made')
  t.equal(byWord.get('Harbour and harbour'), false, 'two in each: not made (the title\'s is shown on a tie)')
  t.equal(byWord.get('Harbour in the title'), false, 'no summary: none')
  t.equal(byWord.get('Harbour tags'), true, 'a summary with a `<`: made (the document may lack words the excerpt marks)')
  t.equal((await summaries('harb*')).get('Harbour and harbour'), true, 'a prefix\'s words are not known: made')
})

t.test('a search is planned in one statement whatever its number of terms, and refused for its first term at fault', async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine: 'postgres' })
  await createArticle(a, { title: 'Harbour works begin', summary: 'The quay and the harbour', body: 'Cranes at the harbour.', status: 'published', tags: ['Harbour Works'] })
  await createArticle(a, { title: 'Quay closed', body: 'The quay is closed for works.', status: 'published', tags: ['Quays'] })
  const { result: res, sent } = await statementsSent(async () => await a.inject({ method: 'GET', url: `/v1/articles?q=${encodeURIComponent('harbour quay "harbour works" works')}` }))
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json().data.map((x: { title: string }) => x.title), ['Harbour works begin'])
  const planned = sent.filter((s) => /jsonb_array_elements\(/.test(s.text))
  t.equal(planned.length, 1, 'the lexemes of the four terms, and their counts, in one statement')
  t.match(planned[0]?.text, /\bFROM tags\b/, 'with the tags the four terms name')
  // Looked for by their names' words, as tags_search_idx has them (the ranked page reads its own tags by key).
  t.equal(sent.filter((s) => /\bto_tsvector\('gazette'::regconfig, name\)/.test(s.text)).length, 1, 'and no other statement looks for tags')
  t.equal(sent.filter((s) => /\bFROM search_terms\b/.test(s.text) && !/to_tsvector/.test(s.text)).length, 0, 'no statement of its own for a word\'s count')
  // The terms go as JSON, where a lone UTF-16 surrogate is an escape jsonb refuses: it is a U+FFFD, as in text.
  const planner = searchPlannerPg(a.pg!.db)
  t.same(await planner.plan([{ ...parseSearch('harbour')[0]!, text: 'harbour\uD800' }]), await planner.plan(parseSearch('harbour \uFFFD')), 'a lone surrogate is a replacement character')

  // The first refusal in the order of the terms. Made cheaply, behind the API's back: 501 tags named
  // "Tag …" (the word "tag" names more than TAG_MATCHES), and counts that make "harbour" and "quay" each in
  // more than PHRASE_LIMIT articles (the phrase of the two is refused).
  await a.pg!.db.execute(sql`INSERT INTO tags (slug, name, created_at, updated_at)
    SELECT 'tag-' || n, 'Tag ' || n, 0, 0 FROM generate_series(1, ${TAG_MATCHES + 1}) AS n`)
  await a.pg!.db.execute(sql`UPDATE search_terms SET docs = ${PHRASE_LIMIT + 1} WHERE term IN ('harbour', 'quay')`)
  const refusal = async (q: string): Promise<string> => {
    const res = await a.inject({ method: 'GET', url: `/v1/articles?q=${encodeURIComponent(q)}` })
    t.equal(res.statusCode, 422, res.body)
    return JSON.stringify(res.json().errors)
  }
  t.match(await refusal('tag "harbour quay"'), /\\"tag\\" names more than/, 'the first term\'s tags')
  t.match(await refusal('"harbour quay" tag'), /the phrase \\"harbour quay\\"/, 'the first term\'s phrase')
  t.match(await refusal('works "harbour quay" tag'), /the phrase \\"harbour quay\\"/, 'after a term that is not refused')
})

t.test('a search page\'s tags come with its snippets, as the article has them', async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine: 'postgres' })
  await createArticle(a, { title: 'Lighthouse keepers', body: 'The lighthouse.', status: 'published', tags: ['Zeta', 'Coast', 'Hidden', 'Alpha', 'Gone'] })
  await createArticle(a, { title: 'Lighthouse restored', body: 'The lighthouse again.', status: 'published', tags: ['Coast'] })
  await createArticle(a, { title: 'Lighthouse for sale', body: 'A lighthouse, untagged.', status: 'published' })
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/tags/gone' })).statusCode, 204, 'a tag deleted')
  // A tag deleted whose rows the upkeep has not yet removed (the API's delete wakes it, and it is quick).
  await a.pg!.db.execute(sql`UPDATE tags SET deleted_at = 1 WHERE slug = 'hidden'`)
  const { result: res, sent } = await statementsSent(async () => await a.inject({ method: 'GET', url: '/v1/articles?q=lighthouse' }))
  t.equal(res.statusCode, 200, res.body)
  const hits = res.json().data as { slug: string, tags: unknown[] }[]
  t.equal(hits.length, 3)
  for (const hit of hits) {
    const article = (await a.inject({ method: 'GET', url: `/v1/articles/${hit.slug}` })).json()
    t.same(hit.tags, article.tags.filter((x: { slug: string }) => x.slug !== 'hidden'), `${hit.slug}: the article's tags, in its order, the deleted one gone`)
  }
  t.same(hits.find((h) => h.slug === 'lighthouse-keepers')?.tags.map((x) => (x as { slug: string }).slug), ['zeta', 'coast', 'alpha'])
  // (The upkeep, which may run meanwhile, removes the deleted tag's rows: a write, left out.)
  const reads = sent.filter((s) => /\barticle_tags\b/.test(s.text) && /^\s*(SELECT|WITH)\b/i.test(s.text))
  t.equal(reads.length, 1, `one statement reads the page's tags: ${JSON.stringify(reads.map((s) => s.text.slice(0, 120)))}`)
  t.match(reads[0]?.text, /ts_headline\(/, 'the one that makes the snippets')
  t.match(reads[0]?.text, /\bts_rank\(/, 'which is the ranked page\'s own')
  // Sorted by date, the page's tags come with the excerpts, in a statement of their own.
  const { result: byDate, sent: sentByDate } = await statementsSent(async () => await a.inject({ method: 'GET', url: '/v1/articles?q=lighthouse&sort=-publishedAt' }))
  const bySlug = (list: { slug: string, tags: unknown[] }[]) => list.map((h) => [h.slug, h.tags]).sort((x, y) => String(x[0]).localeCompare(String(y[0])))
  t.same(bySlug(byDate.json().data), bySlug(hits), 'the same tags sorted by date')
  const readsByDate = sentByDate.filter((s) => /\barticle_tags\b/.test(s.text) && /^\s*(SELECT|WITH)\b/i.test(s.text))
  t.equal(readsByDate.length, 1, 'one statement reads them')
  t.match(readsByDate[0]?.text, /ts_headline\(/, 'the one that makes the snippets')
})

t.test('a search\'s named statements keep to their indexes in a generic plan, on a large vocabulary', async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine: 'postgres' })
  await createArticle(a, { title: 'Harbour works begin', summary: 'The quay and the harbour', body: 'Cranes at the harbour, working.', status: 'published', tags: ['Harbour Works'] })
  await createArticle(a, { title: 'Workers at the quay', body: 'The harbour workforce.', status: 'published' })
  // A large site's words, tags and articles (made behind the API's back, none of them a match).
  const db = a.pg!.db
  await db.execute(sql`INSERT INTO search_terms (term, docs) SELECT 'zz' || n, 1 + n % 50 FROM generate_series(1, 100000) AS n`)
  await db.execute(sql`INSERT INTO tags (slug, name, created_at, updated_at) SELECT 'filler-' || n, 'Filler ' || n, 0, 0 FROM generate_series(1, 20000) AS n`)
  await db.execute(sql`INSERT INTO articles (slug, title, body, body_html, status, published_at, created_at, updated_at, authors)
    SELECT 'filler-' || n, 'Filler ' || n, 'Nothing here', '<p>Nothing here</p>', 'published', n, n, n, '[]' FROM generate_series(1, 2000) AS n`)
  await db.execute(sql`INSERT INTO article_tags (article_id, tag_id, position)
    SELECT a.id, t.id, 0 FROM articles a JOIN tags t ON t.slug = a.slug WHERE a.slug LIKE 'filler-%'`)
  await db.execute(sql`ANALYZE`)
  const { result: res, sent } = await statementsSent(async () => await a.inject({ method: 'GET', url: `/v1/articles?q=${encodeURIComponent('harbour work*')}` }))
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().data.length, 2)
  const { result: byDate, sent: sentByDate } = await statementsSent(async () => await a.inject({ method: 'GET', url: `/v1/articles?q=${encodeURIComponent('harbour work*')}&sort=-publishedAt` }))
  t.equal(byDate.json().data.length, 2)
  // The named ones (src/articles/search-index.pg.ts): the terms, a prefix's words, the excerpts and tags of
  // a page by date; and the ranked page with its excerpts and tags (src/articles/listing/index.pg.ts), when
  // nothing but the search filters it.
  const named = [
    { re: /jsonb_array_elements\(/, from: sent },
    { re: /FROM search_terms WHERE term >=/, from: sent },
    { re: /ts_headline\('gazette', translate\(title/, from: sentByDate },
    { re: /\bts_rank\(/, from: sent }
  ].map(({ re, from }) => ({ re, statement: from.find((s) => re.test(s.text)) }))
  // After five runs PostgreSQL may keep a statement's generic plan, made without its values: that plan.
  const pool = new pg.Pool({ connectionString: a.pg!.url, max: 1 })
  t.teardown(() => pool.end())
  for (const { re, statement } of named) {
    t.ok(statement, `${String(re)} was sent`)
    if (statement === undefined) continue
    const all = nodes(await genericPlan(pool, statement))
    // tag_refs_version is one row (the version of the tags the page's ids are named at): read whole, it is that row.
    const scanned = all.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] !== 'tag_refs_version').map((n) => n['Relation Name'])
    t.same(scanned, [], `${String(re)}: no table read whole (${JSON.stringify(all.map((n) => [n['Node Type'], n['Relation Name'] ?? n['Index Name'], n['Index Cond']]))})`)
  }
  const rankedPlan = nodes(await genericPlan(pool, named[3]!.statement!))
  t.ok(rankedPlan.some((n) => n['Index Name'] === 'articles_search_idx'), 'the ranked page\'s matches come from the full-text index')
  // Its tags aggregated once, not again for every row (a subquery joined to the page was, in this plan).
  t.ok(rankedPlan.some((n) => n['Subplan Name'] === 'CTE pt'), 'the page\'s tags are aggregated once, in their own CTE')

  // The app names the terms' statement and the ranked page (PostgreSQL parses them once per connection, and
  // may keep their generic plans); a page sorted by date is planned with its values every time.
  t.ok(named[0]!.statement?.name, 'the terms\' statement is named')
  t.ok(named[3]!.statement?.name, 'the ranked page is named')
  const pageByDate = sentByDate.find((s) => /\bFROM "articles"/i.test(s.text) && !/ts_headline/.test(s.text) && /order by/i.test(s.text))
  t.ok(pageByDate, 'the page by date was sent')
  t.notOk(pageByDate?.name, 'a page by date is not named')
  // The terms' generic plan is the one PostgreSQL keeps: not planned for every search. (The ranked page's
  // is kept when the words are not rare: here the prefix's; for a rarer word the plans made with it cost
  // less, and PostgreSQL goes on making them.)
  const client = await pool.connect()
  t.teardown(() => { client.release() })
  for (const { re, statement } of [named[0]!, named[3]!]) {
    const name = `kept_${named.indexOf(named.find((x) => x.re === re)!)}`
    for (let i = 0; i < 8; i++) await client.query({ name, text: statement!.text, values: statement!.values })
    const { rows: [kept] } = await client.query('SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1', [name])
    t.ok(kept.generic_plans >= 3, `${String(re)}: the generic plan is kept (${JSON.stringify(kept)})`)
  }
})

t.test('a ranked page\'s generic plan reads its matches from the full-text index alone, on a table of many pages', async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine: 'postgres' })
  await createArticle(a, { title: 'Harbour works begin', summary: 'The quay and the harbour', body: 'Cranes at the harbour.', status: 'published' })
  // 10,000 published articles, each with a summary that fills a tenth of a page, as the bench's copy has
  // once compacted (VACUUM FULL): a table of pages enough that the planner weighs narrowing the matches'
  // heap reads by another index.
  await a.pg!.db.execute(sql`INSERT INTO articles (slug, title, summary, body, body_html, status, published_at, created_at, updated_at, authors)
    SELECT 'filler-' || n, 'Filler ' || n, repeat('Nothing of note. ', 45), 'Nothing here', '<p>Nothing here</p>', 'published', n, n, n, '[]' FROM generate_series(1, 10000) AS n`)
  await a.pg!.db.execute(sql`ANALYZE`)
  const { result: res, sent } = await statementsSent(async () => await a.inject({ method: 'GET', url: '/v1/articles?q=harbour' }))
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().data.length, 1)
  const ranked = sent.find(isRankedPage)
  t.ok(ranked?.name, 'the ranked page is named: PostgreSQL may keep its generic plan')
  const pool = new pg.Pool({ connectionString: a.pg!.url, max: 1 })
  t.teardown(() => pool.end())
  const plan = nodes(await genericPlan(pool, ranked!))
  t.ok(plan.some((n) => n['Index Name'] === 'articles_search_idx'), 'the matches come from the full-text index')
  // The generic plan cannot know that the visibility's time ($visibleAt, now) keeps nearly every article:
  // it ANDed the matches' bitmap with a range of articles_published_idx over all of them (0.3-0.5 ms more
  // a search on the bench's copy: bench/README.md, session 31). The articles' other indexes serve the
  // shown rows' lookups by id, never the matches.
  const narrowing = plan.filter((n) => n['Index Name'] !== undefined && n['Index Name'].startsWith('articles_') &&
    !['articles_search_idx', 'articles_visibility_idx', 'articles_pkey'].includes(n['Index Name']))
  t.same(narrowing.map((n) => [n['Node Type'], n['Index Name'], n['Index Cond']]), [], 'no other index of the articles narrows the matches')
  t.notOk(plan.some((n) => n['Node Type'] === 'BitmapAnd'), 'no bitmap of another index ANDed with them')
})
