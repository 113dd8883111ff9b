// Retention (API.md section 11): comments' ip and userAgent are cleared after COMMENT_PRIVATE_DAYS by a job
// that runs at start and then every hour; moderation keeps working on cleared comments.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mock } from 'node:test'
import t from 'tap'
import { RETENTION_INTERVAL_MS } from '../../src/privacy/retention.js'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import { build, createArticle, postComment, type TestApp, onSqlite } from '../helper.js'

const DAY = 24 * 60 * 60 * 1000
const seen = async (a: TestApp, id: number) => (await a.as('moderator', { method: 'GET', url: `/v1/comments/${id}` })).json()

t.test('the job clears what is older than COMMENT_PRIVATE_DAYS, and only that', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'first', commentPrivateDays: 30, commentRateLimit: 1000, trustProxy: true })
  await createArticle(a, { title: 'Old news', status: 'published' })
  const post = async (email: string, ip: string) =>
    (await postComment(a, 'old-news', { authorName: 'R', authorEmail: email, body: 'Hi' }, { 'x-forwarded-for': ip, 'user-agent': `UA ${ip}` })).json()
  const old = await post('old@example.org', '203.0.113.1')
  t.equal((await a.as('moderator', { method: 'POST', url: `/v1/comments/${old.id}/reports`, payload: { reason: 'spam' } })).statusCode, 202)
  a.clock.advance(DAY)
  const younger = await post('young@example.org', '203.0.113.2')
  a.clock.advance(29 * DAY)

  t.same(await a.app.retention.run(), { comments: 0, reports: 0, ended: 'done' }, 'at exactly 30 days nothing is due')
  a.clock.advance(1)
  t.same(await a.app.retention.run(), { comments: 1, reports: 1, ended: 'done' }, 'a millisecond later the first comment and the report are')
  t.match(await seen(a, old.id), { ip: null, userAgent: null, authorEmail: 'old@example.org', reportCount: 1 }, 'the email stays; the report still counts')
  t.match(await seen(a, younger.id), { ip: '203.0.113.2', userAgent: 'UA 203.0.113.2' })
  const stored = a.app.db.$client.prepare('SELECT created_at, updated_at FROM comments WHERE id = ?').get(old.id) as { created_at: number, updated_at: number }
  t.equal(stored.updated_at, stored.created_at, 'clearing is not an edit: updatedAt stays')
  t.same(await a.app.retention.run(), { comments: 0, reports: 0, ended: 'done' }, 'idempotent')

  // Moderation works on a cleared comment: approve it, and it vouches for its author in `first` mode.
  const approved = await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${old.id}`, payload: { status: 'approved' } })
  t.match(approved.json(), { status: 'approved', ip: null })
  t.equal((await post('OLD@example.org', '203.0.113.9')).status, 'approved', 'the cleared comment still vouches for its author')
  t.equal((await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${old.id}`, payload: { body: 'Edited' } })).statusCode, 200)
  t.equal((await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${old.id}` })).statusCode, 204)

  a.clock.advance(DAY)
  t.same(await a.app.retention.run(), { comments: 1, reports: 0, ended: 'done' })
  t.match(await seen(a, younger.id), { ip: null, userAgent: null })

  const plan = (a.app.db.$client.prepare('EXPLAIN QUERY PLAN SELECT id FROM comments WHERE (ip IS NOT NULL OR user_agent IS NOT NULL) AND created_at < ? LIMIT 500').all(0) as Array<{ detail: string }>).map((r) => r.detail).join('\n')
  t.match(plan, /comments_private_created_idx/, 'the job reads only comments that still hold something')
})

t.test('the job runs when the server starts, and the cleared values leave the file', onSqlite, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-retention-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'retention.db')
  const before = await build(t, { databasePath: path, commentModeration: 'none', commentRateLimit: 1000, trustProxy: true })
  await createArticle(before, { title: 'Archive', status: 'published' })
  const ids: number[] = []
  for (let i = 0; i < 40; i++) {
    const res = await postComment(before, 'archive', { authorName: 'R', authorEmail: `r${i}@example.org`, body: `Comment ${i}` },
      { 'x-forwarded-for': `198.51.100.${i + 1}`, 'user-agent': `RetainedAgent/${i}.0` })
    ids.push(res.json().id)
  }
  // The first half are a year old.
  before.app.db.$client.prepare('UPDATE comments SET created_at = created_at - 365 * 86400000 WHERE id <= ?').run(ids[19])
  await before.app.close()

  const after = await build(t, { databasePath: path, commentPrivateDays: 90 })
  t.match(await seen(after, ids[0]!), { ip: null, userAgent: null }, 'cleared at start')
  t.match(await seen(after, ids[19]!), { ip: null, userAgent: null })
  t.match(await seen(after, ids[20]!), { ip: '198.51.100.21', userAgent: 'RetainedAgent/20.0' }, 'the recent ones are kept')
  await after.app.close()
  const text = readFileSync(path).toString('latin1')
  const lingering = Array.from({ length: 20 }, (_, i) => `RetainedAgent/${i}.0`).filter((ua) => text.includes(ua))
  t.same(lingering, [], 'the cleared user agents are overwritten in the file')
  t.ok(text.includes('RetainedAgent/39.0'), 'while the kept ones are there')
})

// A database that has not run the job for a long time (a copy, an old backup): the server answers from its
// start while the job clears the backlog in slices behind it. Before, the server waited for the whole pass,
// and on a million comments a slice past the query budget stopped it from starting at all.
t.test('a backlog is cleared in the background: the server answers before the pass ends', onSqlite, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-retention-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'backlog.db')
  const before = await build(t, { databasePath: path })
  const article = await createArticle(before, { title: 'Backlog', status: 'published' })
  const old = before.clock.now - 365 * DAY
  before.app.db.$client.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
    INSERT INTO comments (article_id, author_name, author_email, avatar_hash, body, body_html, status, ip, user_agent, created_at, updated_at)
    SELECT ?, 'R', 'r' || i || '@example.org', 'h', 'Old', '<p>Old</p>', 'approved', '198.51.100.' || (i % 250), 'BacklogAgent/' || i, ? + i, ? + i FROM n`).run(article.id, old, old)
  await before.app.close()

  const app = await buildApp({ config: { ...defaultConfig, databasePath: path, seedDemo: false, maxEventLoopDelay: 0 } })
  t.teardown(() => app.close())
  await app.ready()
  const pass = app.retention.running()
  t.ok(pass, 'ready while the pass is under way')
  const left = () => (app.db.$client.prepare('SELECT count(*) AS n FROM comments WHERE ip IS NOT NULL').get() as { n: number }).n
  t.ok(left() > 0, `comments still to clear when the server is ready (${left()})`)
  t.equal((await app.inject({ method: 'GET', url: '/v1/articles/backlog' })).statusCode, 200, 'and it answers meanwhile')
  t.same(await pass, { comments: 5000, reports: 0, ended: 'done' })
  t.equal(left(), 0)
})

