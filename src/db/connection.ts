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

/** Whether a database path names a file of its own (not `:memory:`, nor a name starting `file:`). */
export function isFilePath (path: string): boolean {
  return path !== ':memory:' && !path.startsWith('file:')
}

/** SQLite's page cache while the whole file is mapped, in MB: the pages of writes and of the WAL. */
export const MAPPED_PAGE_CACHE_MB = 4

/**
 * Sizes the connection's page cache for its file as it is now (the db plugin calls it again every minute,
 * as the file grows), and returns the size in MB.
 *
 * - Part of the file not mapped (bigger than the mapping, mapping off, or in memory): `cacheMb`
 *   (SQLITE_CACHE_MB, 64 by default), kept across requests. The seeks a page makes (a tag's articles in
 *   the narrow index, a search's matches) read leaf pages spread over indexes of tens of MB at a million
 *   articles; each miss is a read from the OS cache, and 64 MB holds those indexes (measured:
 *   bench/README.md#page-cache). SQLite takes the memory only as pages are read.
 * - The whole file mapped: MAPPED_PAGE_CACHE_MB. Reads do not use the cache, and a big one costs every
 *   commit of a file under 1 GB: a B-tree split parks a page at the number of the lock page (1 GB in), and
 *   the commit after it drops the cached pages beyond the file's end by walking the whole cache
 *   (pcache1TruncateUnsafe: 7–10% of a comment's CPU with 64 MB). Measured: bench/README.md, "A small page
 *   cache behind a mapped file".
 *
 * SQLite's sorter also takes its memory from the cache's size: a sort of more than 4 MB, which no request
 * makes, goes to a temporary file; migrations, which build indexes, run with `cacheMb` (openDatabase).
 */
export function fitPageCache (sqlite: Database.Database, cacheMb: number): number {
  const mapped = Number(sqlite.pragma('mmap_size', { simple: true }) ?? 0)
  const bytes = Number(sqlite.pragma('page_count', { simple: true })) * Number(sqlite.pragma('page_size', { simple: true }))
  const mb = mapped > 0 && bytes <= mapped ? Math.min(cacheMb, MAPPED_PAGE_CACHE_MB) : cacheMb
  setPageCache(sqlite, mb)
  return mb
}

/** A negative cache_size is in KiB, whatever the page size. */
function setPageCache (sqlite: Database.Database, mb: number): void {
  sqlite.pragma(`cache_size = ${-Math.round(mb * 1024)}`)
}

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
export function openDatabase (path: string, opts: { cacheMb?: number, mmapMb?: number } = {}): Db {
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
  // The file is read through a memory mapping (SQLITE_MMAP_MB, up to this build's cap of just under 2 GB):
  // a read transaction takes pages straight from the OS's cache, and SQLite's page cache holds only what
  // write transactions and the WAL bring in, and the part of a bigger file that is not mapped. The cost: an
  // I/O error reading the file is a signal that ends the process rather than an error SQLite returns.
  sqlite.pragma(`mmap_size = ${(opts.mmapMb ?? defaultConfig.sqliteMmapMb) * 1024 * 1024}`)
  const cacheMb = opts.cacheMb ?? defaultConfig.sqliteCacheMb
  setPageCache(sqlite, cacheMb)
  // Gazette's extension (native/gazette.c): triggers and searches use its functions.
  loadNative(sqlite)
  const db = drizzle(sqlite, { schema })
  // With the whole cache: a migration may build an index over a big table.
  migrate(db, { migrationsFolder })
  fitPageCache(sqlite, cacheMb)
  return db
}
