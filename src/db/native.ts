// Gazette's SQLite extension (native/gazette.c): the query budget's watchdog and the search ranking.
// Loaded into every connection by openDatabase; scripts/build-native.ts compiles it at `npm install`.
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type Database from 'better-sqlite3'

/** The version native/gazette.c reports: a library built from older source is refused, not half used. */
const NATIVE_VERSION = 3

// src/db and dist/db sit at the same depth, so this resolves in development and in the build.
export const nativeLibrary = resolve(dirname(fileURLToPath(import.meta.url)), '../../native/build',
  process.platform === 'darwin' ? 'gazette.dylib' : 'gazette.so')

export class NativeMissing extends Error {}

/** Loads the extension into a connection; throws a message fit for a person when it is missing or stale. */
export function loadNative (sqlite: Database.Database): void {
  const rebuild = 'run `npm run build:native` (it needs a C compiler; Debian: apt-get install build-essential)'
  if (!existsSync(nativeLibrary)) throw new NativeMissing(`${nativeLibrary} is missing: ${rebuild}`)
  sqlite.loadExtension(nativeLibrary)
  const version = sqlite.prepare('SELECT gazette_native_version()').pluck().get()
  if (version !== NATIVE_VERSION) throw new NativeMissing(`${nativeLibrary} is version ${String(version)}, this code needs ${NATIVE_VERSION}: ${rebuild}`)
}

/**
 * The connection's query budget: while any owner holds it (`arm(owner, ms)` until `release(owner)`), every
 * statement on the connection may run `ms` milliseconds from its own start, then it fails with
 * SQLITE_INTERRUPT. Time between statements is not counted, so requests in flight together (each armed)
 * do not spend each other's budget, and one that waits for something else loses nothing by waiting.
 */
export function queryBudget (sqlite: Database.Database) {
  const set = sqlite.prepare('SELECT gazette_budget(?)')
  const count = sqlite.prepare('SELECT gazette_interrupts()').pluck()
  const owners = new Set<object>()
  let limit = 0
  // A closed connection has nothing to interrupt: the request's own statements then fail as they would
  // without a budget (so /health answers its 503, not a 500 from this hook).
  const apply = (ms: number): void => {
    if (ms === limit) return
    limit = ms
    if (sqlite.open) set.run(ms)
  }
  return {
    arm (owner: object, ms: number): void {
      owners.add(owner)
      apply(ms)
    },
    release (owner: object): void {
      if (!owners.delete(owner)) return
      if (owners.size === 0) apply(0)
    },
    /** Statements interrupted on this connection so far. */
    interrupts: (): number => count.get() as number
  }
}

export type QueryBudget = ReturnType<typeof queryBudget>

/**
 * Whether an error is a statement stopped by the budget: SQLITE_INTERRUPT, or on PostgreSQL SQLSTATE 57014
 * (query_canceled: statement_timeout, src/db/pg/connection.ts). Drizzle wraps a driver's error as `cause`.
 */
export const isInterrupted = (err: unknown): boolean =>
  typeof err === 'object' && err !== null &&
  ((err as { code?: unknown }).code === 'SQLITE_INTERRUPT' || (err as { code?: unknown }).code === QUERY_CANCELED ||
    isInterrupted((err as { cause?: unknown }).cause))

/** SQLSTATE of a statement PostgreSQL cancelled (statement_timeout): what SQLITE_INTERRUPT is to the SQLite budget. */
export const QUERY_CANCELED = '57014'
