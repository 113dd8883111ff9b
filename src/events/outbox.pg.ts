// The outbox (./outbox.ts) on PostgreSQL: events recorded inside the transaction of the change itself,
// awaited, by the PostgreSQL adapters of the repositories that write them.
//
// Commit order is seq order, as on SQLite. A poller reads "events after seq N" (GET /v1/events, the webhook
// fan-out): if two transactions took seq 7 and 8 and 8 committed first, a poller could pass 8 and never
// see 7. So a transaction takes a transaction-level advisory lock before its first event and holds it to
// its end: the next event-writing transaction gets its seq only after this one has committed (or rolled
// back: a gap that never fills, harmless). PostgreSQL makes a commit visible before it releases the
// transaction's locks, so whoever can see seq 8 can see every lower one that will ever exist. It
// serialises event-writing transactions from their first event to their commit only; SQLite serialises
// every write. (A txid column read below pg_snapshot_xmin would not do: a poller could still see seq 8
// of an older transaction while seq 7 of a younger one is in flight.) The events identity has CACHE 1, so
// seq values are handed out in the order they are asked for, whichever session asks.
import { and, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm'
import { executePrepared, type PgTx } from '../db/pg/connection.js'
import { events, webhookDeliveries } from '../db/pg/schema.js'
import { newEventId, recordedSignal } from './outbox.js'
import { unnestInsert } from '../db/pg/unnest.js'
import type { EventData, EventType } from './schemas.js'

/** Advisory lock of the event log's order ("evt"); any fixed number no other lock of Gazette uses. */
export const EVENT_LOG_LOCK = 0x657674

export interface OutboxPg {
  /** Appends an event inside `tx`, the write transaction it describes (see above for the order). */
  record: <T extends EventType>(tx: PgTx, type: T, data: EventData[T], at: number) => Promise<void>
  /**
   * The INSERT of `list`'s events, in order, each at its own time, for a write that runs it inside a
   * statement of its own (a data-modifying WITH, one round trip: src/comments/repository.pg.ts's batch of
   * comments), after lockEventOrder in the same transaction. `statement` is the same for every list (each
   * column's values bound as one array, placeholders `events_<column>`: src/db/pg/unnest.ts), `values`
   * binds them. Call `recorded` once that statement has run.
   */
  insertion: (list: readonly TimedRecord[]) => { statement: SQL, values: Record<string, unknown>, recorded: () => void }
  /** As ./outbox.ts: told (once per turn of the event loop at most) after events were recorded. */
  onRecorded: (listener: () => void) => void
  /** As ./outbox.ts's redactComments, inside the erasure's transaction; returns how many events. */
  redactComments: (tx: PgTx, ids: readonly number[], redacted: (comment: EventData['comment.approved']) => EventData['comment.approved']) => Promise<number>
}

/** An event as a write's rules emit it (src/comments/events.ts's Emit), before it is recorded. */
export interface Recorded { type: EventType, data: EventData[EventType] }
/** An event and when it happened. */
export interface TimedRecord extends Recorded { at: number }

/** Any number of events, in order, as one statement (OutboxPg's insertion). */
const EVENTS_INSERT = unnestInsert(events, ['id', 'type', 'occurredAt', 'data'], 'events_')

// Transactions holding the lock already (a drizzle transaction object lives as long as its transaction).
const held = new WeakSet<PgTx>()

/**
 * Takes the event log's order lock in `tx`, once per transaction. Whatever inserts into `events` (the
 * outbox, webhook pings) calls it first.
 */
export async function lockEventOrder (tx: PgTx): Promise<void> {
  if (held.has(tx)) return
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${EVENT_LOG_LOCK})`)
  held.add(tx)
}

/**
 * lockEventOrder, and in the same statement (one round trip) the columns of `also`: a write's key
 * declaration (src/db/pg/change-clock.ts, declaration) and ids it takes from a sequence. Nothing in `also`
 * may read rows: the statement's snapshot is taken before the lock is granted, so it would not see the
 * commit of the transaction that held the lock. Returns `also`'s columns.
 */
export async function lockEventOrderWith<T extends Record<string, unknown>> (tx: PgTx, also: SQL): Promise<T> {
  const lock = held.has(tx) ? sql`` : sql`pg_advisory_xact_lock(${EVENT_LOG_LOCK}) IS NULL AS locked, `
  const { rows } = await executePrepared<T>(tx, sql`SELECT ${lock}${also}`)
  held.add(tx)
  return rows[0] as T
}

export function outboxPg (): OutboxPg {
  // Its listeners run on the next turn of the event loop: usually after the commit, when a listener finds
  // the event; if the transaction is still running (or rolled back), it finds nothing new, which is
  // harmless, and the dispatcher's own polling sees the event later.
  const signal = recordedSignal()
  return {
    async record (tx, type, data, at) {
      await lockEventOrder(tx)
      await tx.insert(events).values({ id: newEventId(), type, occurredAt: at, data: JSON.stringify(data) })
      signal.recorded()
    },
    insertion (list) {
      const rows = list.map(({ type, data, at }) => ({ id: newEventId(), type, occurredAt: at, data: JSON.stringify(data) }))
      return { statement: EVENTS_INSERT.statement, values: EVENTS_INSERT.values(rows), recorded: signal.recorded }
    },
    onRecorded: signal.listen,
    async redactComments (tx, ids, redacted) {
      let n = 0
      for (const id of ids) {
        // Verbatim the expression and condition of events_comment_idx, so PostgreSQL seeks in it.
        const showing = await tx.select({ seq: events.seq, data: events.data }).from(events).where(and(
          inArray(events.type, ['comment.approved', 'comment.edited']),
          sql`((${events.data}::jsonb) ->> 'id') = ${String(id)}`,
          isNull(events.webhookId)
        ))
        for (const row of showing) {
          await tx.update(events).set({ data: JSON.stringify(redacted(JSON.parse(row.data) as EventData['comment.approved'])) }).where(eq(events.seq, row.seq))
          await tx.delete(webhookDeliveries).where(and(eq(webhookDeliveries.eventSeq, row.seq), eq(webhookDeliveries.status, 'pending')))
          n++
        }
      }
      return n
    }
  }
}
