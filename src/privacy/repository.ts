// The SQL of readers' rights that spans tables: erasing everything an email address left behind (the
// event log included), and clearing comments' IPs and user agents after COMMENT_PRIVATE_DAYS.
//
// Both run with SQLite's secure_delete on, so that the erased values are overwritten with zeros in the
// database file rather than left in free space, and erasure then checkpoints the WAL with TRUNCATE, so
// that older page images holding them leave the WAL file too (best effort: a reader holding an old
// snapshot can keep the checkpoint from finishing; the next one completes it).
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { desc, eq, getTableColumns, sql } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { commentWriteKeys, declareWrite } from '../db/change-clock.js'
import { articles, comments } from '../db/schema.js'
import type { CommentEvents } from '../comments/events.js'
import { deleteComment, recountComments } from '../comments/repository.js'

/** For how long, and how far apart, erasure tries its checkpoint again when it finds the lock taken. */
const TRUNCATE_RETRY_FOR_MS = 500
const TRUNCATE_RETRY_MS = 10

export interface PrivacyRepositoryOptions {
  /** The stored identity of a reporting client (src/comments/reports.ts), to unlink its reports. */
  reporterOf: (identity: string) => string
}

export interface Erasure {
  /** Comments turned into tombstones or removed. */
  erased: number
  /**
   * Whether the erased values are out of the database's files too: on SQLite, whether the WAL checkpoint
   * completed; on PostgreSQL always false, which has no such step (./repository.pg.ts says what it keeps).
   * Logged, not answered.
   */
  checkpointed: boolean
}

/** Rows a slice of the retention job changes per statement at most, so that a backlog never holds the write lock long. */
export const RETENTION_BATCH = 500

