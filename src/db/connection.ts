import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { defaultConfig } from '../config.js'
import { loadNative } from './native.js'
import * as schema from './schema.js'

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database }

/**
 * The option of every write transaction (drizzle's `db.transaction(fn, IMMEDIATE)`; better-sqlite3's
 * `.immediate()`): BEGIN IMMEDIATE takes the write lock before the first read, so what a transaction reads
 * (a precondition, a slug's availability) cannot change before it writes, even from another process, and a
 * second writer waits (busy_timeout) instead of failing with SQLITE_BUSY when a deferred read turns into a write.
 */
export const IMMEDIATE = { behavior: 'immediate' } as const

// src/db and dist/db sit at the same depth, so this resolves in development and in the build.
export const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), '../../migrations')

/**
 * Opens (creating if needed) the SQLite database and brings it to the latest migration.
 *
 * WAL lets readers run while a write commits. synchronous=NORMAL in WAL mode never corrupts the
 * database; a power loss (not a process crash) may roll back the last transactions committed in the
 * final moments before it. A process crash loses nothing that was acknowledged: the commit is in the
 * WAL, in the OS's cache, before the response goes out (`npm run crash-test` checks it). FULL would add
 * an fsync to every commit, which on ordinary disks cuts write throughput by one to two orders of
 * magnitude (scripts/sync-bench.ts), to guard only against power loss.
 *
 * secure_delete=FAST: see below; test/privacy/erase.test.ts reads the file's bytes after an erasure.
 */
/** Whether a database path names a file of its own (not `:memory:` or a `file:` URI). */
export function isFilePath (path: string): boolean {
  return path !== ':memory:' && !path.startsWith('file:')
}

export function openDatabase (path: string, opts: { cacheMb?: number } = {}): Db {
  if (isFilePath(path)) mkdirSync(dirname(resolve(path)), { recursive: true })
  const sqlite = new Database(path)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  // Deleted and rewritten content is zeroed inside the pages SQLite writes anyway (no extra I/O), so an
  // erased commenter's address does not linger in a page's free space, where a b-tree rebalance or an
  // updated row leaves old bytes behind; erasure itself turns it fully on (src/privacy/repository.ts).
  sqlite.pragma('secure_delete = FAST')
  // The page cache, kept across requests (better-sqlite3's default is 16 MB). The seeks a page makes (a tag's
  // articles in the narrow index, a search's matches) read leaf pages spread over indexes of tens of MB at a
  // million articles; each miss is a read from the OS cache. 64 MB holds those indexes (measured:
  // bench/README.md#page-cache). SQLite takes the memory only as pages are read, so a small database uses little of it.
  sqlite.pragma(`cache_size = ${-Math.round((opts.cacheMb ?? defaultConfig.sqliteCacheMb) * 1024)}`)
  // Gazette's extension (native/gazette.c): triggers and searches use its functions.
  loadNative(sqlite)
  const db = drizzle(sqlite, { schema })
  migrate(db, { migrationsFolder })
  return db
}
