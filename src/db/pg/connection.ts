// The PostgreSQL connection: a pool, drizzle over it, and the migrations of migrations/pg applied once
// however many processes start together.
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHash } from 'node:crypto'
import pg from 'pg'
import type { Query, SQL } from 'drizzle-orm'
import type { PgDialect } from 'drizzle-orm/pg-core'
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import { migrate } from 'drizzle-orm/node-postgres/migrator'
import * as schema from './schema.js'

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool }
/** A transaction of `db.transaction(async (tx) => …)`: what helpers that write inside another's transaction take. */
export type PgTx = Parameters<Parameters<PgDb['transaction']>[0]>[0]

/**
 * The options of `db.transaction` for reads whose statements must agree with each other: one REPEATABLE READ,
 * read-only snapshot (a public count and the articles due since the counts were settled, a page and its
 * total, an article and its history).
 */
export const SNAPSHOT = { isolationLevel: 'repeatable read', accessMode: 'read only' } as const

/** What `executePrepared` and `shapedStatements` use of drizzle's database and transaction objects (internal to drizzle, pinned in package.json). */
interface Internals {
  dialect: PgDialect
  session: { prepareQuery: (query: Query, fields: undefined, name: string, arrayMode: false) => { execute: (values?: Record<string, unknown>) => Promise<unknown> } }
}

const statementNames = new Map<string, string>()

/** The name of a statement's text as a prepared statement (the same on every connection and process). */
export function statementName (text: string): string {
  let name = statementNames.get(text)
  if (name === undefined) {
    name = `gz_${createHash('sha256').update(text).digest('base64url').slice(0, 32)}`
    if (statementNames.size < 1000) statementNames.set(text, name)
  }
  return name
}

/**
 * As `q.execute(query)`, with its result, but as a named prepared statement: PostgreSQL parses each text
 * once per connection and, after a few runs, keeps its plan, where an unnamed statement is parsed and
 * planned on every run. For statements of the hot paths whose text is fixed but for a few shapes: writes
 * (the order lock with a write's declaration, src/events/outbox.pg.ts), the public's common reads and the
 * webhook dispatcher's rounds (test/pg/named-statements.test.ts keeps them named); not for text that varies
 * without bound (each text is kept on every connection). PostgreSQL keeps a generic plan only when it costs
 * no more than the plans made with the values; a statement whose good plan depends on its values (a
 * thread's size, a search's matches) stays unnamed, and says why. `values` fill the query's placeholders (`sql.placeholder`), if any.
 */
export async function executePrepared<T extends Record<string, unknown>> (q: PgTx | PgDb, query: SQL, values?: Record<string, unknown>): Promise<pg.QueryResult<T>> {
  const { dialect, session } = q as unknown as Internals
  const built = dialect.sqlToQuery(query)
  return await session.prepareQuery(built, undefined, statementName(built.sql), false).execute(values) as pg.QueryResult<T>
}

/** A query's text and parameters as Drizzle builds them (placeholders among the parameters), for driverRows' `built`. */
export function buildable (q: PgDb, query: SQL): { toSQL: () => Query } {
  return { toSQL: () => (q as unknown as Internals).dialect.sqlToQuery(query) }
}

/**
 * executePrepared for a statement built once per shape: `build` makes the shape's SQL with a placeholder
 * (`sql.placeholder(name)`) for each value, the first time its `shape` key is asked for, and every run
 * binds `values`. Drizzle's building and its rendering to text (an `is()` check per chunk) were 14% of the
 * Gazette process's self time under POST comment on PostgreSQL when made for every comment (bench/README.md,
 * "PostgreSQL: a comment's and a search's statements built once"). A placeholder in an insert's values is
 * bound through its column's encoder (drizzle's fillPlaceholders); one in a raw `sql` template is bound as
 * it is given.
 */
export function shapedStatements (maxShapes = 64) {
  const shapes = new Map<string, Query & { name: string }>()
  return async function run<T extends Record<string, unknown>> (q: PgTx | PgDb, shape: string, build: () => SQL, values: Record<string, unknown>): Promise<pg.QueryResult<T>> {
    const { dialect, session } = q as unknown as Internals
    let built = shapes.get(shape)
    if (built === undefined) {
      const query = dialect.sqlToQuery(build())
      built = { ...query, name: statementName(query.sql) }
      if (shapes.size < maxShapes) shapes.set(shape, built)
    }
    return await session.prepareQuery(built, undefined, built.name, false).execute(values) as pg.QueryResult<T>
  }
}

// src/db/pg and dist/db/pg sit at the same depth, so this resolves in development and in the build.
export const pgMigrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), '../../../migrations/pg')

/**
 * Key of the advisory lock held while migrating: drizzle's migrator takes none, and two processes
 * starting on one database would otherwise both apply the same migration (the second failing on
 * "already exists"). Any fixed 64-bit number no other application on the database uses. Exported for the
 * tests, which hold it to make a migrating process wait.
 */
export const MIGRATION_LOCK = 0x6761_7a65_7474_65n // "gazette"

/**
 * bigint (int8) values arrive as JavaScript numbers, not strings: they are millisecond timestamps, ids and
 * counts, all far below 2^53. drizzle maps its `bigint({ mode: 'number' })` columns itself; this is for raw
 * `sql` results (count(*), sum(), a bigint column in db.execute). A value beyond 2^53 throws rather than
 * rounding. Set on pg's global parsers, because drizzle hands each query its own `types` that fall back to
 * those, overriding a pool's: every pool of this process reads int8 so.
 */
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => {
  const n = Number(value)
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 ${value} does not fit a JavaScript number`)
  return n
})

export interface PgOptions {
  /** Most connections this process opens (PG_POOL_SIZE). */
  poolSize?: number
  /** Name the connections carry in pg_stat_activity. */
  applicationName?: string
  /**
   * Told when an idle pooled connection fails (the server restarted, a failover, an administrator ended
   * it). The pool drops that connection and opens another on demand; without a listener, pg's 'error'
   * event would end the process.
   */
  onIdleError?: (err: Error) => void
  /**
   * QUERY_BUDGET_MS on PostgreSQL: the server cancels any statement of this pool that runs longer, from its
   * own start, as the SQLite extension's watchdog does; the statement fails with SQLSTATE 57014
   * (query_canceled) and a transaction it was in is aborted. 0 or unset: no limit, for the pools that are
   * not the server's (the migrator's, db:copy's, the token CLI's: src/db/plugin.ts, src/db/copy.ts).
   */
  statementTimeoutMs?: number
  /** How long opening a connection may take before it fails (unset: as long as the network takes). */
  connectTimeoutMs?: number
}

/** SQLSTATE of a statement cancelled by statement_timeout (defined beside isInterrupted, which knows it). */
export { QUERY_CANCELED } from '../native.js'

/** A pool on `url` and drizzle over it. Connections open on first use; close with `db.$client.end()`. */
export function openPgDatabase (url: string, opts: PgOptions = {}): PgDb {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    application_name: opts.applicationName ?? 'gazette',
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    ...(opts.connectTimeoutMs ? { connectionTimeoutMillis: opts.connectTimeoutMs } : {})
  })
  pool.on('error', opts.onIdleError ?? (() => {}))
  return drizzle(pool, { schema }) as PgDb
}

/** Applies migrations/pg that the database lacks, holding an advisory lock so one process does it. */
export async function migratePg (db: PgDb, migrationsFolder = pgMigrationsFolder): Promise<void> {
  const client = await db.$client.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()])
    try {
      await migrate(drizzle(client, { schema }), { migrationsFolder })
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()])
    }
  } finally {
    client.release()
  }
}
