// A database file migrated only up to some point, as an older Gazette left it: for tests that prove a
// later migration upgrades a database with data in it.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { migrationsFolder } from '../../src/db/connection.js'
import { loadNative } from '../../src/db/native.js'

interface JournalEntry { idx: number, tag: string }

/**
 * Creates `old.db` in a temporary folder (removed in teardown), migrated with the journal's entries that
 * `keep` accepts, and returns its path and an open connection (close it before the app opens the file).
 */
export function databaseMigratedTo (t: Test, keep: (entry: JournalEntry, all: JournalEntry[]) => boolean): { path: string, sqlite: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-migration-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const folder = join(dir, 'migrations')
  cpSync(migrationsFolder, folder, { recursive: true })
  const journalPath = join(folder, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: JournalEntry[] }
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.filter((e) => keep(e, journal.entries)) }))
  const path = join(dir, 'old.db')
  const sqlite = new Database(path)
  loadNative(sqlite) // the triggers call Gazette's SQLite functions, as in any process that writes
  migrate(drizzle(sqlite), { migrationsFolder: folder })
  return { path, sqlite }
}

/**
 * 1,200 articles as an older Gazette stored them (more than one slice of a backfill): drafts, scheduled and
 * published ones, with and without summary, section, image, tags (one with quotes in its name) and
 * approved comments. Written with SQL into a database `databaseMigratedTo` made.
 */
export function oldArchive (sqlite: Database.Database): void {
  const at = Date.parse('2026-07-08T08:00:00.000Z')
  const article = sqlite.prepare(`INSERT INTO articles (id, slug, title, summary, body, body_html, section, authors, status, published_at, created_at, updated_at, comment_count, image_url, image_alt)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`)
  for (let id = 1; id <= 1200; id++) {
    const status = id % 3 === 0 ? 'draft' : 'published'
    const publishedAt = status === 'draft' ? null : id % 7 === 0 ? at + 86400000 : at - id * 1000
    article.run(id, `old-${id}`, `Old "${id}" harbour`, id % 2 === 0 ? null : 'A <summary>', `Body ${id} **bold**`, `<p>Body ${id} <strong>bold</strong></p>\n`,
      id % 5 === 0 ? 'World' : null, JSON.stringify(['Ann', `B\\${id}`]), status, publishedAt, at - 5000, at - id, id % 4 === 0 ? 'https://img.example/x.jpg' : null, id % 4 === 0 ? 'alt' : null)
  }
  sqlite.prepare("INSERT INTO tags (id, slug, name, created_at, updated_at) VALUES (1, 'world', 'World', ?, ?), (2, 'quoted', 'The \"Q\"', ?, ?)").run(at, at, at, at)
  sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) SELECT id, 2, 0 FROM articles WHERE id % 2 = 1').run()
  sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) SELECT id, 1, 1 FROM articles WHERE id % 3 = 1').run()
  sqlite.prepare(`INSERT INTO comments (article_id, author_name, author_email, avatar_hash, body, body_html, status, created_at, updated_at)
    SELECT id, 'R', 'r@example.org', '${'ab'.repeat(32)}', 'Hi', '<p>Hi</p>', 'approved', ?, ? FROM articles WHERE id % 4 = 1`).run(at, at)
  sqlite.prepare("UPDATE articles SET comment_count = (SELECT count(*) FROM comments c WHERE c.article_id = articles.id AND c.status = 'approved')").run()
}
