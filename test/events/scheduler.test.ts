// Scheduled publications announced after downtime, once; retention; an old database upgraded.
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import Database from 'better-sqlite3'
import { DUE_SQL, NEXT_DUE_SQL } from '../../src/articles/announcements.js'
import { authorEdit, build, createArticle, type TestApp, onSqlite } from '../helper.js'
import { databaseMigratedTo } from '../db/migrated.js'

const HOUR = 3600_000
const DAY = 24 * HOUR

function tempDatabase (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-events-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'gazette.db')
}

async function types (a: TestApp): Promise<string[]> {
  const res = await a.as('admin', { method: 'GET', url: '/v1/events?limit=100' })
  return res.json().data.map((e: { type: string, data: { slug?: string } }) => `${e.type} ${e.data.slug ?? ''}`.trim())
}

t.test('publications that came due while the server was down are announced at start, once', onSqlite, async (t) => {
  const databasePath = tempDatabase(t)
  const slow = { workers: { pollMs: 60_000 } }
  const first = await build(t, { databasePath }, slow)
  await createArticle(first, { title: 'At ten', status: 'published', publishedAt: '2026-07-08T10:00:00.000Z' })
  await createArticle(first, { title: 'At eleven', status: 'published', publishedAt: '2026-07-08T11:00:00.000Z' })
  await createArticle(first, { title: 'Tomorrow', status: 'published', publishedAt: '2026-07-09T09:00:00.000Z' })
  t.same(await types(first), [], 'nothing is visible yet')
  await first.app.close()

  // Down from 09:00 to 12:00.
  const second = await build(t, { databasePath }, slow)
  second.clock.advance(3 * HOUR)
  // The catch-up runs when the app becomes ready, before it takes requests; this app's clock was moved
  // after that, so ask the scheduler's repository method directly, as its timer would.
  await second.app.articles.announceDuePublications(second.clock.now)
  t.same(await types(second), ['article.published at-ten', 'article.published at-eleven'], 'in order of publication')
  await second.app.articles.announceDuePublications(second.clock.now)
  await second.app.close()

  const third = await build(t, { databasePath }, slow)
  t.same(await types(third), ['article.published at-ten', 'article.published at-eleven'], 'a restart announces nothing twice')
})

t.test('the catch-up at start runs before the first request', onSqlite, async (t) => {
  const databasePath = tempDatabase(t)
  const first = await build(t, { databasePath }, { workers: { pollMs: 60_000 } })
  await createArticle(first, { title: 'Long ago', status: 'published', publishedAt: '2026-07-08T09:00:00.001Z' })
  await first.app.close()
  // The helper's clock starts at 09:00:00.000; this app starts later than the publication.
  const db = new Database(databasePath)
  db.prepare('UPDATE articles SET published_at = published_at - 60000').run()
  db.close()
  const second = await build(t, { databasePath }, { workers: { pollMs: 60_000 } })
  t.same(await types(second), ['article.published long-ago'])
})

t.test('events and their deliveries expire after EVENT_RETENTION_DAYS', onSqlite, async (t) => {
  const a = await build(t, { eventRetentionDays: 2, webhookAllowPrivate: true }, { workers: { pollMs: 60_000 } })
  // A receiver that is never there: its deliveries stay pending.
  const hook = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: 'http://127.0.0.1:9/nobody', events: ['article.published'] } })
  await createArticle(a, { title: 'Old news', status: 'published' })
  a.clock.advance(DAY)
  await createArticle(a, { title: 'Newer news', status: 'published' })
  await a.app.webhooks.fanOut(a.clock.now)
  const count = () => (a.app.db.$client.prepare('SELECT count(*) FROM webhook_deliveries').pluck().get() as number)
  t.equal(count(), 2)
  a.clock.advance(DAY + 1)
  t.equal(await a.app.events.purge(a.clock.now - 2 * DAY), 1, 'the event older than two days goes')
  t.same(await types(a), ['article.published newer-news'])
  t.equal(count(), 1, 'with its delivery')
  const log = await a.as('admin', { method: 'GET', url: `/v1/webhooks/${hook.json().id}/deliveries` })
  t.equal(log.json().data.length, 1)
})

