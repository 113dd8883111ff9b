// Flood control counted by every process on one PostgreSQL (issue 16: "flood control counts across
// processes"): a store for @fastify/rate-limit whose counters are rows of `rate_limits`
// (migrations/pg/0006), so COMMENT_RATE_LIMIT and SEARCH_RATE_LIMIT hold for a client whichever process
// its requests reach. On SQLite each process keeps the plugin's own memory store (README "Scale-out").
//
// One statement per counted request: an upsert that starts a new window when the old one has run out and
// otherwise adds one, decided under the row's lock, so two processes counting the same client at once
// both count (no lost increment) and agree on the window. Windows are timed by the database's clock, the
// one clock every process shares.
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

// The window restarts when it has ended (expires_at <= now), else the count goes up by one.
const COUNT = `
  WITH now AS (SELECT ${NOW_MS} AS ms)
  INSERT INTO rate_limits AS r (scope, client, window_start, expires_at, hits)
  SELECT $1, $2, now.ms, now.ms + $3, 1 FROM now
  ON CONFLICT (scope, client) DO UPDATE SET
    hits = CASE WHEN r.expires_at <= excluded.window_start THEN 1 ELSE r.hits + 1 END,
    window_start = CASE WHEN r.expires_at <= excluded.window_start THEN excluded.window_start ELSE r.window_start END,
    expires_at = CASE WHEN r.expires_at <= excluded.window_start THEN excluded.expires_at ELSE r.expires_at END
  RETURNING hits, expires_at - (SELECT ms FROM now) AS ttl`

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

  return class PgRateLimitStore {
    readonly scope: string
    // The plugin passes its merged options (a route's, for a child), typed as its own: only nameSpace is read.
    constructor (options: object = {}) {
      this.scope = (options as ScopedLimit).nameSpace ?? ''
    }

    incr (address: string, cb: Callback, timeWindow: number): void {
      clientOf(address)
        .then((client) => database().$client.query<{ hits: number, ttl: string }>({ name: 'rate_limit_count', text: COUNT, values: [this.scope, client, timeWindow] }))
        .then(({ rows: [row] }) => { cb(null, { current: row!.hits, ttl: Number(row!.ttl) }) }, (err: Error) => { cb(err) })
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

/** Removes the counters whose window has ended (upkeep runs it): returns how many went. */
export async function purgeRateLimits (db: PgDb): Promise<number> {
  const { rowCount } = await db.$client.query(`DELETE FROM rate_limits WHERE expires_at <= ${NOW_MS}`)
  return rowCount ?? 0
}
