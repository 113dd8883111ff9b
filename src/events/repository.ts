// Reading the event log, and expiring it. Events are written by the outbox (outbox.ts), inside the
// transactions of the changes they describe.
import type { Db } from '../db/connection.js'
import { toIso } from '../http/time.js'

export interface EventRow {
  seq: number
  id: string
  type: string
  occurredAt: number
  /** The event's data, as the JSON text it was recorded as. */
  data: string
}

/**
 * An event as JSON, `{ id, type, occurredAt, data }`: the body of its webhook deliveries and an item of
 * GET /v1/events. Built from the stored JSON without parsing it, the same bytes every time.
 */
export const eventJson = (row: EventRow): string =>
  `{"id":${JSON.stringify(row.id)},"type":${JSON.stringify(row.type)},"occurredAt":"${toIso(row.occurredAt)}","data":${row.data}}`

/** Expired events deleted per statement, so retention never holds the write lock for long. */
const PURGE_BATCH = 1000

export function eventRepository (db: Db) {
  const columns = 'seq, id, type, occurred_at AS occurredAt, data'
  // Pings (webhook_id set) belong to their webhook's deliveries, not to the log.
  const page = db.$client.prepare<[number, number], EventRow>(
    `SELECT ${columns} FROM events WHERE seq > ? AND webhook_id IS NULL ORDER BY seq LIMIT ?`)
  const pageOfTypes = db.$client.prepare<[number, string, number], EventRow>(
    `SELECT ${columns} FROM events WHERE seq > ? AND webhook_id IS NULL AND type IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?`)
  const bySeq = db.$client.prepare<[string], number>('SELECT seq FROM events WHERE id = ? AND webhook_id IS NULL').pluck()
  const purge = db.$client.prepare<[number, number]>(
    'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE occurred_at < ? ORDER BY occurred_at LIMIT ?)')

  return {
    /** Up to `limit` events after `afterSeq`, oldest first, of the given types (all when empty). */
    async list (p: { afterSeq: number, limit: number, types: string[] }): Promise<EventRow[]> {
      return p.types.length === 0 ? page.all(p.afterSeq, p.limit) : pageOfTypes.all(p.afterSeq, JSON.stringify(p.types), p.limit)
    },

    /** The position in the log of the event with this id, if it is (still) there. */
    async seqOf (id: string): Promise<number | undefined> {
      return bySeq.get(id)
    },

    /**
     * Deletes events recorded before `before`, with their webhook deliveries (ON DELETE CASCADE), a batch
     * per transaction; returns how many events went.
     */
    async purge (before: number): Promise<number> {
      let deleted = 0
      for (;;) {
        const { changes } = purge.run(before, PURGE_BATCH)
        deleted += changes
        if (changes < PURGE_BATCH) return deleted
        // Let requests in between batches.
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
  }
}

export type EventRepository = ReturnType<typeof eventRepository>
