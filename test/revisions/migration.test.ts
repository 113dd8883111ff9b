// The revisions migration on a database with data: articles written before it read as their current
// revision by "unknown", and their first change keeps that state.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { migrationsFolder } from '../../src/db/connection.js'
import { assertProblem, build, onSqlite } from '../helper.js'

t.test('existing articles get their current state as their first revision, by "unknown"', onSqlite, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-revisions-migration-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // The migrations up to the one before revisions.
  const before = join(dir, 'migrations')
  cpSync(migrationsFolder, before, { recursive: true })
  const journalPath = join(before, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] }
  const mine = journal.entries.findIndex((e) => e.tag.endsWith('_revisions'))
  t.ok(mine > 0, 'the revisions migration is in the journal')
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, mine) }))

  const path = join(dir, 'old.db')
  const sqlite = new Database(path)
  migrate(drizzle(sqlite), { migrationsFolder: before })
  t.throws(() => sqlite.prepare('SELECT * FROM article_revisions').all(), /no such table/)
  const at = Date.parse('2026-07-01T12:00:00.000Z')
  sqlite.prepare(`INSERT INTO articles (id, slug, title, body, body_html, authors, status, published_at, created_at, updated_at, revision)
    VALUES (1, 'old-story', 'Old story', 'Written before history.', '<p>Written before history.</p>\n', '["Anna Petrova"]', 'published', ?, ?, ?, 3)`).run(at, at, at)
  sqlite.prepare("INSERT INTO article_authors (article_id, name) VALUES (1, 'Anna Petrova')").run()
  sqlite.prepare("INSERT INTO tags (id, slug, name, created_at, updated_at) VALUES (1, 'archive', 'Archive', 0, 0)").run()
  sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) VALUES (1, 1, 0)').run()
  sqlite.close()

  const a = await build(t, { databasePath: path })
  const list = await a.as('editor', { method: 'GET', url: '/v1/articles/old-story/revisions?include=total' })
  t.same(list.json(), {
    data: [{ revision: 3, createdAt: '2026-07-01T12:00:00.000Z', author: 'unknown', changed: [], restoredFrom: null }],
    page: { limit: 20, nextCursor: null, total: 1 }
  })
  const current = await a.as('editor', { method: 'GET', url: '/v1/articles/old-story/revisions/3' })
  t.match(current.json(), { revision: 3, author: 'unknown', article: { body: 'Written before history.', tags: [{ slug: 'archive' }], authors: ['Anna Petrova'] } })
  assertProblem(t, await a.as('editor', { method: 'GET', url: '/v1/articles/old-story/revisions/2' }), 404, 'not-found')

  a.clock.advance(1000)
  const edited = await a.as('editor', { method: 'PATCH', url: '/v1/articles/old-story', payload: { body: 'Written after history began.' } })
  t.equal(edited.json().revision, 4)
  const after = await a.as('editor', { method: 'GET', url: '/v1/articles/old-story/revisions?limit=1' })
  t.same(after.json().data, [{ revision: 4, createdAt: '2026-07-08T09:00:01.000Z', author: 'test editor', changed: ['body'], restoredFrom: null }])
  const next = await a.as('editor', { method: 'GET', url: `/v1/articles/old-story/revisions?limit=1&cursor=${after.json().page.nextCursor}` })
  t.same(next.json().data, [{ revision: 3, createdAt: '2026-07-01T12:00:00.000Z', author: 'unknown', changed: [], restoredFrom: null }])
  t.equal(next.json().page.nextCursor, null)
  const old = await a.as('editor', { method: 'GET', url: '/v1/articles/old-story/revisions/3' })
  t.match(old.json().article, { body: 'Written before history.', tags: [{ slug: 'archive', name: 'Archive' }], status: 'published', publishedAt: '2026-07-01T12:00:00.000Z' })
  const restored = await a.as('editor', { method: 'POST', url: '/v1/articles/old-story/revisions/3/restore' })
  t.match(restored.json(), { revision: 5, body: 'Written before history.' })
  t.equal((await a.as('editor', { method: 'GET', url: '/v1/articles/old-story/revisions?include=total' })).json().page.total, 3)
})
