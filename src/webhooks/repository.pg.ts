// The webhooks' SQL (./repository.ts, which explains the queue) on PostgreSQL, for any number of processes
// on one database: each delivery is made by one of them (issue 16).
//
// Fan-out. Events commit in seq order here too: every transaction that inserts events takes the event
// log's order lock before its first one and holds it to its commit (src/events/outbox.pg.ts; pings below
// too), so whoever sees seq N sees every lower seq that will ever commit, and a cursor moved to the highest
// seq a statement saw never passes an event still to commit. Two dispatchers must not both turn the same
// events into deliveries: a webhook's fan-out locks its row (`FOR NO KEY UPDATE`) and reads the cursor as
// locked, so each range after a cursor is fanned out by one transaction. It waits for the lock rather than
// skip the webhook: an outcome being recorded holds it for a moment too, and a skipped fan-out would leave
// its events until the next poll (or, were the webhook disabled meanwhile, until it is enabled again).
//
// Claims. A lease is taken by one statement: the candidates (each enabled webhook's head: its oldest pending
// ordered delivery, read without skipping anything; and due pings and out-of-turn retries) are locked
// `FOR UPDATE SKIP LOCKED`, re-checked as locked (still pending, due, not leased) and leased. A head another
// transaction holds is skipped, never replaced by the delivery behind it, so only the head of a queue is
// ever leased. A lease that ran out (its sender died) is free again. Outcomes are recorded only by the
// lease's owner (`lease_owner` in the WHERE), as on SQLite.
//
// Locks are taken in one order: the event log's (pings only), then the webhook's row, then its deliveries'.
// Claims take no webhook lock and never wait (SKIP LOCKED); every other write that touches a webhook and its
// deliveries (If-Match writes, fan-out, outcomes) locks the webhook's row first, so none deadlocks another.
// `FOR NO KEY UPDATE` rather than `FOR UPDATE`: inserting a delivery or a ping takes `FOR KEY SHARE` on the
// webhook (its foreign key), which only a delete has to wait for.
import { asc, count, eq, gt, sql, type SQL } from 'drizzle-orm'
import { executePrepared, type PgDb, type PgTx } from '../db/pg/connection.js'
import { webhooks } from '../db/pg/schema.js'
import { lockEventOrder } from '../events/outbox.pg.js'
import { newEventId } from '../events/outbox.js'
import { PING } from '../events/schemas.js'
import { NotFound, StaleRead } from '../http/errors.js'
import { toIso } from '../http/time.js'
import type { AttemptResult } from './sender.js'
import {
  toClaimed, type AttemptOutcome, type ClaimedDelivery, type ClaimedRow, type DeliveryView, type RetryPolicy, type WebhookRepository,
  type WebhookRow, type WebhookWrite
} from './repository.js'

type Conn = PgDb | PgTx

/** As on SQLite: events turned into deliveries per webhook per transaction, and pings or retries leased per webhook per claim. */
const FANOUT_BATCH = 500
const UNORDERED_BATCH = 10

const VIEW = sql.raw(`SELECT d.id, d.webhook_id AS "webhookId", d.event_seq AS "eventSeq", d.ordered, d.status, d.attempts,
  d.next_attempt_at AS "nextAttemptAt", d.lease_until AS "leaseUntil", d.lease_owner AS "leaseOwner", d.last_attempt_at AS "lastAttemptAt",
  d.last_response_code AS "lastResponseCode", d.last_error AS "lastError", d.created_at AS "createdAt", d.updated_at AS "updatedAt",
  e.id AS "eventId", e.type AS "eventType"
  FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq`)

/** A free lease: none, or one that ran out (its sender died or is too slow). */
const leaseFree = (now: number) => sql`(d.lease_until IS NULL OR d.lease_until <= ${now})`

