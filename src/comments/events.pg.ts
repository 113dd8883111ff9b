// The public events of comment writes (./events.ts, which has the rules) on PostgreSQL: recorded in the
// event log inside the write's own transaction, which has taken the event log's order lock first
// (src/events/outbox.pg.ts; `begin` below) and announced due publications, so `announced` is current.
import { eq } from 'drizzle-orm'
import type { PgDb, PgTx } from '../db/pg/connection.js'
import { articles } from '../db/pg/schema.js'
import { lockEventOrder, type OutboxPg, type Recorded } from '../events/outbox.pg.js'
import { dueAnnouncerPg } from '../articles/repository.pg.js'
import { approved, commentEventRules, type CommentBefore, type Emit } from './events.js'
import type { CommentRecord } from './repository.js'
import type { CommentStatus } from './schemas.js'

export function commentEventsPg (db: PgDb, outbox: OutboxPg) {
  const announceDue = dueAnnouncerPg(db, outbox)

  async function isPublic (tx: PgTx, status: CommentStatus, articleId: number): Promise<boolean> {
    if (!approved(status)) return false
    const [row] = await tx.select({ announced: articles.announced }).from(articles).where(eq(articles.id, articleId))
    return row?.announced === true
  }

  /** What the rules emit, in order. */
  function emitted (rules: (emit: Emit) => void): Recorded[] {
    const list: Recorded[] = []
    rules((type, data) => { list.push({ type, data }) })
    return list
  }

  /** Runs the rules, then records what they emitted, in order, inside `tx`. */
  async function emitAll (tx: PgTx, at: number, rules: (emit: Emit) => void): Promise<void> {
    for (const { type, data } of emitted(rules)) await outbox.record(tx, type, data, at)
  }

  return {
    /**
     * Call first in every comment write transaction: the event log's order lock (before any row lock:
     * src/articles/repository.pg.ts says why), then the due publications announced.
     */
    async begin (tx: PgTx, at: number): Promise<void> {
      await lockEventOrder(tx)
      await announceDue(tx, at)
    },

    /**
     * What `begin` does after the order lock, for a write that took the lock itself (create, in
     * ./repository.pg.ts, one statement for lock and declaration): the due publications announced.
     */
    announceDue,

    /**
     * The events of new comments, in order, as one INSERT, for the single write statement of a batch of
     * comments; `announced`: each one's article's, read inside the transaction after the due publications
     * were announced; `at`: when each was posted.
     */
    createdInsertion (created: ReadonlyArray<{ record: CommentRecord, announced: boolean, at: number }>) {
      return outbox.insertion(created.flatMap(({ record, announced, at }) =>
        emitted((emit) => { commentEventRules.created(record, approved(record.status) && announced, emit) }).map((event) => ({ ...event, at }))))
    },

    async changed (tx: PgTx, before: CommentBefore, after: CommentRecord, now: number): Promise<void> {
      const was = await isPublic(tx, before.status, before.articleId)
      const is = await isPublic(tx, after.status, after.articleId)
      await emitAll(tx, now, (emit) => { commentEventRules.changed(before, after, was, is, emit) })
    },

    async left (tx: PgTx, before: Omit<CommentBefore, 'body'>, now: number): Promise<void> {
      const was = await isPublic(tx, before.status, before.articleId)
      await emitAll(tx, now, (emit) => { commentEventRules.left(before, was, emit) })
    },

    /** As ./events.ts's erased, inside the erasure's transaction. */
    async erased (tx: PgTx, ids: readonly number[]): Promise<void> {
      await outbox.redactComments(tx, ids, commentEventRules.redacted)
    }
  }
}

export type CommentEventsPg = ReturnType<typeof commentEventsPg>
