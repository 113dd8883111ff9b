// A search on PostgreSQL reads the few entries of its words in articles_search_idx, however the articles
// were written (migrations/pg/0010). With GIN's fast update (PostgreSQL's default), the search documents
// of recent writes wait in the index's pending list, up to gin_pending_list_limit (4 MB), and every search
// scans all of it: on the bench's copy, 79 ms for a word in 85 articles, and the planner, counting those
// pages, chose a sequential scan of every article instead. The articles here are written one statement
// each, as the API writes them, and the search is the app's own statement, captured from the pool.
import t from 'tap'
import pg from 'pg'
import { sql } from 'drizzle-orm'
import { build } from '../helper.js'

interface PlanNode { 'Node Type': string, 'Index Name'?: string, 'Shared Hit Blocks'?: number, 'Shared Read Blocks'?: number, Plans?: PlanNode[] }

const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)]

t.test('a search reads its words\' entries of the index, not a pending list or every article', async (t) => {
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres' })
  const db = a.pg!.db
  // 600 articles of some 300 words each, one INSERT each (the triggers index each as it comes); the rare
  // word in three of them.
  const words = Array.from({ length: 300 }, (_, i) => `word${i % 97}x${i % 13}`).join(' ')
  for (let i = 0; i < 600; i++) {
    const rare = i % 200 === 7 ? ' zanzibarite' : ''
    await db.execute(sql`INSERT INTO articles (slug, title, body, body_html, status, published_at, created_at, updated_at, authors)
      VALUES (${`a-${i}`}, ${`Article ${i}`}, ${words + rare}, ${`<p>${words}${rare}</p>`}, 'published', ${1_000_000 + i}, ${1_000_000 + i}, ${1_000_000 + i}, '[]')`)
  }
  await db.execute(sql`ANALYZE articles`)

  const sent: { text: string, values: unknown[] }[] = []
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const q = args[0] as { text?: string, values?: unknown[] } | string
    if (typeof q === 'object' && q.text !== undefined) sent.push({ text: q.text, values: Array.isArray(args[1]) ? args[1] : q.values ?? [] })
    return (query as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof query
  let res
  try {
    res = await a.inject({ method: 'GET', url: '/v1/articles?q=zanzibarite&limit=20' })
  } finally {
    pg.Client.prototype.query = query
  }
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
  t.notOk(all.some((n) => n['Node Type'] === 'Seq Scan'), 'no article is scanned in turn')
  const index = all.find((n) => n['Index Name'] === 'articles_search_idx')
  const pages = (index?.['Shared Hit Blocks'] ?? 0) + (index?.['Shared Read Blocks'] ?? 0)
  t.ok(index !== undefined && pages <= 10, `the index gives its entries in a few pages, no pending list (${pages} read)`)
})
