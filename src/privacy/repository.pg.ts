// Readers' rights (./repository.ts, which says what each step is for) on PostgreSQL: erasing everything an
// email address left behind, the event log included, and clearing comments' IPs and user agents after
// COMMENT_PRIVATE_DAYS.
//
// Concurrency. An erasure is one transaction that takes the event log's order lock first (through
// events.begin, as every comment writer does: src/comments/repository.pg.ts), then locks the author's
// comments (`FOR UPDATE`) and writes. Every other comment writer waits for that lock before touching a
// row, so none runs between the erasure's read and its writes, and none can post a reply to a comment
// the erasure is removing. The retention job writes no event and takes no such lock: each batch locks
// only rows nobody else holds (`FOR UPDATE SKIP LOCKED`, as the idempotency purge), so it never waits for
// an erasure or a moderator, nor makes them wait more than one batch; a row it skipped is cleared by a
// later batch or run.
//
// Caches. Nothing is declared here, as in the other PostgreSQL adapters: every row written notifies
// `gazette_changes` at commit (migrations/pg/0003_change_notify.sql, read by src/db/pg/change-clock.ts),
// which has no keys, only an epoch, and empties the other processes' public caches; this process's empties
// before the erasure's answer leaves (src/plugins/public-cache.ts). The SQLite twin declares the threads and
// counts it touched (commentWriteKeys of each article), so only those answers go there.
//
// What PostgreSQL does with erased values: nothing like SQLite's secure_delete or a WAL checkpoint with
// TRUNCATE. A deleted or updated row stays in its table's pages as a dead tuple until VACUUM (autovacuum, or
// an operator's `VACUUM`) prunes it, and even then its bytes may stay in the page's free space until a new
// row takes that space; the WAL segments hold the old values until they are recycled, and so do WAL
// archives, replicas' WAL and base backups for as long as they are kept. The erasure runs no VACUUM of its
// own: VACUUM cannot run inside the erasure's transaction, would scan four tables on every request, and
// would still not promise the bytes are overwritten. So `checkpointed` is always false here: the erased
// values are out of every table the database answers from, not out of its files (README.md, Privacy).
import { randomBytes } from 'node:crypto'
import { and, desc, eq, getTableColumns, inArray, isNotNull, or, sql } from 'drizzle-orm'
import { commentWriteKeys } from '../db/change-clock.js'
import { declareKeys } from '../db/pg/change-clock.js'
import type { PgDb, PgTx } from '../db/pg/connection.js'
import { articles, commentReports, comments, idempotencyKeys } from '../db/pg/schema.js'
import type { CommentEventsPg } from '../comments/events.pg.js'
import { deleteCommentPg, recountCommentsPg } from '../comments/repository.pg.js'
import { RETENTION_BATCH, type Erasure, type PrivacyRepository, type PrivacyRepositoryOptions } from './repository.js'

/** Rows a statement changed (node-postgres' rowCount; null for statements that change none). */
const changed = (result: { rowCount: number | null }): number => result.rowCount ?? 0

/**
 * The idempotency records of an erased author (./repository.ts says which and why): the stored answers
 * holding the address or, in a moderator's view, its IPs and user agents; the records filed under its
 * client addresses; and the stored 201s of the erased comments, found by their Location.
 */
async function forgetRequests (tx: PgTx, email: string, ids: readonly number[], ips: ReadonlySet<string>, origins: ReadonlySet<string>): Promise<void> {
  const k = idempotencyKeys
  await tx.delete(k).where(or(sql`strpos(lower(${k.body}), lower(${email})) > 0`, sql`strpos(lower(${k.key}), lower(${email})) > 0`))
  if (ids.length > 0) {
    await tx.delete(k).where(and(isNotNull(k.headers), inArray(sql`(${k.headers}::jsonb ->> 'location')`, ids.map((id) => `/v1/comments/${id}`))))
  }
  if (ips.size > 0) await tx.delete(k).where(inArray(k.scope, [...ips].map((ip) => `client:${ip}`)))
  for (const value of origins) {
    await tx.delete(k).where(sql`strpos(${k.body}, '"userAgent":') > 0 AND strpos(${k.body}, ${value}) > 0`)
  }
}

export function privacyRepositoryPg (db: PgDb, events: CommentEventsPg, opts: PrivacyRepositoryOptions): PrivacyRepository {
  return {
    /** As ./repository.ts's erase, in one PostgreSQL transaction; `checkpointed` is false (see above). */
    async erase (email: string, now: number): Promise<Erasure> {
      const erased = await db.transaction(async (tx) => {
        // The event log's order lock, then due publications announced (so `announced` is current for
        // comment.removed), before any row lock.
        await events.begin(tx, now)
        // Replies before the comments they answer (ids grow), so a parent whose only replies were its own
        // author's is removed rather than left as a tombstone.
        const rows = await tx.select({ ...getTableColumns(comments), articleSlug: articles.slug }).from(comments)
          .innerJoin(articles, eq(articles.id, comments.articleId))
          .where(sql`lower(${comments.authorEmail}) = lower(${email})`).orderBy(desc(comments.id))
          .for('update', { of: comments })
        // As on SQLite: the threads and counts of the articles commented on; nothing else public changes.
        await declareKeys(tx, [...new Set(rows.map((row) => row.articleId))].flatMap(commentWriteKeys))
        const articleIds = new Set<number>()
        const ips = new Set<string>()
        const origins = new Set<string>()
        for (const row of rows) {
          // A visible comment leaves public view: comment.removed, in this transaction.
          await events.left(tx, row, now)
          await deleteCommentPg(tx, row, now)
          articleIds.add(row.articleId)
          if (row.ip !== null) {
            ips.add(row.ip)
            origins.add(row.ip)
          }
          if (row.userAgent !== null) origins.add(row.userAgent)
        }
        for (const articleId of articleIds) await recountCommentsPg(tx, articleId)
        // The events that showed these comments (author name, body) keep only a tombstone of them.
        await events.erased(tx, rows.map((row) => row.id))
        await forgetRequests(tx, email, rows.map((row) => row.id), ips, origins)
        // Reports the author's addresses made keep counting, but no longer point at a client.
        for (const ip of ips) {
          await tx.update(commentReports).set({ reporter: `erased:${randomBytes(16).toString('hex')}` })
            .where(eq(commentReports.reporter, opts.reporterOf(`client:${ip}`)))
        }
        return rows.length
      })
      return { erased, checkpointed: false }
    },

    /** As ./repository.ts's clearOrigins: one slice, each table's rows in a statement of its own. */
    async clearOrigins (before: number, rows = RETENTION_BATCH): Promise<{ comments: number, reports: number }> {
      // The inner read locks each row it picks, skipping those another transaction holds, so two processes
      // running the job at once clear (and count) each row once, and neither waits. It goes through
      // comments_private_created_idx, which holds only comments that still have something to clear.
      const comments = changed(await db.execute(sql`UPDATE comments SET ip = NULL, user_agent = NULL
        WHERE (ip IS NOT NULL OR user_agent IS NOT NULL) AND created_at < ${before} AND id IN (
          SELECT id FROM comments WHERE (ip IS NOT NULL OR user_agent IS NOT NULL) AND created_at < ${before}
          LIMIT ${rows} FOR UPDATE SKIP LOCKED)`))
      const reports = changed(await db.execute(sql`DELETE FROM comment_reports WHERE created_at < ${before} AND (comment_id, reporter) IN (
        SELECT comment_id, reporter FROM comment_reports WHERE created_at < ${before} LIMIT ${rows} FOR UPDATE SKIP LOCKED)`))
      return { comments, reports }
    }
  }
}
