// Readers' reports of comments. One report per client and comment: the client is known by a keyed hash
// (HMAC-SHA256 under a server secret kept in settings) of its identity, `client:<ip>` or `token:<id>`,
// so a repeat is recognised without the address being stored; without the key the hash cannot be
// checked against a guessed address, and an IPv4 address could otherwise be found by trying them all.
import { createHmac } from 'node:crypto'
import type { Db } from '../db/connection.js'
import { commentWriteKeys, declareWrite } from '../db/change-clock.js'
import type { CommentEvents } from './events.js'
import { recountComments } from './repository.js'
import type { CommentStatus, REPORT_REASONS } from './schemas.js'

export type ReportReason = typeof REPORT_REASONS[number]

export interface ReportOutcome {
  /** False for a repeat by the same client: nothing changed. */
  counted: boolean
  /** The report reached the threshold and sent the approved comment back to pending. */
  requeued: boolean
}

/**
 * Whether a counted report sends the comment back to pending: only when the count reaches the threshold,
 * so an approved comment that a moderator approved again after reviewing its reports is not sent back by
 * each further one.
 */
export const requeues = (row: { reportCount: number, status: CommentStatus } | undefined, threshold: number): row is { reportCount: number, status: CommentStatus } =>
  row !== undefined && row.status === 'approved' && row.reportCount === threshold

export function reportRepository (db: Db, events: CommentEvents) {
  const insert = db.$client.prepare<[number, string, ReportReason, number]>(
    'INSERT INTO comment_reports (comment_id, reporter, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
  const countOne = db.$client.prepare<[number], { reportCount: number, status: CommentStatus, articleId: number }>(
    'UPDATE comments SET report_count = report_count + 1 WHERE id = ? RETURNING report_count AS reportCount, status, article_id AS articleId')
  const articleOf = db.$client.prepare<[number], number>('SELECT article_id FROM comments WHERE id = ?').pluck()
  const slugOf = db.$client.prepare<[number], string>('SELECT slug FROM articles WHERE id = ?').pluck()
  const requeue = db.$client.prepare<[number, number]>("UPDATE comments SET status = 'pending', updated_at = ? WHERE id = ?")

  // The insert takes the write lock first, so the count read back is this transaction's own.
  const add = db.$client.transaction((commentId: number, reporter: string, reason: ReportReason, now: number, threshold: number): ReportOutcome => {
    if (insert.run(commentId, reporter, reason, now).changes === 0) return { counted: false, requeued: false }
    const row = countOne.get(commentId)
    if (!requeues(row, threshold)) return { counted: true, requeued: false }
    // The comment leaves public view: comment.removed, if the public saw it (after due publications are
    // announced, so that the article's visibility is current).
    events.announceDue(now)
    events.left({ id: commentId, articleId: row.articleId, articleSlug: slugOf.get(row.articleId)!, status: row.status }, now)
    requeue.run(now, commentId)
    recountComments(db, row.articleId)
    return { counted: true, requeued: true }
  })

  return {
    /** Records a report unless this reporter already reported the comment; the threshold rule applies. */
    async add (commentId: number, reporter: string, reason: ReportReason, now: number, threshold: number): Promise<ReportOutcome> {
      // A report that reaches the threshold takes the comment out of its article's thread and count.
      const articleId = articleOf.get(commentId)
      if (articleId === undefined) return add.immediate(commentId, reporter, reason, now, threshold)
      return declareWrite(db, commentWriteKeys(articleId), () => add.immediate(commentId, reporter, reason, now, threshold))
    }
  }
}

export type ReportRepository = ReturnType<typeof reportRepository>

/** The stored identity of a reporting client: a keyed hash, hex. */
export const reporterHash = (key: string, identity: string): string =>
  createHmac('sha256', key).update(identity).digest('hex')

/** Reports as routes make them: the reporter's identity hashed under the server's key, the threshold applied. */
export function reportService (repo: ReportRepository, opts: { key: string, threshold: number, now: () => number }) {
  return {
    /** How a client's identity (`client:<ip>`, `token:<id>`) is stored. */
    reporterOf: (identity: string): string => reporterHash(opts.key, identity),

    async report (commentId: number, identity: string, reason: ReportReason): Promise<ReportOutcome> {
      return repo.add(commentId, reporterHash(opts.key, identity), reason, opts.now(), opts.threshold)
    }
  }
}

export type ReportService = ReturnType<typeof reportService>