/** Deliveries that may be leased at `now`: each enabled, not busy webhook's head, if due; due pings and out-of-turn retries. */
const candidates = (now: number, busy: readonly number[]) => sql`
  SELECT h.id FROM webhooks w CROSS JOIN LATERAL (
    SELECT d.id, d.next_attempt_at, d.lease_until FROM webhook_deliveries d
    WHERE d.webhook_id = w.id AND d.status = 'pending' AND d.ordered ORDER BY d.id LIMIT 1) h
  WHERE w.enabled AND w.id <> ALL(${sql.param([...busy])}::integer[]) AND h.next_attempt_at <= ${now} AND (h.lease_until IS NULL OR h.lease_until <= ${now})
  UNION ALL
  SELECT u.id FROM webhooks w CROSS JOIN LATERAL (
    SELECT d.id FROM webhook_deliveries d
    WHERE d.webhook_id = w.id AND d.status = 'pending' AND NOT d.ordered AND d.next_attempt_at <= ${now} AND ${leaseFree(now)}
    ORDER BY d.id LIMIT ${UNORDERED_BATCH}) u`

/**
 * Leases the deliveries `ids` names (a query of delivery ids) that are still pending, due and free once
 * locked; skips those another transaction holds. Returns them with what sending needs. Named, as every
 * statement of the dispatcher's rounds is (the `any` below): the claim's text is fixed, and unnamed it was
 * parsed and planned in every round, 650–820 µs of PostgreSQL's time against 93–175 µs named (bench/README.md,
 * "Session 33").
 */
async function lease (conn: Conn, ids: SQL, now: number, owner: string, leaseUntil: number): Promise<ClaimedDelivery[]> {
  const { rows } = await executePrepared(conn, sql`WITH leased AS (
      UPDATE webhook_deliveries SET lease_until = ${leaseUntil}, lease_owner = ${owner}
      WHERE id IN (SELECT d.id FROM webhook_deliveries d
        WHERE d.id IN (${ids}) AND d.status = 'pending' AND d.next_attempt_at <= ${now} AND ${leaseFree(now)}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, webhook_id, event_seq, ordered, attempts)
    SELECT l.id, l.webhook_id AS "webhookId", l.ordered, l.attempts, w.url, w.secret, w.previous_secret AS "previousSecret",
      w.previous_secret_expires_at AS "previousSecretExpiresAt", e.seq, e.id AS "eventId", e.type, e.occurred_at AS "occurredAt", e.data
    FROM leased l JOIN webhooks w ON w.id = l.webhook_id JOIN events e ON e.seq = l.event_seq ORDER BY l.id`)
  return (rows as ClaimedRow[]).map(toClaimed)
}

/**
 * Inside a write: the webhook's row locked as it stands (see the top for the lock order). Named: every
 * delivery's outcome takes it (as the outcome's own statements are, in `complete`).
 */
async function lockHook (tx: PgTx, id: number): Promise<WebhookRow | undefined> {
  return (await tx.select().from(webhooks).where(eq(webhooks.id, sql.placeholder('id'))).for('no key update').prepare('webhook_lock').execute({ id }))[0]
}

