// Readers' reports of comments (./reports.ts, which has the rules) on PostgreSQL. One transaction per report:
// the event log's order lock first (a report that reaches the threshold writes the comment, its article's
// count and comment.removed; the lock comes before any row lock, as in every PG write: see
// ./repository.pg.ts), then `INSERT … ON CONFLICT DO NOTHING RETURNING`: no row back means this reporter had
// already reported the comment, and nothing is counted; else the count goes up by one in the same
// statement that reads it back (`UPDATE … RETURNING`), so two reports at once on two processes count two
// and exactly one of them is the one that reaches the threshold.
import { eq, sql } from 'drizzle-orm'
import { commentWriteKeys } from '../db/change-clock.js'
import { declareKeys } from '../db/pg/change-clock.js'
import type { PgDb } from '../db/pg/connection.js'
import { articles, commentReports, comments } from '../db/pg/schema.js'
import { lockEventOrder } from '../events/outbox.pg.js'
import type { CommentEventsPg } from './events.pg.js'
import { recountCommentsPg } from './repository.pg.js'
import { requeues, type ReportOutcome, type ReportReason, type ReportRepository } from './reports.js'

export function reportRepositoryPg (db: PgDb, events: CommentEventsPg): ReportRepository {
  return {
    async add (commentId: number, reporter: string, reason: ReportReason, now: number, threshold: number): Promise<ReportOutcome> {
      return db.transaction(async (tx) => {
        await lockEventOrder(tx)
        const [reported] = await tx.select({ articleId: comments.articleId }).from(comments).where(eq(comments.id, commentId))
        if (reported !== undefined) await declareKeys(tx, commentWriteKeys(reported.articleId))
        const inserted = await tx.insert(commentReports).values({ commentId, reporter, reason, createdAt: now })
          .onConflictDoNothing().returning({ commentId: commentReports.commentId })
        if (inserted.length === 0) return { counted: false, requeued: false }
        const [row] = await tx.update(comments).set({ reportCount: sql`${comments.reportCount} + 1` }).where(eq(comments.id, commentId))
          .returning({ reportCount: comments.reportCount, status: comments.status, articleId: comments.articleId })
        if (!requeues(row, threshold)) return { counted: true, requeued: false }
        // The comment leaves public view: comment.removed, if the public saw it (after due publications are
        // announced, so that the article's visibility is current).
        await events.begin(tx, now)
        const [article] = await tx.select({ slug: articles.slug }).from(articles).where(eq(articles.id, row.articleId))
        await events.left(tx, { id: commentId, articleId: row.articleId, articleSlug: article!.slug, status: row.status }, now)
        await tx.update(comments).set({ status: 'pending', updatedAt: now }).where(eq(comments.id, commentId))
        await recountCommentsPg(tx, row.articleId)
        return { counted: true, requeued: true }
      })
    }
  }
}
