// The webhooks' SQL: endpoints, and their deliveries as a queue per endpoint.
//
// Fan-out: each webhook keeps a cursor in the event log (`cursor`, the last event seq it has seen). The
// dispatcher turns the events after it that the webhook subscribes to into pending deliveries, in event
// order, and moves the cursor, in one transaction. SQLite has one writer at a time, so events are committed
// in seq order and a cursor never passes an event still to be committed.
//
// Claims: a delivery is sent by the process that leased it (`lease_owner`, `lease_until`) in an immediate
// transaction; of two processes only one can lease it, and if its sender dies the lease runs out and
// another (or the restarted one) sends it again: at least once. An endpoint's ordered deliveries go one at
// a time: only the oldest pending one (the head) may be leased, so they arrive in the order of the events.
// Raw SQL on purpose (CONTRIBUTING.md, the data layer): the delivery queue's views and leases are joins and conditional UPDATEs
// run by the dispatcher on every tick.
import { and, asc, count, eq, gt, sql } from 'drizzle-orm'
import { IMMEDIATE, type Db } from '../db/connection.js'
import { declareWrite } from '../db/change-clock.js'
import { webhookDeliveries, webhooks } from '../db/schema.js'
import { newEventId } from '../events/outbox.js'
import type { EventRow } from '../events/repository.js'
import { PING } from '../events/schemas.js'
import { StaleRead } from '../http/errors.js'
import { toIso, toIsoOrNull } from '../http/time.js'
import type { AttemptResult } from './sender.js'
import type { Delivery, Webhook } from './schemas.js'

export type WebhookRow = typeof webhooks.$inferSelect
type DeliveryRow = typeof webhookDeliveries.$inferSelect
export type DeliveryView = DeliveryRow & { eventId: string, eventType: string }

export const toWebhook = (row: WebhookRow): Webhook => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.events) as Webhook['events'],
  description: row.description,
  enabled: row.enabled,
  disabledAt: toIsoOrNull(row.disabledAt),
  disabledReason: row.disabledReason,
  failingSince: toIsoOrNull(row.failingSince),
  createdAt: toIso(row.createdAt),
  updatedAt: toIso(row.updatedAt)
})

export const toDelivery = (row: DeliveryView): Delivery => ({
  id: row.id,
  webhookId: row.webhookId,
  eventId: row.eventId,
  eventType: row.eventType as Delivery['eventType'],
  status: row.status,
  attempts: row.attempts,
  lastAttemptAt: toIsoOrNull(row.lastAttemptAt),
  lastResponseCode: row.lastResponseCode,
  lastError: row.lastError,
  nextAttemptAt: toIsoOrNull(row.nextAttemptAt),
  createdAt: toIso(row.createdAt)
})

/** A leased delivery with everything needed to send it. */
export interface ClaimedDelivery {
  id: number
  webhookId: number
  ordered: boolean
  attempts: number
  url: string
  secret: string
  previousSecret: string | null
  previousSecretExpiresAt: number | null
  event: EventRow
}

/** A leased delivery's row (joined with its webhook and event), as the sender takes it; on either engine. */
export type ClaimedRow = Omit<ClaimedDelivery, 'event'> & { seq: number, eventId: string, type: string, occurredAt: number, data: string }
export const toClaimed = (r: ClaimedRow): ClaimedDelivery => ({
  id: r.id,
  webhookId: r.webhookId,
  ordered: r.ordered,
  attempts: r.attempts,
  url: r.url,
  secret: r.secret,
  previousSecret: r.previousSecret,
  previousSecretExpiresAt: r.previousSecretExpiresAt,
  event: { seq: r.seq, id: r.eventId, type: r.type, occurredAt: r.occurredAt, data: r.data }
})

/** How an attempt ended, as recorded: `undefined` when it could not be (the lease was lost, or an erasure dropped the delivery). */
export type AttemptOutcome = 'delivered' | 'failed' | 'gave-up' | undefined