export function webhookRepositoryPg (db: PgDb): WebhookRepository {
  const byId = db.select().from(webhooks).where(eq(webhooks.id, sql.placeholder('id'))).prepare('webhooks_by_id')

  /** Inside a write: the webhook locked as it stands; StaleRead when it changed since it was read (writeIfMatch). */
  async function stillCurrent (tx: PgTx, id: number, unchanged: (fresh: WebhookRow) => boolean): Promise<WebhookRow> {
    const fresh = await lockHook(tx, id)
    if (fresh === undefined || !unchanged(fresh)) throw new StaleRead()
    return fresh
  }

  async function findDelivery (webhookId: number, deliveryId: number, conn: Conn = db): Promise<DeliveryView | undefined> {
    return (await conn.execute(sql`${VIEW} WHERE d.webhook_id = ${webhookId} AND d.id = ${deliveryId}`)).rows[0] as DeliveryView | undefined
  }

  async function insertDelivery (tx: PgTx, webhookId: number, eventSeq: number, now: number): Promise<number> {
    const { rows } = await tx.execute(sql`INSERT INTO webhook_deliveries (webhook_id, event_seq, ordered, status, attempts, next_attempt_at, created_at, updated_at)
      VALUES (${webhookId}, ${eventSeq}, false, 'pending', 0, ${now}, ${now}, ${now}) RETURNING id`)
    return (rows[0] as { id: number }).id
  }

  /** The head of a webhook's queue, leased to `owner` if it may go now (inside complete, after the previous head succeeded). */
  const leaseHead = async (tx: PgTx, webhookId: number, now: number, owner: string, leaseUntil: number): Promise<ClaimedDelivery | undefined> =>
    (await lease(tx, sql`SELECT id FROM webhook_deliveries WHERE webhook_id = ${webhookId} AND status = 'pending' AND ordered ORDER BY id LIMIT 1`,
      now, owner, leaseUntil))[0]

  return {
    // --- Endpoints -------------------------------------------------------------------------------------

    /** A new webhook receives the events committed from now on (every seq up to the highest visible one has committed). */
    async create (write: WebhookWrite, encryptedSecret: string, now: number): Promise<WebhookRow> {
      const [row] = await db.insert(webhooks).values({
        url: write.url,
        events: JSON.stringify(write.events),
        description: write.description,
        secret: encryptedSecret,
        cursor: sql`(SELECT coalesce(max(seq), 0) FROM events)`,
        createdAt: now,
        updatedAt: now
      }).returning()
      return row!
    },

    async findById (id: number): Promise<WebhookRow | undefined> {
      return (await byId.execute({ id }))[0]
    },

    async list (p: { afterId: number | undefined, limit: number }): Promise<WebhookRow[]> {
      return db.select().from(webhooks).where(p.afterId === undefined ? undefined : gt(webhooks.id, p.afterId))
        .orderBy(asc(webhooks.id)).limit(p.limit + 1)
    },

    async count (): Promise<number> {
      return (await db.select({ n: count() }).from(webhooks))[0]?.n ?? 0
    },

    /** As on SQLite; the row is locked, compared and written in one transaction. */
    async update (current: WebhookRow, write: WebhookWrite & { enabled: boolean }, now: number, unchanged: (fresh: WebhookRow) => boolean): Promise<WebhookRow> {
      return db.transaction(async (tx) => {
        await stillCurrent(tx, current.id, unchanged)
        const set: Partial<typeof webhooks.$inferInsert> = {
          url: write.url, events: JSON.stringify(write.events), description: write.description, enabled: write.enabled, updatedAt: now
        }
        if (write.enabled && !current.enabled) {
          Object.assign(set, { disabledAt: null, disabledReason: null, failingSince: null })
          await tx.execute(sql`UPDATE webhook_deliveries SET next_attempt_at = ${now} WHERE webhook_id = ${current.id} AND status = 'pending'`)
        } else if (!write.enabled && current.enabled) {
          Object.assign(set, { disabledAt: now, disabledReason: 'disabled by an admin' })
        }
        const [row] = await tx.update(webhooks).set(set).where(eq(webhooks.id, current.id)).returning()
        return row!
      })
    },

    async delete (current: WebhookRow, unchanged: (fresh: WebhookRow) => boolean): Promise<void> {
      await db.transaction(async (tx) => {
        await stillCurrent(tx, current.id, unchanged)
        await tx.delete(webhooks).where(eq(webhooks.id, current.id))
      })
    },

    /** As on SQLite: the secret replaced is the one as it stands under the lock. */
    async rotateSecret (current: WebhookRow, encryptedSecret: string, previousExpiresAt: number, now: number, unchanged: (fresh: WebhookRow) => boolean): Promise<WebhookRow> {
      return db.transaction(async (tx) => {
        const fresh = await stillCurrent(tx, current.id, unchanged)
        const [row] = await tx.update(webhooks).set({ secret: encryptedSecret, previousSecret: fresh.secret, previousSecretExpiresAt: previousExpiresAt, updatedAt: now })
          .where(eq(webhooks.id, current.id)).returning()
        return row!
      })
    },

    async storedSecrets (): Promise<{ id: number, secret: string, previousSecret: string | null }[]> {
      return db.select({ id: webhooks.id, secret: webhooks.secret, previousSecret: webhooks.previousSecret }).from(webhooks)
    },

    async replaceSecrets (rows: { id: number, secret: string, previousSecret: string | null }[]): Promise<void> {
      await db.transaction(async (tx) => {
        for (const row of rows) await tx.update(webhooks).set({ secret: row.secret, previousSecret: row.previousSecret }).where(eq(webhooks.id, row.id))
      })
    },

    // --- Deliveries --------------------------------------------------------------------------------------

    async deliveries (webhookId: number, p: { beforeId: number | undefined, limit: number, status: string | undefined }): Promise<DeliveryView[]> {
      const before = p.beforeId ?? Number.MAX_SAFE_INTEGER
      const status = p.status === undefined ? sql`` : sql` AND d.status = ${p.status}`
      const { rows } = await db.execute(sql`${VIEW} WHERE d.webhook_id = ${webhookId} AND d.id < ${before}${status} ORDER BY d.id DESC LIMIT ${p.limit + 1}`)
      return rows as DeliveryView[]
    },

    findDelivery: (webhookId: number, deliveryId: number) => findDelivery(webhookId, deliveryId),

    /**
     * As on SQLite. A delivery read as pending that finished meanwhile is sent again as a new delivery, as a
     * finished one is: the UPDATE only makes a delivery due that is still pending when it runs.
     */
    async retryDelivery (d: DeliveryView, now: number): Promise<DeliveryView> {
      return db.transaction(async (tx) => {
        if (d.status === 'pending') {
          const { rowCount } = await tx.execute(sql`UPDATE webhook_deliveries SET next_attempt_at = ${now}, updated_at = ${now} WHERE id = ${d.id} AND status = 'pending'`)
          if (rowCount === 1) return (await findDelivery(d.webhookId, d.id, tx))!
        }
        return (await findDelivery(d.webhookId, await insertDelivery(tx, d.webhookId, d.eventSeq, now), tx))!
      })
    },

    /** A ping event (webhook_id set: not in the log) and its delivery; the event takes the log's order lock, as every event does. */
    async ping (webhookId: number, now: number): Promise<DeliveryView> {
      return db.transaction(async (tx) => {
        await lockEventOrder(tx)
        if ((await tx.execute(sql`SELECT 1 FROM webhooks WHERE id = ${webhookId} FOR KEY SHARE`)).rows.length === 0) throw new NotFound(`No webhook ${webhookId}.`)
        const { rows } = await tx.execute(sql`INSERT INTO events (id, type, occurred_at, data, webhook_id)
          VALUES (${newEventId()}, ${PING}, ${now}, ${JSON.stringify({ webhookId })}, ${webhookId}) RETURNING seq`)
        return (await findDelivery(webhookId, await insertDelivery(tx, webhookId, (rows[0] as { seq: number }).seq, now), tx))!
      })
    },

    // --- The dispatcher's side -----------------------------------------------------------------------------

    // Asked every round of the dispatcher, which writes wake every few milliseconds (minIntervalMs), as are
    // fanOut's statements and the claim's (lease, above): named, so that PostgreSQL parses and plans each
    // once per connection.
    async any (): Promise<boolean> {
      return (await executePrepared<{ any: boolean }>(db, sql`SELECT EXISTS (SELECT 1 FROM webhooks) AS any`)).rows[0]!.any
    },

    /** Turns new events into deliveries for the webhooks subscribed to them; returns how many were made. */
    async fanOut (now: number): Promise<number> {
      // Looked at without a lock first: most rounds have nothing to fan out.
      const { rows } = await executePrepared(db, sql`SELECT coalesce(max(seq), 0) AS last,
        EXISTS (SELECT 1 FROM webhooks WHERE enabled AND cursor < (SELECT coalesce(max(seq), 0) FROM events)) AS behind FROM events`)
      const { last, behind } = rows[0] as { last: number, behind: boolean }
      if (!behind) return 0
      return db.transaction(async (tx) => {
        let made = 0
        // Each webhook behind, locked (in id order) with its cursor as it stands once locked: a dispatcher that
        // waited for another's fan-out finds the cursor moved, and that webhook no longer behind.
        const { rows: hooks } = await executePrepared<{ id: number, events: string, cursor: number }>(tx,
          sql`SELECT id, events, cursor FROM webhooks WHERE enabled AND cursor < ${last} ORDER BY id FOR NO KEY UPDATE`)
        for (const hook of hooks) {
          const upto = Math.min(last, hook.cursor + FANOUT_BATCH)
          const inserted = await executePrepared(tx, sql`INSERT INTO webhook_deliveries (webhook_id, event_seq, ordered, status, attempts, next_attempt_at, created_at, updated_at)
            SELECT ${hook.id}, seq, true, 'pending', 0, ${now}, ${now}, ${now} FROM events
            WHERE seq > ${hook.cursor} AND seq <= ${upto} AND webhook_id IS NULL AND type = ANY(${sql.param(JSON.parse(hook.events) as string[])}::text[]) ORDER BY seq`)
          made += inserted.rowCount ?? 0
          await executePrepared(tx, sql`UPDATE webhooks SET cursor = ${upto} WHERE id = ${hook.id}`)
        }
        return made
      })
    },

    /** As on SQLite: each enabled, not busy webhook's head, and due pings and out-of-turn retries, leased by one statement. */
    async claim (now: number, owner: string, leaseMs: number, busy: ReadonlySet<number>): Promise<ClaimedDelivery[]> {
      return lease(db, candidates(now, [...busy]), now, owner, now + leaseMs)
    },

    /**
     * As on SQLite, in one transaction that locks the webhook first; after a success, leases the queue's new
     * head. Its statements are named (but for the webhook's own update, when it starts or stops failing):
     * one outcome a delivery, their text fixed.
     */
    async complete (d: ClaimedDelivery, result: AttemptResult, owner: string, now: number, policy: RetryPolicy & { leaseMs: number }): Promise<{ outcome: AttemptOutcome, next?: ClaimedDelivery }> {
      return db.transaction(async (tx) => {
        const hook = await lockHook(tx, d.webhookId)
        if (hook === undefined) return { outcome: undefined }
        if (result.ok) {
          const done = await executePrepared(tx, sql`UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1, last_attempt_at = ${now},
            last_response_code = ${result.statusCode ?? 0}, last_error = NULL, next_attempt_at = NULL, lease_until = NULL, lease_owner = NULL, updated_at = ${now}
            WHERE id = ${d.id} AND lease_owner = ${owner}`)
          if (done.rowCount === 0) return { outcome: undefined }
          if (hook.failingSince !== null) await tx.update(webhooks).set({ failingSince: null }).where(eq(webhooks.id, d.webhookId))
          const next = d.ordered && hook.enabled ? await leaseHead(tx, d.webhookId, now, owner, now + policy.leaseMs) : undefined
          return { outcome: 'delivered', next }
        }
        const since = hook.failingSince ?? now
        // A ping or manual retry to a disabled endpoint is tried once; an enabled endpoint is retried until it
        // has been failing for disableAfterMs, and then disabled.
        const giveUp = !hook.enabled || now - since >= policy.disableAfterMs
        const next = giveUp ? null : now + policy.backoff(d.attempts + 1)
        const failed = await executePrepared(tx, sql`UPDATE webhook_deliveries SET status = ${giveUp ? 'failed' : 'pending'}, attempts = attempts + 1,
          last_attempt_at = ${now}, last_response_code = ${result.statusCode}, last_error = ${result.error}, next_attempt_at = ${next},
          lease_until = NULL, lease_owner = NULL, updated_at = ${now} WHERE id = ${d.id} AND lease_owner = ${owner}`)
        if (failed.rowCount === 0) return { outcome: undefined }
        const outcome = giveUp ? 'gave-up' : 'failed'
        if (!hook.enabled) return { outcome }
        if (giveUp) {
          await tx.update(webhooks).set({
            failingSince: since, enabled: false, disabledAt: now, disabledReason: `failing since ${toIso(since)}; last error: ${result.error ?? 'unknown'}`, updatedAt: now
          }).where(eq(webhooks.id, d.webhookId))
        } else if (hook.failingSince === null) {
          await tx.update(webhooks).set({ failingSince: now }).where(eq(webhooks.id, d.webhookId))
        }
        return { outcome }
      })
    },

    async backlog (): Promise<{ pending: number, oldest: number | null }> {
      const { rows } = await db.execute(sql`SELECT count(*) AS pending, min(d.created_at) AS oldest FROM webhooks w
        JOIN webhook_deliveries d ON d.webhook_id = w.id AND d.status = 'pending' WHERE w.enabled`)
      return rows[0] as { pending: number, oldest: number | null }
    },

    async release (ids: number[], owner: string): Promise<void> {
      await db.execute(sql`UPDATE webhook_deliveries SET lease_until = NULL, lease_owner = NULL WHERE id = ANY(${sql.param(ids)}::bigint[]) AND lease_owner = ${owner}`)
    }
  }
}