t.test('the job runs again every hour while the server runs', async (t) => {
  // Node's mock timers, for setInterval only: the hour passes at once, everything else keeps real time.
  mock.timers.enable({ apis: ['setInterval'] })
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000, trustProxy: true })
  await createArticle(a, { title: 'Hourly', status: 'published' })
  const c = (await postComment(a, 'hourly', { authorName: 'R', authorEmail: 'r@example.org', body: 'Hi' }, { 'x-forwarded-for': '203.0.113.50', 'user-agent': 'HourlyAgent' })).json()
  a.clock.advance(90 * DAY + 1)
  t.match(await seen(a, c.id), { ip: '203.0.113.50' }, 'past COMMENT_PRIVATE_DAYS (default 90), until the job runs')
  mock.timers.tick(RETENTION_INTERVAL_MS - 1)
  await new Promise((resolve) => setImmediate(resolve))
  t.match(await seen(a, c.id), { ip: '203.0.113.50', userAgent: 'HourlyAgent' }, 'not before the hour is up')
  mock.timers.tick(1)
  // The run started on this tick; on PostgreSQL its statements take a few turns of the event loop.
  for (let waited = 0; (await seen(a, c.id)).ip !== null && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
  t.match(await seen(a, c.id), { ip: null, userAgent: null }, 'cleared by the hourly run')
  await a.app.close()
  mock.timers.reset()
})