export interface RetryPolicy {
  /** The wait before the next attempt after `failures` failed attempts (jitter included). */
  backoff: (failures: number) => number
  /** An endpoint failing this long is disabled. */
  disableAfterMs: number
}

/** Events turned into deliveries per webhook per transaction. */
const FANOUT_BATCH = 500
/** Pings and manual retries leased per webhook per claim. */
const UNORDERED_BATCH = 10

export interface WebhookWrite {
  url: string
  events: string[]
  description: string | null
}

/** Deliveries are never part of a public answer: the dispatcher's writes drop nothing from the public cache. */
const NO_PUBLIC_KEYS: readonly string[] = []

export function webhookRepository (db: Db) {
  const c = db.$client
  const byId = db.select().from(webhooks).where(eq(webhooks.id, sql.placeholder('id'))).prepare()

  /** Inside a write's transaction: the webhook as it stands; StaleRead when it changed since it was read (writeIfMatch). */
  function stillCurrent (id: number, unchanged: (fresh: WebhookRow) => boolean): WebhookRow {
    const fresh = byId.get({ id })
    if (fresh === undefined || !unchanged(fresh)) throw new StaleRead()
    return fresh
  }
  const viewSql = `SELECT d.id, d.webhook_id AS webhookId, d.event_seq AS eventSeq, d.ordered, d.status, d.attempts,
    d.next_attempt_at AS nextAttemptAt, d.lease_until AS leaseUntil, d.lease_owner AS leaseOwner, d.last_attempt_at AS lastAttemptAt,
    d.last_response_code AS lastResponseCode, d.last_error AS lastError, d.created_at AS createdAt, d.updated_at AS updatedAt,
    e.id AS eventId, e.type AS eventType
    FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq`
  type RawView = Omit<DeliveryView, 'ordered'> & { ordered: number }
  const fromRaw = (r: RawView | undefined): DeliveryView | undefined => r && { ...r, ordered: r.ordered === 1 }
  const deliveryById = c.prepare<[number, number], RawView>(`${viewSql} WHERE d.webhook_id = ? AND d.id = ?`)
  const deliveryLog = c.prepare<[number, number, number], RawView>(`${viewSql} WHERE d.webhook_id = ? AND d.id < ? ORDER BY d.id DESC LIMIT ?`)
  const deliveryLogOfStatus = c.prepare<[number, number, string, number], RawView>(
    `${viewSql} WHERE d.webhook_id = ? AND d.id < ? AND d.status = ? ORDER BY d.id DESC LIMIT ?`)

  const maxSeq = c.prepare<[], number | null>('SELECT max(seq) FROM events').pluck()
  const anyWebhook = c.prepare<[], number>('SELECT EXISTS (SELECT 1 FROM webhooks)').pluck()
  const insertEvent = c.prepare<[string, string, number, string, number]>(
    'INSERT INTO events (id, type, occurred_at, data, webhook_id) VALUES (?, ?, ?, ?, ?)')
  const insertDelivery = c.prepare<[number, number, number, number, number, number]>(
    "INSERT INTO webhook_deliveries (webhook_id, event_seq, ordered, status, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)")

  // Fan-out.
  const behind = c.prepare<[number], { id: number, events: string, cursor: number }>(
    'SELECT id, events, cursor FROM webhooks WHERE enabled = 1 AND cursor < ?')
  const fanOutStatement = c.prepare<[number, number, number, number, number, number, string]>(
    `INSERT INTO webhook_deliveries (webhook_id, event_seq, ordered, status, attempts, next_attempt_at, created_at, updated_at)
     SELECT ?, seq, 1, 'pending', 0, ?, ?, ? FROM events
     WHERE seq > ? AND seq <= ? AND webhook_id IS NULL AND type IN (SELECT value FROM json_each(?)) ORDER BY seq`)
  const moveCursor = c.prepare<[number, number, number]>('UPDATE webhooks SET cursor = ? WHERE id = ? AND cursor = ?')
  // Read before taking the write lock: most rounds have nothing to fan out.
  const anyBehind = c.prepare<[], number>('SELECT EXISTS (SELECT 1 FROM webhooks WHERE enabled = 1 AND cursor < (SELECT coalesce(max(seq), 0) FROM events))').pluck()
  const fanOut = c.transaction((now: number): number => {
    const last = maxSeq.get() ?? 0
    let made = 0
    for (const hook of behind.all(last)) {
      const upto = Math.min(last, hook.cursor + FANOUT_BATCH)
      made += fanOutStatement.run(hook.id, now, now, now, hook.cursor, upto, hook.events).changes
      moveCursor.run(upto, hook.id, hook.cursor)
    }
    return made
  })

  // Claims.
  const allHooks = c.prepare<[], { id: number, enabled: number }>('SELECT id, enabled FROM webhooks')
  const headOf = c.prepare<[number], { id: number, nextAttemptAt: number, leaseUntil: number | null }>(
    "SELECT id, next_attempt_at AS nextAttemptAt, lease_until AS leaseUntil FROM webhook_deliveries WHERE webhook_id = ? AND status = 'pending' AND ordered = 1 ORDER BY id LIMIT 1")
  const unorderedDue = c.prepare<[number, number, number, number], { id: number }>(
    `SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND status = 'pending' AND ordered = 0 AND next_attempt_at <= ?
     AND (lease_until IS NULL OR lease_until <= ?) ORDER BY id LIMIT ?`)
  const lease = c.prepare<[number, string, number]>('UPDATE webhook_deliveries SET lease_until = ?, lease_owner = ? WHERE id = ?')
  type RawClaim = Omit<ClaimedDelivery, 'event' | 'ordered'> & { ordered: number, seq: number, eventId: string, type: string, occurredAt: number, data: string }
  const claimedView = c.prepare<[number], RawClaim>(
    `SELECT d.id, d.webhook_id AS webhookId, d.ordered, d.attempts, w.url, w.secret, w.previous_secret AS previousSecret,
     w.previous_secret_expires_at AS previousSecretExpiresAt, e.seq, e.id AS eventId, e.type, e.occurred_at AS occurredAt, e.data
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.seq = d.event_seq WHERE d.id = ?`)
  /** The head of a webhook's queue, if it may be leased now. */
  const claimableHead = (webhookId: number, now: number): number | undefined => {
    const head = headOf.get(webhookId)
    return head && head.nextAttemptAt <= now && (head.leaseUntil === null || head.leaseUntil <= now) ? head.id : undefined
  }
  /** What may be leased now: each enabled, not busy webhook's head, and due unordered deliveries. */
  const claimable = (now: number, busy: ReadonlySet<number>): number[] => {
    const ids: number[] = []
    for (const hook of allHooks.all()) {
      const head = hook.enabled === 1 && !busy.has(hook.id) ? claimableHead(hook.id, now) : undefined
      if (head !== undefined) ids.push(head)
      for (const row of unorderedDue.all(hook.id, now, now, UNORDERED_BATCH)) ids.push(row.id)
    }
    return ids
  }
  const leaseOne = (id: number, owner: string, leaseUntil: number): ClaimedDelivery => {
    lease.run(leaseUntil, owner, id)
    const r = claimedView.get(id)!
    return toClaimed({ ...r, ordered: r.ordered === 1 })
  }
  const claim = c.transaction((now: number, owner: string, leaseUntil: number, busy: ReadonlySet<number>): ClaimedDelivery[] =>
    claimable(now, busy).map((id) => leaseOne(id, owner, leaseUntil)))

  // Outcomes.
  const succeeded = c.prepare<[number, number, number, number, string]>(
    `UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1, last_attempt_at = ?, last_response_code = ?,
     last_error = NULL, next_attempt_at = NULL, lease_until = NULL, lease_owner = NULL, updated_at = ? WHERE id = ? AND lease_owner = ?`)
  const notFailing = c.prepare<[number]>('UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL')
  const hookState = c.prepare<[number], { enabled: number, failingSince: number | null }>(
    'SELECT enabled, failing_since AS failingSince FROM webhooks WHERE id = ?')
  const failed = c.prepare<[string, number, number | null, string | null, number | null, number, number, string]>(
    `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_attempt_at = ?, last_response_code = ?, last_error = ?,
     next_attempt_at = ?, lease_until = NULL, lease_owner = NULL, updated_at = ? WHERE id = ? AND lease_owner = ?`)
  const failing = c.prepare<[number, number]>('UPDATE webhooks SET failing_since = ? WHERE id = ? AND failing_since IS NULL')
  const disable = c.prepare<[number, string, number, number]>(
    'UPDATE webhooks SET enabled = 0, disabled_at = ?, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled = 1')
  const enabledHook = c.prepare<[number], number>('SELECT enabled FROM webhooks WHERE id = ?').pluck()
  const complete = c.transaction((d: ClaimedDelivery, result: AttemptResult, owner: string, now: number, policy: RetryPolicy, leaseUntil: number): { outcome: AttemptOutcome, next?: ClaimedDelivery } => {
    if (result.ok) {
      if (succeeded.run(now, result.statusCode ?? 0, now, d.id, owner).changes === 0) return { outcome: undefined }
      notFailing.run(d.webhookId)
      // The next delivery of this webhook, leased in the same transaction: a queue drains with one
      // transaction per delivery.
      const next = d.ordered && enabledHook.get(d.webhookId) === 1 ? claimableHead(d.webhookId, now) : undefined
      return { outcome: 'delivered', next: next === undefined ? undefined : leaseOne(next, owner, leaseUntil) }
    }
    const hook = hookState.get(d.webhookId)
    if (hook === undefined) return { outcome: undefined }
    const since = hook.failingSince ?? now
    // A ping or manual retry to a disabled endpoint is tried once; an enabled endpoint is retried until it
    // has been failing for disableAfterMs, and then disabled.
    const giveUp = hook.enabled !== 1 || now - since >= policy.disableAfterMs
    const next = giveUp ? null : now + policy.backoff(d.attempts + 1)
    if (failed.run(giveUp ? 'failed' : 'pending', now, result.statusCode, result.error, next, now, d.id, owner).changes === 0) return { outcome: undefined }
    const outcome = giveUp ? 'gave-up' : 'failed'
    if (hook.enabled !== 1) return { outcome }
    failing.run(now, d.webhookId)
    if (giveUp) disable.run(now, `failing since ${toIso(since)}; last error: ${result.error ?? 'unknown'}`, now, d.webhookId)
    return { outcome }
  })
  // Deliveries waiting for enabled webhooks: per webhook, a range of webhook_deliveries_queue_idx.
  const waiting = c.prepare<[], { pending: number, oldest: number | null }>(
    `SELECT count(*) AS pending, min(d.created_at) AS oldest FROM webhooks w
     JOIN webhook_deliveries d ON d.webhook_id = w.id AND d.status = 'pending' WHERE w.enabled = 1`)
  const release = c.prepare<[number, string]>('UPDATE webhook_deliveries SET lease_until = NULL, lease_owner = NULL WHERE id = ? AND lease_owner = ?')

  const ping = c.transaction((webhookId: number, now: number): number => {
    const { lastInsertRowid: seq } = insertEvent.run(newEventId(), PING, now, JSON.stringify({ webhookId }), webhookId)
    return Number(insertDelivery.run(webhookId, Number(seq), 0, now, now, now).lastInsertRowid)
  })

  return {
    // --- Endpoints -------------------------------------------------------------------------------------

    /** A new webhook receives the events recorded from now on. */
    async create (write: WebhookWrite, encryptedSecret: string, now: number): Promise<WebhookRow> {
      return db.transaction((tx) => tx.insert(webhooks).values({
        url: write.url,
        events: JSON.stringify(write.events),
        description: write.description,
        secret: encryptedSecret,
        cursor: maxSeq.get() ?? 0,
        createdAt: now,
        updatedAt: now
      }).returning().get(), { behavior: 'immediate' })
    },

    async findById (id: number): Promise<WebhookRow | undefined> {
      return byId.get({ id })
    },

    async list (p: { afterId: number | undefined, limit: number }): Promise<WebhookRow[]> {
      return db.select().from(webhooks).where(p.afterId === undefined ? undefined : gt(webhooks.id, p.afterId))
        .orderBy(asc(webhooks.id)).limit(p.limit + 1).all()
    },

    async count (): Promise<number> {
      return db.select({ n: count() }).from(webhooks).get()?.n ?? 0
    },

    /**
     * Changes a webhook. Enabling a disabled one clears its failures and makes its waiting deliveries due
     * now; disabling one records when and why. StaleRead when `unchanged` says it changed since `current` was read.
     */
    async update (current: WebhookRow, write: WebhookWrite & { enabled: boolean }, now: number, unchanged: (fresh: WebhookRow) => boolean): Promise<WebhookRow> {
      return db.transaction((tx) => {
        stillCurrent(current.id, unchanged)
        const set: Partial<typeof webhooks.$inferInsert> = {
          url: write.url, events: JSON.stringify(write.events), description: write.description, enabled: write.enabled, updatedAt: now
        }
        if (write.enabled && !current.enabled) {
          Object.assign(set, { disabledAt: null, disabledReason: null, failingSince: null })
          tx.update(webhookDeliveries).set({ nextAttemptAt: now })
            .where(and(eq(webhookDeliveries.webhookId, current.id), eq(webhookDeliveries.status, 'pending'))).run()
        } else if (!write.enabled && current.enabled) {
          Object.assign(set, { disabledAt: now, disabledReason: 'disabled by an admin' })
        }
        return tx.update(webhooks).set(set).where(eq(webhooks.id, current.id)).returning().get()!
      }, IMMEDIATE)
    },

    /** Deletes the webhook with its deliveries; StaleRead as for update. */
    async delete (current: WebhookRow, unchanged: (fresh: WebhookRow) => boolean): Promise<void> {
      db.transaction((tx) => {
        stillCurrent(current.id, unchanged)
        tx.delete(webhooks).where(eq(webhooks.id, current.id)).run()
      }, IMMEDIATE)
    },

    /**
     * A new secret; the one it replaces (as it stands in the transaction) keeps signing beside it until
     * `previousExpiresAt`. StaleRead as for update.
     */
    async rotateSecret (current: WebhookRow, encryptedSecret: string, previousExpiresAt: number, now: number, unchanged: (fresh: WebhookRow) => boolean): Promise<WebhookRow> {
      return db.transaction((tx) => {
        const fresh = stillCurrent(current.id, unchanged)
        return tx.update(webhooks).set({ secret: encryptedSecret, previousSecret: fresh.secret, previousSecretExpiresAt: previousExpiresAt, updatedAt: now })
          .where(eq(webhooks.id, current.id)).returning().get()!
      }, IMMEDIATE)
    },

    /** Every stored secret, for re-encryption under a new key at start. */
    async storedSecrets (): Promise<{ id: number, secret: string, previousSecret: string | null }[]> {
      return db.select({ id: webhooks.id, secret: webhooks.secret, previousSecret: webhooks.previousSecret }).from(webhooks).all()
    },

    async replaceSecrets (rows: { id: number, secret: string, previousSecret: string | null }[]): Promise<void> {
      db.transaction((tx) => {
        for (const row of rows) tx.update(webhooks).set({ secret: row.secret, previousSecret: row.previousSecret }).where(eq(webhooks.id, row.id)).run()
      })
    },

    // --- Deliveries --------------------------------------------------------------------------------------

    /** A webhook's deliveries, newest first. */
    async deliveries (webhookId: number, p: { beforeId: number | undefined, limit: number, status: string | undefined }): Promise<DeliveryView[]> {
      const before = p.beforeId ?? Number.MAX_SAFE_INTEGER
      const rows = p.status === undefined
        ? deliveryLog.all(webhookId, before, p.limit + 1)
        : deliveryLogOfStatus.all(webhookId, before, p.status, p.limit + 1)
      return rows.map((r) => fromRaw(r)!)
    },

    async findDelivery (webhookId: number, deliveryId: number): Promise<DeliveryView | undefined> {
      return fromRaw(deliveryById.get(webhookId, deliveryId))
    },

    /**
     * Sends a delivery again now. A pending one is made due now, keeping its place in the queue (one being
     * attempted at this moment is left to finish). A finished one (succeeded, or failed) is sent again as a
     * new delivery of the same event, out of turn: the log keeps the first one as it ended.
     */
    async retryDelivery (d: DeliveryView, now: number): Promise<DeliveryView> {
      if (d.status === 'pending') {
        db.update(webhookDeliveries).set({ nextAttemptAt: now, updatedAt: now }).where(eq(webhookDeliveries.id, d.id)).run()
        return (await this.findDelivery(d.webhookId, d.id))!
      }
      const id = Number(insertDelivery.run(d.webhookId, d.eventSeq, 0, now, now, now).lastInsertRowid)
      return (await this.findDelivery(d.webhookId, id))!
    },

    /** A webhook.ping event for this webhook only, and its delivery, due now and out of turn. */
    async ping (webhookId: number, now: number): Promise<DeliveryView> {
      const id = ping.immediate(webhookId, now)
      return (await this.findDelivery(webhookId, id))!
    },

    // --- The dispatcher's side -----------------------------------------------------------------------------

    async any (): Promise<boolean> {
      return anyWebhook.get() === 1
    },

    /** Turns new events into deliveries for the webhooks subscribed to them; returns how many were made. */
    async fanOut (now: number): Promise<number> {
      return anyBehind.get() === 1 ? declareWrite(db, NO_PUBLIC_KEYS, () => fanOut.immediate(now)) : 0
    },

    /**
     * Leases the deliveries that may go now: the head of each enabled webhook's queue (unless this process
     * is already sending one of its deliveries: `busy`), and due pings and out-of-turn retries.
     */
    async claim (now: number, owner: string, leaseMs: number, busy: ReadonlySet<number>): Promise<ClaimedDelivery[]> {
      // Looked for without the write lock first: an idle round takes no lock.
      return claimable(now, busy).length === 0 ? [] : declareWrite(db, NO_PUBLIC_KEYS, () => claim.immediate(now, owner, now + leaseMs, busy))
    },

    /**
     * Records an attempt: done, or scheduled again with backoff, or given up (and the endpoint disabled).
     * After a success, leases and returns the webhook's next delivery if it may go now.
     */
    async complete (d: ClaimedDelivery, result: AttemptResult, owner: string, now: number, policy: RetryPolicy & { leaseMs: number }): Promise<{ outcome: AttemptOutcome, next?: ClaimedDelivery }> {
      return declareWrite(db, NO_PUBLIC_KEYS, () => complete.immediate(d, result, owner, now, policy, now + policy.leaseMs))
    },

    /** The backlog, for the metrics: deliveries waiting for enabled webhooks, and when the oldest was queued. */
    async backlog (): Promise<{ pending: number, oldest: number | null }> {
      return waiting.get()!
    },

    /** Gives leased deliveries back unsent (shutting down): the next start, or another process, sends them. */
    async release (ids: number[], owner: string): Promise<void> {
      declareWrite(db, NO_PUBLIC_KEYS, () => c.transaction(() => { for (const id of ids) release.run(id, owner) })())
    }
  }
}

export type WebhookRepository = ReturnType<typeof webhookRepository>
