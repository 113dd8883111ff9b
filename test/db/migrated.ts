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
