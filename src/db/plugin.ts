import fp from 'fastify-plugin'
import type { PostgresConfig } from '../config.js'
import { openDatabase, type Db } from './connection.js'
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
    /** The SQLite database, for the SQLite adapters (and, until every repository is ported, see below). */
    db: Db
  }
}

export interface DbPluginOptions {
  databasePath: string
  /** SQLite's page cache, in MB (SQLITE_CACHE_MB). */
  cacheMb?: number
  /** PostgreSQL instead of SQLite (DATABASE_URL, PG_POOL_SIZE). */
  postgres?: PostgresConfig | undefined
  /**
   * QUERY_BUDGET_MS, on PostgreSQL: the server's statement_timeout for every statement of the pool (SQLite
   * arms it per request and per background step instead: src/plugins/query-budget.ts). 0: none.
   */
  queryBudgetMs?: number
}

/**
 * Opens and migrates the database before the server is ready; closes it when the app closes.
 *
 * With `postgres`, the repositories that have a PostgreSQL adapter run there (src/plugins/repositories.ts).
 * The port is not complete (issue 16, /work/notes/PG-16.md section 4): the other repositories, and the few
 * plugins that read `app.db` (the query budget), still run on the
 * SQLite database at `databasePath`. Only tests build such an app: loadConfig refuses DATABASE_URL until
 * POSTGRES_AVAILABLE. When the last adapter lands, SQLite is no longer opened on PostgreSQL.
 */
export default fp<DbPluginOptions>(async (app, opts) => {
  const db = openDatabase(opts.databasePath, { cacheMb: opts.cacheMb })
  app.decorate('db', db)
  app.addHook('onClose', async () => {
    db.$client.close()
  })
  if (opts.postgres === undefined) {
    app.decorate('storage', { engine: 'sqlite', db })
    return
  }
  // Migrations on a connection of their own, without the statement timeout: building an index over a
  // large table may take longer than any request may.
  const migrator = openPgDatabase(opts.postgres.url, { poolSize: 1, applicationName: 'gazette-migrate' })
  try {
    await migratePg(migrator)
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
