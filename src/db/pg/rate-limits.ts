// Flood control counted by every process on one PostgreSQL (issue 16: "flood control counts across
// processes"): a store for @fastify/rate-limit whose counters are rows of `rate_limits`
// (migrations/pg/0006), so COMMENT_RATE_LIMIT and SEARCH_RATE_LIMIT hold for a client whichever process
// its requests reach. On SQLite each process keeps the plugin's own memory store (README "Scale-out").
//
// One upsert counts every request that asked while the previous one was running (as comments are
// written in batches, src/comments/repository.pg.ts): it starts a new window when the old one has run out
// and otherwise adds the client's requests, decided under the row's lock, so two processes counting the
// same client at once both count (no lost increment) and agree on the window. A client asking n times in
// one batch is one row that goes up by n, and its requests take the counts in turn. Under load that is one
// round trip for several requests, where each had its own (a round trip is most of what a request costs
// this process on PostgreSQL: bench/README.md). Windows are timed by the database's clock, the one clock
// every process shares.
//
// What is stored of a client: a keyed hash (HMAC-SHA-256) of its address, never the address; the key is
// made once per database (settings `rate_limit_hmac_key`). A row lives until its window ends; upkeep
// removes ended ones (`purgeRateLimits`), so the table holds at most a window's clients.
// Raw SQL on purpose (CONTRIBUTING.md, the data layer): the counting upsert is a CTE on the database's
// clock with a conditional ON CONFLICT update, run through the pool on every counted request.
import { createHmac, randomBytes } from 'node:crypto'
import type { PgDb } from './connection.js'
import { settingsRepositoryPg } from '../../settings/repository.pg.js'

/** What @fastify/rate-limit's `incr` hands back: the requests counted in the window, and its ms left. */
interface Count { current: number, ttl: number }
type Callback = (err: Error | null, result?: Count) => void

/**
 * The allowance a limiter counts in: each `app.rateLimit(...)` call names its own (`nameSpace`), so comment
 * writes, reports and searches from one address are separate counters, as they are in memory.
 */
export interface ScopedLimit { nameSpace?: string }

const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint'

// Each (scope, client) of the arrays once, with its window and how many requests it counts. A window
// restarts when it has ended (expires_at <= now), else the count goes up by that many. The rows are locked
// in the order of their keys, so two processes counting the same clients wait for each other, never in a
// cycle; the purge (purgeRateLimits) skips the rows it would wait for, so it never closes one either.
const COUNT = `
  WITH now AS (SELECT ${NOW_MS} AS ms)
  INSERT INTO rate_limits AS r (scope, client, window_start, expires_at, hits)
  SELECT c.scope, c.client, now.ms, now.ms + c.window_ms, c.n FROM now, unnest($1::text[], $2::text[], $3::bigint[], $4::int[]) AS c(scope, client, window_ms, n)
  ORDER BY c.scope, c.client
  ON CONFLICT (scope, client) DO UPDATE SET
    hits = CASE WHEN r.expires_at <= excluded.window_start THEN excluded.hits ELSE r.hits + excluded.hits END,
    window_start = CASE WHEN r.expires_at <= excluded.window_start THEN excluded.window_start ELSE r.window_start END,
    expires_at = CASE WHEN r.expires_at <= excluded.window_start THEN excluded.expires_at ELSE r.expires_at END
  RETURNING scope, client, hits, expires_at - (SELECT ms FROM now) AS ttl`

/** Gives a request its count: one that throws (the plugin's never do) cannot keep the others of its batch from theirs. */
function answer (cb: Callback, err: Error | null, result?: Count): void {
  try {
    cb(err, result)
  } catch (thrown) {
    queueMicrotask(() => { throw thrown })
  }
}

/** The most clients one upsert counts; the others wait for the next. */
const MAX_COUNTED = 256

/** A client's requests waiting to be counted in the next upsert, and where each one's count goes. */
interface Asked { scope: string, client: string, windowMs: number, callbacks: Callback[] }
/** One entry per (scope, client): the upsert may touch a row once. A scope is one limiter's, with one window. */
const keyOf = (a: { scope: string, client: string }): string => `${a.scope}\n${a.client}`

const READ = `SELECT hits, expires_at - ${NOW_MS} AS ttl FROM rate_limits WHERE scope = $1 AND client = $2 AND expires_at > ${NOW_MS}`

