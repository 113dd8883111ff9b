// The idempotency-key repository (./repository.ts) on PostgreSQL, for any number of processes on one
// database: a retry that lands on another process replays the stored response, and two processes never
// both claim a key.
//
// The claim is one INSERT … ON CONFLICT DO UPDATE … WHERE <the old row may be taken over> (expired, or a
// claim of the same request abandoned by a dead process). PostgreSQL decides it atomically: a concurrent
// claimer waits for the row lock and re-checks the WHERE against the committed row, which is then fresh.
// When nothing was inserted or taken over, the row is read to tell a replay from a claim in flight or a
// key reused for another request. Every statement is prepared once (named): a keyed POST runs three or
// four of them.
import { and, eq, isNull, lt, sql } from 'drizzle-orm'
import type { PgDb } from '../db/pg/connection.js'
import { idempotencyKeys } from '../db/pg/schema.js'
import { ABANDONED_CLAIM_MS, KEY_TTL_MS, PURGE_BATCH, type Claim, type IdempotencyKeyRepository, type StoredResponse } from './repository.js'

/**
 * Tries of claim-then-read: the row read after a refused claim can vanish in between (its request failed
 * and released it, or it expired and was purged), and the claim is then tried again. Two tries almost
 * always do; a key still undecided after these is answered as in flight (409 with Retry-After).
 */
const TRIES = 3

export function idempotencyKeyRepositoryPg (db: PgDb, now: () => number): IdempotencyKeyRepository {
  const k = idempotencyKeys
  const at = sql.placeholder('at')
  const claimStatement = db.insert(k)
    .values({ scope: sql.placeholder('scope'), key: sql.placeholder('key'), requestHash: sql.placeholder('hash'), createdAt: at })
    .onConflictDoUpdate({
      target: [k.scope, k.key],
      set: { requestHash: sql`excluded.request_hash`, statusCode: null, headers: null, body: null, createdAt: sql`excluded.created_at` },
      // The row in the table may be taken over when it is expired, or a claim of this same request whose
      // response never came (ABANDONED_CLAIM_MS: its process died between claim and response).
      setWhere: sql`${k.createdAt} < ${at}::bigint - ${KEY_TTL_MS}::bigint
        OR (${k.requestHash} = excluded.request_hash AND ${k.statusCode} IS NULL AND ${k.createdAt} < ${at}::bigint - ${ABANDONED_CLAIM_MS}::bigint)`
    })
    .returning({ key: k.key })
    .prepare('idempotency_claim')
  const find = db.select({ requestHash: k.requestHash, statusCode: k.statusCode, headers: k.headers, body: k.body })
    .from(k).where(and(eq(k.scope, sql.placeholder('scope')), eq(k.key, sql.placeholder('key'))))
    .prepare('idempotency_find')
  // Expired rows, a slice per claim. SKIP LOCKED: two processes purging at once take different rows, and a
  // row being taken over (locked by its claim) is left alone; the outer condition is re-checked on the row
  // as it is when deleted, so a row taken over meanwhile (fresh again) is never deleted.
  const purge = db.delete(k).where(and(
    lt(k.createdAt, sql.placeholder('expired')),
    sql`(${k.scope}, ${k.key}) IN (SELECT scope, key FROM ${k} WHERE ${k.createdAt} < ${sql.placeholder('expired')} LIMIT ${PURGE_BATCH} FOR UPDATE SKIP LOCKED)`
  )).prepare('idempotency_purge')
  const store = db.update(k)
    .set({ statusCode: sql`${sql.placeholder('status')}`, headers: sql`${sql.placeholder('headers')}`, body: sql`${sql.placeholder('body')}` })
    .where(and(eq(k.scope, sql.placeholder('scope')), eq(k.key, sql.placeholder('key'))))
    .prepare('idempotency_store')
  const forget = db.delete(k)
    .where(and(eq(k.scope, sql.placeholder('scope')), eq(k.key, sql.placeholder('key')), isNull(k.statusCode)))
    .prepare('idempotency_forget')

  return {
    async claim (scope: string, key: string, requestHash: string): Promise<Claim> {
      const time = now()
      await purge.execute({ expired: time - KEY_TTL_MS })
      for (let attempt = 0; attempt < TRIES; attempt++) {
        if ((await claimStatement.execute({ scope, key, hash: requestHash, at: time })).length > 0) return { outcome: 'claimed' }
        const [row] = await find.execute({ scope, key })
        if (row === undefined) continue
        if (row.requestHash !== requestHash) return { outcome: 'reused' }
        if (row.statusCode !== null) {
          return { outcome: 'replay', response: { statusCode: row.statusCode, headers: JSON.parse(row.headers ?? '{}') as Record<string, string>, body: row.body ?? '' } }
        }
        return { outcome: 'in-flight' }
      }
      return { outcome: 'in-flight' }
    },

    async complete (scope: string, key: string, response: StoredResponse): Promise<void> {
      await store.execute({ status: response.statusCode, headers: JSON.stringify(response.headers), body: response.body, scope, key })
    },

    async release (scope: string, key: string): Promise<void> {
      await forget.execute({ scope, key })
    }
  }
}
