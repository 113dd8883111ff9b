// Reading the event log, and expiring it (./repository.ts) on PostgreSQL. Events are written by the
// outbox (outbox.pg.ts) in seq order of commit, so a page "after seq N" never skips an event that commits later.
import { and, asc, eq, gt, inArray, isNull, sql } from 'drizzle-orm'
import type { PgDb } from '../db/pg/connection.js'
import { events } from '../db/pg/schema.js'
import type { EventRepository, EventRow } from './repository.js'

/** Expired events deleted per statement, as on SQLite. */
const PURGE_BATCH = 1000

export function eventRepositoryPg (db: PgDb): EventRepository {
  const columns = { seq: events.seq, id: events.id, type: events.type, occurredAt: events.occurredAt, data: events.data }
  // Pings (webhook_id set) belong to their webhook's deliveries, not to the log.
  const page = db.select(columns).from(events)
    .where(and(gt(events.seq, sql.placeholder('after')), isNull(events.webhookId)))
    .orderBy(asc(events.seq)).limit(sql.placeholder('limit')).prepare('events_page')
  const bySeq = db.select({ seq: events.seq }).from(events)
    .where(and(eq(events.id, sql.placeholder('id')), isNull(events.webhookId))).prepare('events_by_id')

  return {
    async list (p: { afterSeq: number, limit: number, types: string[] }): Promise<EventRow[]> {
      if (p.types.length === 0) return page.execute({ after: p.afterSeq, limit: p.limit })
      return db.select(columns).from(events)
        .where(and(gt(events.seq, p.afterSeq), isNull(events.webhookId), inArray(events.type, p.types)))
        .orderBy(asc(events.seq)).limit(p.limit)
    },

    async seqOf (id: string): Promise<number | undefined> {
      return (await bySeq.execute({ id }))[0]?.seq
    },

    /** As on SQLite: a batch per statement (each its own transaction), with their deliveries (ON DELETE CASCADE). */
    async purge (before: number): Promise<number> {
      let deleted = 0
      for (;;) {
        const { rowCount } = await db.execute(sql`DELETE FROM ${events} WHERE ${events.seq} IN
          (SELECT ${events.seq} FROM ${events} WHERE ${events.occurredAt} < ${before} ORDER BY ${events.occurredAt} LIMIT ${PURGE_BATCH})`)
        deleted += rowCount ?? 0
        if ((rowCount ?? 0) < PURGE_BATCH) return deleted
      }
    }
  }
}
