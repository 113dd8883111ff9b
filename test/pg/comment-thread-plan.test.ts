// A thread's page on PostgreSQL reads that thread, not the site's history (comments_thread_idx,
// migrations/pg/0009; src/comments/repository.pg.ts, statusIn). A thread's comments all come after its
// article; guessing the article's share of all comments, the planner walked comments_created_idx from the
// site's first comment, expecting to meet the thread's soon, and read every comment posted before. The page
// is run as the app runs it (its SQL and parameters, captured from the pool) under EXPLAIN ANALYZE, on a
// site with a long history.
import t from 'tap'
import pg from 'pg'
import { sql } from 'drizzle-orm'
import { build, createArticle } from '../helper.js'

interface PlanNode { 'Relation Name'?: string, 'Actual Rows'?: number, 'Actual Loops'?: number, 'Rows Removed by Filter'?: number, Plans?: PlanNode[] }

/** Rows of `comments` the plan read: those it kept and those its filters threw away, over every loop. */
function commentsRead (node: PlanNode): number {
  const own = node['Relation Name'] === 'comments'
    ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
    : 0
  return own + (node.Plans ?? []).reduce((sum, child) => sum + commentsRead(child), 0)
}

t.test("a recent article's first page reads its own thread, not every comment posted before it", async (t) => {
  const a = await build(t, { commentModeration: 'none' }, { engine: 'postgres' })
  const db = a.pg!.db
  const old = await createArticle(a, { title: 'Old story', body: 'Long ago.', status: 'published' })
  const fresh = await createArticle(a, { title: 'Fresh story', body: 'Today.', status: 'published' })
  // 20,000 comments of the site's past (on the old story), then the new story's 600, a third of them pending.
  const start = a.clock.now - 30 * 86_400_000
  await db.execute(sql`INSERT INTO comments (article_id, author_name, author_email, avatar_hash, body, body_html, status, created_at, updated_at)
    SELECT ${old.id}, 'Past reader', 'past@example.org', repeat('a', 64), 'Then.', '<p>Then.</p>', 'approved', ${start}::bigint + i, ${start}::bigint + i
    FROM generate_series(1, 20000) AS i`)
  await db.execute(sql`INSERT INTO comments (article_id, author_name, author_email, avatar_hash, body, body_html, status, created_at, updated_at)
    SELECT ${fresh.id}, 'Reader ' || i, 'now@example.org', repeat('b', 64), 'Now ' || i, '<p>Now ' || i || '</p>',
      CASE WHEN i % 3 = 0 THEN 'pending' ELSE 'approved' END, ${a.clock.now}::bigint - 600 + i, ${a.clock.now}::bigint - 600 + i
    FROM generate_series(1, 600) AS i`)
  await db.execute(sql`ANALYZE comments`)

  // The page's statement as the app sends it: the pool's queries during one request, the one on comments.
  const sent: { text: string, values: unknown[] }[] = []
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const q = args[0] as { text?: string, values?: unknown[] } | string
    // drizzle passes the values beside the query object, or inside it.
    if (typeof q === 'object' && q.text !== undefined) sent.push({ text: q.text, values: Array.isArray(args[1]) ? args[1] : q.values ?? [] })
    return (query as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof query
  let res
  try {
    res = await a.inject({ method: 'GET', url: `/v1/articles/${fresh.slug as string}/comments?limit=100` })
  } finally {
    pg.Client.prototype.query = query
  }
  t.equal(res.statusCode, 200)
  const items = res.json().data as { body: string }[]
  const approved = Array.from({ length: 600 }, (_, i) => i + 1).filter((i) => i % 3 !== 0)
  t.same(items.map((c) => c.body), approved.slice(0, 100).map((i) => `Now ${i}`), 'the thread from its start, approved only, in order')

  const page = sent.filter((q) => /from "comments"/i.test(q.text) && /order by/i.test(q.text))
  t.equal(page.length, 1, 'one statement reads the page')
  const plan = (await db.$client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${page[0]!.text}`, page[0]!.values))
    .rows[0]['QUERY PLAN'][0].Plan as PlanNode
  const read = commentsRead(plan)
  // One range of the thread, in its order: the page and the row that says there is another. Not the whole
  // thread sorted (400 public comments), not the site (20,600).
  t.ok(read <= 2 * 101, `read ${read} comments for a page of 100 from a thread of 600`)
})
