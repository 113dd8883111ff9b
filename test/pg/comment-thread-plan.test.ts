// A thread's page on PostgreSQL reads that thread, not the site's history (comments_thread_idx,
// migrations/pg/0009; src/comments/repository.pg.ts, statusIn). A thread's comments all come after its
// article; guessing the article's share of all comments, the planner walked comments_created_idx from the
// site's first comment, expecting to meet the thread's soon, and read every comment posted before. The page
// is run as the app runs it (its SQL and parameters, captured from the pool) under EXPLAIN ANALYZE, on a
// site with a long history. The moderation queue of one status had the same fault whenever the statistics
// overrated that status (statusPage there): it walked the same index backwards through every approved comment.
import t from 'tap'
import { sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { build, createArticle, type TestApp } from '../helper.js'
import { statementsSent } from './sent.js'

interface PlanNode { 'Relation Name'?: string, 'Actual Rows'?: number, 'Actual Loops'?: number, 'Rows Removed by Filter'?: number, Plans?: PlanNode[] }

/** Rows of `comments` the plan read: those it kept and those its filters threw away, over every loop. */
function commentsRead (node: PlanNode): number {
  const own = node['Relation Name'] === 'comments'
    ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
    : 0
  return own + (node.Plans ?? []).reduce((sum, child) => sum + commentsRead(child), 0)
}

/**
 * How many times the plan runs its read of `relation`: the most loops of any node on the way down to its
 * scan. A Memoize over the scan runs once a row too, even when the scan itself runs once.
 */
function runsOf (node: PlanNode, relation: string, outer = 1): number {
  const loops = Math.max(outer, node['Actual Loops'] ?? 1)
  if (node['Relation Name'] === relation) return loops
  return Math.max(0, ...(node.Plans ?? []).map((child) => runsOf(child, relation, loops)))
}

/** The request's response, and the rows of `comments` its one paging statement reads, run again as sent under EXPLAIN ANALYZE. */
async function pageRead (a: TestApp, request: () => Promise<LightMyRequestResponse>): Promise<{ res: LightMyRequestResponse, read: number, articles: number, statements: number }> {
  // The page's statement as the app sends it: the pool's queries during one request, the one on comments.
  const { result: res, sent } = await statementsSent(request)
  const page = sent.filter((q) => /from "comments"/i.test(q.text) && /order by/i.test(q.text))
  if (page.length === 0) return { res, read: 0, articles: 0, statements: 0 }
  const plan = (await a.pg!.db.$client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${page[0]!.text}`, page[0]!.values))
    .rows[0]['QUERY PLAN'][0].Plan as PlanNode
  return { res, read: commentsRead(plan), articles: runsOf(plan, 'articles'), statements: page.length }
}

t.test("a recent article's first page reads its own thread, not every comment posted before it", async (t) => {
  const a = await build(t, { commentModeration: 'none' }, { engine: 'postgres' })
  const db = a.pg!.db
  const start = a.clock.now - 30 * 86_400_000
  // A site's worth of other articles first, as the planner weighs a join to articles by them; the stories
  // below are then the newest, as a thread being read usually is.
  await db.execute(sql`INSERT INTO articles (slug, title, body, body_html, status, published_at, created_at, updated_at)
    SELECT 'filler-' || i, 'Filler ' || i, 'Text.', '<p>Text.</p>', 'published', ${start}::bigint, ${start}::bigint, ${start}::bigint
    FROM generate_series(1, 10000) AS i`)
  const old = await createArticle(a, { title: 'Old story', body: 'Long ago.', status: 'published' })
  const fresh = await createArticle(a, { title: 'Fresh story', body: 'Today.', status: 'published' })
  // 20,000 comments of the site's past (on the old story), then the new story's 600, a third of them pending.
  await db.execute(sql`INSERT INTO comments (article_id, author_name, author_email, avatar_hash, body, body_html, status, created_at, updated_at)
    SELECT ${old.id}, 'Past reader', 'past@example.org', repeat('a', 64), 'Then.', '<p>Then.</p>', 'approved', ${start}::bigint + i, ${start}::bigint + i
    FROM generate_series(1, 20000) AS i`)
  await db.execute(sql`INSERT INTO comments (article_id, author_name, author_email, avatar_hash, body, body_html, status, created_at, updated_at)
    SELECT ${fresh.id}, 'Reader ' || i, 'now@example.org', repeat('b', 64), 'Now ' || i, '<p>Now ' || i || '</p>',
      CASE WHEN i % 3 = 0 THEN 'pending' ELSE 'approved' END, ${a.clock.now}::bigint - 600 + i, ${a.clock.now}::bigint - 600 + i
    FROM generate_series(1, 600) AS i`)
  await db.execute(sql`ANALYZE comments`)
  await db.execute(sql`ANALYZE articles`)

  const { res, read, articles, statements } = await pageRead(a, () => a.inject({ method: 'GET', url: `/v1/articles/${fresh.slug as string}/comments?limit=100` }))
  t.equal(res.statusCode, 200)
  const items = res.json().data as { body: string }[]
  const approved = Array.from({ length: 600 }, (_, i) => i + 1).filter((i) => i % 3 !== 0)
  t.same(items.map((c) => c.body), approved.slice(0, 100).map((i) => `Now ${i}`), 'the thread from its start, approved only, in order')

  t.equal(statements, 1, 'one statement reads the page')
  // One range of the thread, in its order: the page and the row that says there is another. Not the whole
  // thread sorted (400 public comments), not the site (20,600).
  t.ok(read <= 2 * 101, `read ${read} comments for a page of 100 from a thread of 600`)
  // The page's article once, not once a row (each row's facts about its article come from it).
  t.equal(articles, 1, `looked the article up ${articles} times for a page of 100`)
})

t.test('the queue of one status reads that status, even when the statistics say most comments have it', async (t) => {
  const a = await build(t, {}, { engine: 'postgres' })
  const db = a.pg!.db
  const story = await createArticle(a, { title: 'Busy story', body: 'Many readers.', status: 'published' })
  // The statistics are taken while all 10,020 comments wait; then the newest 10,000 are approved, as a
  // moderator's busy hour does before autovacuum's next ANALYZE (kept away for the test).
  await db.execute(sql`ALTER TABLE comments SET (autovacuum_enabled = false)`)
  const start = a.clock.now - 86_400_000
  await db.execute(sql`INSERT INTO comments (article_id, author_name, author_email, avatar_hash, body, body_html, status, created_at, updated_at)
    SELECT ${story.id}, 'Reader ' || i, 'reader@example.org', repeat('c', 64), 'Comment ' || i, '<p>Comment ' || i || '</p>',
      'pending', ${start}::bigint + i, ${start}::bigint + i
    FROM generate_series(1, 10020) AS i`)
  await db.execute(sql`ANALYZE comments`)
  await db.execute(sql`UPDATE comments SET status = 'approved' WHERE created_at > ${start}::bigint + 20`)

  const { res, read, statements } = await pageRead(a, () => a.as('moderator', { method: 'GET', url: '/v1/comments?status=pending&limit=20' }))
  t.equal(res.statusCode, 200)
  t.same(res.json().data.map((c: { body: string }) => c.body), Array.from({ length: 20 }, (_, i) => `Comment ${20 - i}`),
    'the 20 still pending, newest first')
  t.equal(statements, 1, 'one statement reads the page')
  // The pending range and the row that says there is no other page; not the 10,000 approved since.
  t.ok(read <= 2 * 21, `read ${read} comments for a queue of 20 among 10,020`)
})