t.test('an existing database upgrades: visible articles count as announced, scheduled ones are announced when due', onSqlite, async (t) => {
  const { path, sqlite } = databaseMigratedTo(t, (e, all) => e.idx < all.find((x) => x.tag.endsWith('_events_and_webhooks'))!.idx)
  // What the migrations before made: a lead image and canonical URL (0005), a tag, an approved comment, a
  // revision (0007), a comment in its author's edit window with two reports (readers' rights). Past for the
  // server's clock and the migration's (the database's real time) alike.
  const now = Date.now()
  const past = Date.parse('2026-07-01T12:00:00.000Z')
  const insert = sqlite.prepare(`INSERT INTO articles (slug, title, body, status, published_at, created_at, updated_at, revision, image_url, image_alt, canonical_url)
    VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?)`)
  insert.run('visible', 'Visible', 'published', past, past, past, 2, 'https://images.news.example/v.jpg', 'A view', 'https://wire.example/visible')
  insert.run('scheduled', 'Scheduled', 'published', now + 30 * DAY, now, now, 1, null, null, null)
  insert.run('draft', 'Draft', 'draft', null, now, now, 1, null, null, null)
  sqlite.prepare("INSERT INTO tags (id, slug, name, created_at, updated_at) VALUES (1, 'harbour', 'Harbour', 0, 0)").run()
  sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) VALUES (1, 1, 0)').run()
  sqlite.prepare(`INSERT INTO comments (id, article_id, author_name, author_email, avatar_hash, body, body_html, status, created_at, updated_at)
    VALUES (1, 1, 'Ann', 'ann@example.org', ?, 'Before events.', '<p>Before events.</p>', 'approved', ?, ?)`).run('ab'.repeat(32), past, past)
  const editToken = 'gzc_from-before-the-event-log'
  sqlite.prepare(`INSERT INTO comments (id, article_id, author_name, author_email, avatar_hash, body, body_html, status, edit_token_hash, report_count, created_at, updated_at)
    VALUES (2, 1, 'Bo', 'bo@example.org', ?, 'Typo hree.', '<p>Typo hree.</p>', 'approved', ?, 2, ?, ?)`)
    .run('cd'.repeat(32), createHash('sha256').update(editToken).digest('hex'), Date.parse('2026-07-08T08:55:00.000Z'), Date.parse('2026-07-08T08:55:00.000Z'))
  const report = sqlite.prepare("INSERT INTO comment_reports (comment_id, reporter, reason, created_at) VALUES (2, ?, 'spam', ?)")
  for (const reporter of ['a1', 'b2']) report.run(reporter.repeat(32), past)
  sqlite.prepare(`INSERT INTO article_revisions (article_id, revision, created_at, author, changed, kind, state)
    VALUES (1, 2, ?, 'desk', '["title"]', 'current', '{"tags":[{"slug":"harbour","name":"Harbour"}]}')`).run(past)
  sqlite.close()

  const a = await build(t, { databasePath: path, commentModeration: 'none' }, { workers: { pollMs: 60_000 } })
  const flags = a.app.db.$client.prepare('SELECT slug, announced FROM articles ORDER BY id').all()
  t.same(flags, [{ slug: 'visible', announced: 1 }, { slug: 'scheduled', announced: 0 }, { slug: 'draft', announced: 0 }])
  t.same(await types(a), [], 'no flood of events for the archive')
  await a.app.articles.announceDuePublications(now + 31 * DAY)
  t.same(await types(a), ['article.published scheduled'])

  // The rows written before the event log existed change like any other, with their events.
  const edited = await a.as('editor', { method: 'PATCH', url: '/v1/articles/visible', payload: { title: 'Visible, edited' } })
  t.equal(edited.statusCode, 200)
  t.equal(edited.json().revision, 3)
  const history = (await a.as('editor', { method: 'GET', url: '/v1/articles/visible/revisions' })).json().data as { revision: number, author: string }[]
  t.same(history.map((r) => [r.revision, r.author]), [[3, 'test editor'], [2, 'desk']], 'history goes on from the revision kept before')
  const spam = await a.as('moderator', { method: 'PATCH', url: '/v1/comments/1', payload: { status: 'spam' } })
  t.equal(spam.statusCode, 200, spam.body)
  await a.as('editor', { method: 'PATCH', url: '/v1/tags/harbour', payload: { name: 'Harbours' } })
  t.equal((await authorEdit(a, 2, editToken, { body: 'Typo here.' })).statusCode, 200, 'its author edits within the window')
  t.equal((await a.inject({ method: 'POST', url: '/v1/comments/2/reports', payload: { reason: 'abuse' } })).statusCode, 202)
  const log = (await a.as('admin', { method: 'GET', url: '/v1/events?limit=100' })).json().data.slice(1) as { type: string, data: any }[]
  t.same(log.map((e) => e.type), ['article.updated', 'comment.removed', 'tag.updated', 'comment.edited', 'comment.removed'])
  t.match(log[0]!.data, { slug: 'visible', title: 'Visible, edited', image: { url: 'https://images.news.example/v.jpg', alt: 'A view' }, canonicalUrl: 'https://wire.example/visible', tags: [{ slug: 'harbour' }] })
  t.same(log[1]!.data, { id: 1, articleSlug: 'visible' })
  t.same(log[2]!.data, { slug: 'harbour', name: 'Harbours', description: null, articleCount: 1 })
  t.match(log[3]!.data, { id: 2, body: 'Typo here.', edited: true })
  t.same(log[4]!.data, { id: 2, articleSlug: 'visible' }, 'the third report, counted on the two from before, sends it back to pending')
})

t.test('every write looks for due publications in the partial index of scheduled articles only', onSqlite, async (t) => {
  const a = await build(t)
  for (const [name, statement] of [['due', DUE_SQL], ['next due', NEXT_DUE_SQL]] as const) {
    const plan = a.app.db.$client.prepare(`EXPLAIN QUERY PLAN ${statement}`).all(...(statement.includes('?') ? [0] : [])) as { detail: string }[]
    t.match(plan.map((p) => p.detail).join(' | '), /^SEARCH articles USING COVERING INDEX articles_unannounced_idx/, `${name}: ${plan.map((p) => p.detail).join(' | ')}`)
  }
})
