// Stored responses of POSTs made with an Idempotency-Key (see src/http/idempotency.ts). A row is first a
// claim (status_code NULL) made before the handler runs, then the response once it is sent.
import { and, eq, sql } from 'drizzle-orm'
import type { Db } from './connection.js'
import { idempotencyKeys } from './schema.js'

/** How long a key is remembered. */
export const KEY_TTL_MS = 24 * 60 * 60 * 1000
/**
 * A claim still without a response after this long belongs to a request that died with its process
 * (a crash between claim and response); a retry may take it over instead of getting 409 for a day.
 */
export const ABANDONED_CLAIM_MS = 60 * 1000
/** Expired rows deleted per claim, so purging never makes one request slow. */
const PURGE_BATCH = 100

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

export function idempotencyKeyRepository (db: Db, now: () => number) {
  const find = db.select().from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, sql.placeholder('scope')), eq(idempotencyKeys.key, sql.placeholder('key'))))
    .prepare()
  const purge = db.$client.prepare(
    'DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at < ? LIMIT ?)'
  )
  const where = (scope: string, key: string) => and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key))

  return {
    /**
     * Claims `key` for a request with `requestHash`, or tells why not: a stored response to replay, the
     * same key still in flight, or the key used for another request. One immediate transaction, so two
     * processes on one database cannot both claim a key.
     */
    async claim (scope: string, key: string, requestHash: string): Promise<Claim> {
      return db.transaction((tx) => {
        const at = now()
        purge.run(at - KEY_TTL_MS, PURGE_BATCH)
        const row = find.get({ scope, key })
        if (row !== undefined && row.createdAt >= at - KEY_TTL_MS) {
          if (row.requestHash !== requestHash) return { outcome: 'reused' as const }
          if (row.statusCode !== null) {
            const response = { statusCode: row.statusCode, headers: JSON.parse(row.headers ?? '{}'), body: row.body ?? '' }
            return { outcome: 'replay' as const, response }
          }
          if (row.createdAt >= at - ABANDONED_CLAIM_MS) return { outcome: 'in-flight' as const }
        }
        tx.insert(idempotencyKeys).values({ scope, key, requestHash, createdAt: at })
          .onConflictDoUpdate({
            target: [idempotencyKeys.scope, idempotencyKeys.key],
            set: { requestHash, statusCode: null, headers: null, body: null, createdAt: at }
          }).run()
        return { outcome: 'claimed' as const }
      }, { behavior: 'immediate' })
    },

    /** Stores the response of a claimed key, to be replayed to retries. */
    async complete (scope: string, key: string, response: StoredResponse): Promise<void> {
      db.update(idempotencyKeys)
        .set({ statusCode: response.statusCode, headers: JSON.stringify(response.headers), body: response.body })
        .where(where(scope, key)).run()
    },

    /** Forgets a claim whose request failed on our side, so that a retry can succeed. */
    async release (scope: string, key: string): Promise<void> {
      db.delete(idempotencyKeys).where(and(where(scope, key), sql`${idempotencyKeys.statusCode} IS NULL`)).run()
    }
  }
}

export type IdempotencyKeyRepository = ReturnType<typeof idempotencyKeyRepository>
