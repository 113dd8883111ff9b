// Stored responses of POSTs made with an Idempotency-Key (see src/plugins/idempotency.ts). A row is first a
// claim (status_code NULL) made before the handler runs, then the response once it is sent.
// Raw SQL on purpose (CONTRIBUTING.md, the data layer): the claim is one INSERT … ON CONFLICT DO UPDATE on every keyed POST, and
// the purge a bounded DELETE by rowid.
import type { Db } from '../db/connection.js'
import { declareWrite } from '../db/change-clock.js'

/** How long a key is remembered. */
export const KEY_TTL_MS = 24 * 60 * 60 * 1000
/**
 * A claim still without a response after this long belongs to a request that died with its process
 * (a crash between claim and response); a retry may take it over instead of getting 409 for a day.
 */
export const ABANDONED_CLAIM_MS = 60 * 1000
/** Expired rows deleted per claim, so purging never makes one request slow. */
export const PURGE_BATCH = 100

export interface StoredResponse {
  statusCode: number
  headers: Record<string, string>
  body: string
}

export type Claim =
  | { outcome: 'claimed' }
  | { outcome: 'replay', response: StoredResponse }
  | { outcome: 'in-flight' }
  | { outcome: 'reused' }

/** Stored responses are never part of a public answer: their writes drop nothing from the public cache. */
const NO_PUBLIC_KEYS: readonly string[] = []

export function idempotencyKeyRepository (db: Db, now: () => number) {
  // Every statement is prepared once: a POST with a key claims and completes it, so these run twice
  // per request and must not build and compile their SQL each time.
  const find = db.$client.prepare<[string, string], { requestHash: string, statusCode: number | null, headers: string | null, body: string | null, createdAt: number }>(
    'SELECT request_hash AS requestHash, status_code AS statusCode, headers, body, created_at AS createdAt FROM idempotency_keys WHERE scope = ? AND key = ?')
  const purge = db.$client.prepare<[number, number]>(
    'DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at < ? LIMIT ?)'
  )
  const upsertClaim = db.$client.prepare<[string, string, string, number]>(
    `INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, status_code = NULL, headers = NULL, body = NULL, created_at = excluded.created_at`)
  const store = db.$client.prepare<[number, string, string, string, string]>(
    'UPDATE idempotency_keys SET status_code = ?, headers = ?, body = ? WHERE scope = ? AND key = ?')
  const forget = db.$client.prepare<[string, string]>(
    'DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status_code IS NULL')

  const claimKey = db.$client.transaction((scope: string, key: string, requestHash: string): Claim => {
    const at = now()
    purge.run(at - KEY_TTL_MS, PURGE_BATCH)
    const row = find.get(scope, key)
    if (row !== undefined && row.createdAt >= at - KEY_TTL_MS) {
      if (row.requestHash !== requestHash) return { outcome: 'reused' }
      if (row.statusCode !== null) {
        const response = { statusCode: row.statusCode, headers: JSON.parse(row.headers ?? '{}') as Record<string, string>, body: row.body ?? '' }
        return { outcome: 'replay', response }
      }
      if (row.createdAt >= at - ABANDONED_CLAIM_MS) return { outcome: 'in-flight' }
    }
    upsertClaim.run(scope, key, requestHash, at)
    return { outcome: 'claimed' }
  })

  return {
    /**
     * Claims `key` for a request with `requestHash`, or tells why not: a stored response to replay, the
     * same key still in flight, or the key used for another request. One immediate transaction, so two
     * processes on one database cannot both claim a key.
     */
    async claim (scope: string, key: string, requestHash: string): Promise<Claim> {
      return declareWrite(db, NO_PUBLIC_KEYS, () => claimKey.immediate(scope, key, requestHash))
    },

    /** Stores the response of a claimed key, to be replayed to retries. */
    async complete (scope: string, key: string, response: StoredResponse): Promise<void> {
      declareWrite(db, NO_PUBLIC_KEYS, () => store.run(response.statusCode, JSON.stringify(response.headers), response.body, scope, key))
    },

    /** Forgets a claim whose request failed on our side, so that a retry can succeed. */
    async release (scope: string, key: string): Promise<void> {
      declareWrite(db, NO_PUBLIC_KEYS, () => forget.run(scope, key))
    }
  }
}

export type IdempotencyKeyRepository = ReturnType<typeof idempotencyKeyRepository>