/**
 * The store class @fastify/rate-limit instantiates (`store` option): the plugin makes one with its global
 * options and a child per limiter. The plugin is registered before the database is opened (its onRoute
 * hook must see every route), so the database is asked for when the first request is counted.
 */
export function pgRateLimitStore (database: () => PgDb) {
  let key: Promise<string> | undefined
  const hmacKey = () => (key ??= settingsRepositoryPg(database()).getOrCreate('rate_limit_hmac_key', () => randomBytes(32).toString('base64url')))
  const clientOf = async (address: string) => createHmac('sha256', await hmacKey()).update(address).digest('base64url')

  // The requests asked while an upsert runs, by scope and client; counted by the next one. One at a time.
  const waiting = new Map<string, Asked>()
  let counting = false

  function countWaiting (): void {
    const batch: Asked[] = []
    for (const asked of waiting.values()) {
      if (batch.length === MAX_COUNTED) break
      batch.push(asked)
    }
    for (const asked of batch) waiting.delete(keyOf(asked))
    if (batch.length === 0) {
      counting = false
      return
    }
    counting = true
    // (Inside a promise: a database not open yet fails these requests, not the next ones too.)
    Promise.resolve().then(() => database().$client.query<{ scope: string, client: string, hits: number, ttl: string }>({
      name: 'rate_limit_count',
      text: COUNT,
      values: [batch.map((a) => a.scope), batch.map((a) => a.client), batch.map((a) => a.windowMs), batch.map((a) => a.callbacks.length)]
    })).then(({ rows }) => {
      const counted = new Map(rows.map((row) => [keyOf(row), row]))
      for (const asked of batch) {
        const row = counted.get(keyOf(asked))
        if (row === undefined) {
          for (const cb of asked.callbacks) answer(cb, new Error('rate_limits: a counted client has no row'))
          continue
        }
        // The last of its requests takes the row's count; those before it, the counts before.
        const first = row.hits - asked.callbacks.length + 1
        asked.callbacks.forEach((cb, i) => { answer(cb, null, { current: first + i, ttl: Number(row.ttl) }) })
      }
    }, (err: Error) => {
      for (const asked of batch) for (const cb of asked.callbacks) answer(cb, err)
    }).finally(countWaiting)
  }

  function count (scope: string, client: string, windowMs: number, cb: Callback): void {
    const key = keyOf({ scope, client })
    const asked = waiting.get(key)
    if (asked === undefined) waiting.set(key, { scope, client, windowMs, callbacks: [cb] })
    else asked.callbacks.push(cb)
    if (!counting) countWaiting()
  }

  return class PgRateLimitStore {
    readonly scope: string
    // The plugin passes its merged options (a route's, for a child), typed as its own: only nameSpace is read.
    constructor (options: object = {}) {
      this.scope = (options as ScopedLimit).nameSpace ?? ''
    }

    incr (address: string, cb: Callback, timeWindow: number): void {
      clientOf(address).then((client) => { count(this.scope, client, timeWindow, cb) }, (err: Error) => { cb(err) })
    }

    read (address: string, cb: Callback): void {
      clientOf(address)
        .then((client) => database().$client.query<{ hits: number, ttl: string }>(READ, [this.scope, client]))
        .then(({ rows: [row] }) => { cb(null, row === undefined ? { current: 0, ttl: 0 } : { current: row.hits, ttl: Number(row.ttl) }) }, (err: Error) => { cb(err) })
    }

    child (options: object): PgRateLimitStore {
      return new PgRateLimitStore(options)
    }
  }
}

/**
 * Removes the counters whose window has ended (upkeep runs it): returns how many went. A row a count holds
 * is skipped (the next purge takes it if it is still ended): a plain DELETE would lock rows in its own
 * order and could wait for a count that waits for it (COUNT locks several rows).
 */
export async function purgeRateLimits (db: PgDb): Promise<number> {
  const { rowCount } = await db.$client.query(`
    DELETE FROM rate_limits r USING (SELECT scope, client FROM rate_limits WHERE expires_at <= ${NOW_MS} FOR UPDATE SKIP LOCKED) ended
    WHERE r.scope = ended.scope AND r.client = ended.client`)
  return rowCount ?? 0
}