export function privacyRepository (db: Db, events: CommentEvents, opts: PrivacyRepositoryOptions) {
  const sqlite = db.$client

  // Idempotency records remember a POST's response for a day. Those of an erased author go: the stored
  // answers that contain the address (a moderator's post, an export) or their IPs and user agents in a
  // moderator's view of a comment, the records of the author's client addresses (their scope is
  // `client:<ip>`; their request hashes cover bodies with the address), and the stored 201s of the
  // erased comments (found by their Location).
  const forgetByEmail = sqlite.prepare<[string, string]>(
    'DELETE FROM idempotency_keys WHERE instr(lower(body), lower(?)) > 0 OR instr(lower(key), lower(?)) > 0')
  const forgetByOrigin = sqlite.prepare<[string]>(
    'DELETE FROM idempotency_keys WHERE instr(body, \'"userAgent":\') > 0 AND instr(body, ?) > 0')
  const forgetByScope = sqlite.prepare<[string]>('DELETE FROM idempotency_keys WHERE scope = ?')
  const forgetByLocation = sqlite.prepare<[string]>("DELETE FROM idempotency_keys WHERE headers IS NOT NULL AND json_extract(headers, '$.location') = ?")
  // Reports the author's addresses made keep counting, but no longer point at a client.
  const unlinkReporter = sqlite.prepare<[string, string]>('UPDATE comment_reports SET reporter = ? WHERE reporter = ?')

  const clearOrigins = sqlite.prepare<[number, number]>(`UPDATE comments SET ip = NULL, user_agent = NULL WHERE id IN (
    SELECT id FROM comments WHERE (ip IS NOT NULL OR user_agent IS NOT NULL) AND created_at < ? LIMIT ?)`)
  const dropReports = sqlite.prepare<[number, number]>(`DELETE FROM comment_reports WHERE rowid IN (
    SELECT rowid FROM comment_reports WHERE created_at < ? LIMIT ?)`)

  function withSecureDelete<T> (work: () => T): T {
    // The pragma reads 0, 1 or 2 but is set by name (`= 2` would mean ON).
    const previous = ['OFF', 'ON', 'FAST'][sqlite.pragma('secure_delete', { simple: true }) as number] ?? 'OFF'
    sqlite.pragma('secure_delete = ON')
    try {
      return work()
    } finally {
      sqlite.pragma(`secure_delete = ${previous}`)
    }
  }

  const eraseAll = sqlite.transaction((email: string, now: number): { erased: number, articleIds: Set<number> } => {
    events.announceDue(now)
    // Replies before the comments they answer (ids grow), so a parent whose only replies were its own
    // author's is removed rather than left as a tombstone.
    const rows = db.select({ ...getTableColumns(comments), articleSlug: articles.slug }).from(comments)
      .innerJoin(articles, eq(articles.id, comments.articleId))
      .where(sql`lower(${comments.authorEmail}) = lower(${email})`).orderBy(desc(comments.id)).all()
    const articleIds = new Set<number>()
    const origins = new Set<string>()
    for (const row of rows) {
      // A visible comment leaves public view: comment.removed, in this transaction.
      events.left(row, now)
      deleteComment(db, row, now)
      articleIds.add(row.articleId)
      if (row.ip !== null) origins.add(row.ip)
      if (row.userAgent !== null) origins.add(row.userAgent)
      forgetByLocation.run(`/v1/comments/${row.id}`)
    }
    for (const articleId of articleIds) recountComments(db, articleId)
    // The events that showed these comments (author name, body) keep only a tombstone of them.
    events.erased(rows.map((row) => row.id))
    forgetByEmail.run(email, email)
    for (const row of rows) {
      if (row.ip === null) continue
      forgetByScope.run(`client:${row.ip}`)
      unlinkReporter.run(`erased:${randomBytes(16).toString('hex')}`, opts.reporterOf(`client:${row.ip}`))
    }
    for (const value of origins) forgetByOrigin.run(value)
    return { erased: rows.length, articleIds }
  })

  /**
   * Checkpoints the WAL and empties its file. The checkpoint thread (src/db/checkpointer.ts) may hold
   * SQLite's checkpoint lock for a moment, which makes this one report busy at once: so it tries again
   * for up to TRUNCATE_RETRY_FOR_MS. A reader of another process holding an old snapshot makes a try wait
   * for busy_timeout instead (on the event loop), so no try starts after that time has passed.
   */
  async function truncateWal (): Promise<boolean> {
    const deadline = Date.now() + TRUNCATE_RETRY_FOR_MS
    for (;;) {
      const [result] = sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>
      if (result?.busy === 0) return true
      if (Date.now() >= deadline) return false
      await sleep(TRUNCATE_RETRY_MS)
    }
  }

  return {
    /**
     * Erases what `email` (compared case-insensitively) left: each of its comments becomes a tombstone
     * when it has replies and is removed otherwise, articles' comment counts follow, and the address,
     * its IPs and user agents leave the idempotency records and the reports. Each comment the public saw
     * gets a comment.removed event, and the events that carried the comments' author name and body show
     * them as tombstones (src/comments/events.ts). One transaction.
     */
    async erase (email: string, now: number): Promise<Erasure> {
      // The threads and counts of the articles the comments were on.
      const { erased } = withSecureDelete(() => declareWrite(db, (r) => [...r.articleIds].flatMap(commentWriteKeys), () => eraseAll.immediate(email, now)))
      return { erased, checkpointed: await truncateWal() }
    },

    /**
     * Clears the IP and user agent of comments posted before `before`, and forgets reports made before
     * it (their comments keep the count). Returns how many comments were cleared.
     */
    /**
     * One slice of the retention job (src/privacy/retention.ts): clears the IP and user agent of up to
     * `rows` comments older than `before`, and removes up to `rows` reports as old. The job calls it
     * until both come back short of `rows`.
     */
    async clearOrigins (before: number, rows = RETENTION_BATCH): Promise<{ comments: number, reports: number }> {
      return withSecureDelete(() => ({
        comments: clearOrigins.run(before, rows).changes,
        reports: dropReports.run(before, rows).changes
      }))
    }
  }
}

export type PrivacyRepository = ReturnType<typeof privacyRepository>
