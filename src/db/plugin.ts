import fp from 'fastify-plugin'
import { defaultConfig, type PostgresConfig } from '../config.js'
import { startCheckpointer, type Checkpointer } from './checkpointer.js'
import { fitPageCache, isFilePath, openDatabase, type Db } from './connection.js'
import { migratePg, openPgDatabase, type PgDb } from './pg/connection.js'
import { listenForChanges, type ChangeClock } from './pg/change-clock.js'

/**
 * The engine the repositories run on, and its Drizzle database (read only by src/plugins/repositories.ts);
 * on PostgreSQL also the clock of other processes' writes (LISTEN/NOTIFY, src/db/pg/change-clock.ts).
 */
export type Storage = { engine: 'sqlite', db: Db } | { engine: 'postgres', db: PgDb, changes: ChangeClock }

declare module 'fastify' {
  interface FastifyInstance {
    storage: Storage
    /**
     * The SQLite database, for the SQLite adapters and the SQLite-only plugins (each checks `storage.engine`
     * first). On PostgreSQL no SQLite file is opened, and reading this throws.
     */
    db: Db
  }
}

export interface DbPluginOptions {
  databasePath: string
  /** SQLite's page cache, in MB (SQLITE_CACHE_MB). */
  cacheMb?: number
  /** How much of the file is memory-mapped, in MB (SQLITE_MMAP_MB); 0 is none. */
  mmapMb?: number
  /** PostgreSQL instead of SQLite (DATABASE_URL, PG_POOL_SIZE). */
  postgres?: PostgresConfig | undefined
  /**
   * QUERY_BUDGET_MS, on PostgreSQL: the server's statement_timeout for every statement of the pool (SQLite
   * arms it per request and per background step instead: src/plugins/query-budget.ts). 0: none.
   */
  queryBudgetMs?: number
}

/**
 * The database could not be opened or migrated at start: the process says why in one line and exits
 * (src/server.ts), rather than print a driver's stack trace. The message never holds DATABASE_URL (its password).
 */
export class DatabaseOpenError extends Error {
  constructor (what: string, cause: unknown) {
    super(`${what} could not be opened: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.name = 'DatabaseOpenError'
  }
}

/** How often the SQLite page cache is sized again for the file (a file outgrowing its mapping needs the big one). */
export const PAGE_CACHE_REFIT_MS = 60_000

/** How long the first connection to PostgreSQL may take at start before the process gives up. */
const START_CONNECT_TIMEOUT_MS = 10_000

/**
 * Opens and migrates the database before the server is ready; closes it when the app closes.
 *
 * With `postgres` (DATABASE_URL), every repository runs on PostgreSQL (src/plugins/repositories.ts) and
 * `databasePath` is not opened: nothing of the data may land in a SQLite file an operator does not back up.
 */
export default fp<DbPluginOptions>(async (app, opts) => {
  if (opts.postgres === undefined) {
    let db: Db
    try {
      db = openDatabase(opts.databasePath, { cacheMb: opts.cacheMb, mmapMb: opts.mmapMb })
    } catch (err) {
      throw new DatabaseOpenError(`The SQLite database (DATABASE_PATH ${opts.databasePath})`, err)
    }
    app.decorate('db', db)
    // Checkpoints off the event loop (./checkpointer.ts); an in-memory database has no WAL.
    const onError = (err: Error): void => app.log.error({ err }, 'the WAL checkpoint thread failed; commits checkpoint the WAL themselves again')
    let checkpointer: Checkpointer | undefined
    try {
      if (isFilePath(opts.databasePath)) checkpointer = startCheckpointer(db.$client, opts.databasePath, { onError })
    } catch (err) {
      // No thread (none could start): SQLite's own checkpoints in the commits, as before.
      onError(err instanceof Error ? err : new Error(String(err)))
    }
    // The page cache follows the file's size against the mapping (./connection.ts, fitPageCache). A
    // pragma that fails (the file busy past busy_timeout) leaves the cache as it was until the next try.
    const cacheMb = opts.cacheMb ?? defaultConfig.sqliteCacheMb
    const refit = isFilePath(opts.databasePath) && (opts.mmapMb ?? defaultConfig.sqliteMmapMb) > 0
      ? setInterval(() => {
        try {
          fitPageCache(db.$client, cacheMb)
        } catch (err) {
          app.log.warn({ err }, 'the SQLite page cache could not be sized for the file; it stays as it was')
        }
      }, PAGE_CACHE_REFIT_MS).unref()
      : undefined
    app.addHook('onClose', async () => {
      clearInterval(refit)
      // First, so that the server's connection closes as the last one and checkpoints what is left.
      await checkpointer?.close()
      db.$client.close()
    })
    app.decorate('storage', { engine: 'sqlite', db })
    return
  }
  // A SQLite-only path reached on PostgreSQL is a bug: say so where it happens, not with a file opened
  // behind the operator's back.
  app.decorate('db', {
    getter (): Db {
      throw new Error('app.db is the SQLite database, and this app runs on PostgreSQL (use app.storage)')
    }
  })
  // Migrations on a connection of their own, without the statement timeout: building an index over a
  // large table may take longer than any request may.
  const migrator = openPgDatabase(opts.postgres.url, { poolSize: 1, applicationName: 'gazette-migrate', connectTimeoutMs: START_CONNECT_TIMEOUT_MS })
  try {
    await migratePg(migrator)
  } catch (err) {
    throw new DatabaseOpenError('PostgreSQL (DATABASE_URL)', err)
  } finally {
    await migrator.$client.end()
  }
  const pg = openPgDatabase(opts.postgres.url, {
    poolSize: opts.postgres.poolSize,
    statementTimeoutMs: opts.queryBudgetMs ?? 0,
    // An idle connection lost (a restart, a failover) is replaced on the next query; say so, never crash.
    onIdleError: (err) => app.log.warn({ err }, 'an idle PostgreSQL connection failed; the pool opens another when needed')
  })
  app.addHook('onClose', async () => {
    await pg.$client.end()
  })
  // Listening from before the first request: the public cache reads it on every lookup.
  const changes = await listenForChanges(opts.postgres.url, {
    onError: (err) => app.log.warn({ err }, 'the PostgreSQL change listener lost its connection; the response cache stays empty until it is back')
  })
  app.addHook('onClose', async () => {
    await changes.close()
  })
  app.decorate('storage', { engine: 'postgres', db: pg, changes })
}, { name: 'db' })
