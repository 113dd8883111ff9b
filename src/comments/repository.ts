// The comments' SQL. Every write that can change how many approved comments an article has updates
// articles.comment_count in the same transaction, so the count cannot drift from the comments: a new
// comment adds one when it is approved (and changes nothing when it is not), moderation and deletion
// recount. The article's revision and updatedAt stay as they are: a comment is not an edit of the article.
// Each write records its events (comment.submitted, .approved, .edited, .removed) in the same transaction;
// comment events describe what the public sees, so only comments of articles the public can see (the
// article is announced) produce them.
//
// Posting a comment is the hot write, so its statements are prepared once on the raw client and run in one
// better-sqlite3 transaction made once: raw SQL on purpose, Drizzle's prepared statements doing the same job
// cost more per comment (measured: bench/README.md#comment-insert).
import { and, asc, count, eq, getTableColumns, gt, inArray, sql, type SQL } from 'drizzle-orm'
import { IMMEDIATE, type Db } from '../db/connection.js'
import { StatementCache } from '../db/statement-cache.js'
import { onDriver } from '../db/driver-statement.js'
import { groupCommit } from '../db/group-commit.js'
import { commentWriteKeys, declareWrite } from '../db/change-clock.js'
import { StaleRead } from '../http/errors.js'
import { articles, commentReports, comments } from '../db/schema.js'
import { after, orderBy, type KeysetOrder } from '../db/keyset.js'
import type { CursorKey } from '../db/keyset.js'
import { toIso } from '../http/time.js'
import { publicAtSql, type Visibility } from '../articles/visibility.js'
import type { ArticleStatus } from '../articles/status.js'
import type { CommentEvents } from './events.js'
import type { COMMENT_QUEUE_SORTS, CommentStatus, ModeratedComment, PublicComment } from './schemas.js'

export type CommentRow = typeof comments.$inferSelect

/** What posting a comment needs to know about its article: no body, no other columns. */
export interface CommentTarget {
  id: number
  slug: string
  status: ArticleStatus
  publishedAt: number | null
  commentsOpen: boolean
}
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

/** A comment with what the routes need to know about its article. */
export interface CommentRecord extends CommentRow {
  articleSlug: string
  articleStatus: ArticleStatus
  articlePublishedAt: number | null
  articleCommentsOpen: boolean
}

/**
 * A comment's fields the public never sees: its author's email, IP and user agent, its reports (moderators
 * see these), the hash of its edit token (no one does).
 */
export const PRIVATE_FIELDS = ['authorEmail', 'ip', 'userAgent', 'editTokenHash', 'reportCount'] as const satisfies ReadonlyArray<keyof CommentRecord>

/** A comment as the public's thread reads it (publicThread): its private fields are not even selected. */
export type PublicCommentRecord = Omit<CommentRecord, typeof PRIVATE_FIELDS[number]>

/** `fields` without the comment's private ones (PRIVATE_FIELDS): what a public thread page selects. */
export function publicFields<F extends Record<string, unknown>> (fields: F): Omit<F, typeof PRIVATE_FIELDS[number]> {
  const kept: Record<string, unknown> = { ...fields }
  for (const name of PRIVATE_FIELDS) delete kept[name]
  return kept as Omit<F, typeof PRIVATE_FIELDS[number]>
}

/**
 * `COMMENT_MODERATION=first`'s status for a new comment: approved when `ifKnown` (its author's email,
 * normalised) already has an approved comment, else pending. The repository decides it inside the write's
 * transaction, with the write: no approval or erasure lands in between, and PostgreSQL asks it in a
 * statement the write sends anyway.
 */
export interface FirstCommentRule { ifKnown: string }

export interface CommentWrite {
  articleId: number
  parentId: number | null
  authorName: string
  authorEmail: string
  authorUrl: string | null
  avatarHash: string
  body: string
  bodyHtml: string
  /** The status, or the rule that decides it in the write's transaction. */
  status: CommentStatus | FirstCommentRule
  ip: string | null
  userAgent: string | null
  /** SHA-256 of the author's edit token, or null when none was issued. */
  editTokenHash: string | null
}

/** What a moderator's or an author's change sets. */
export interface CommentChange {
  status?: CommentStatus
  body?: string
  bodyHtml?: string
  edited?: boolean
}

export type CommentQueueSort = typeof COMMENT_QUEUE_SORTS[number]

export interface CommentListParams {
  articleId: number | undefined
  /** Only comments of articles the caller may see (src/articles/visibility.ts); null: every article. */
  visibility: Visibility
  /** undefined: every status. */
  statuses: CommentStatus[] | undefined
  sort: CommentQueueSort
  after: CursorKey | undefined
  limit: number
  withTotal: boolean
}

const isTombstone = (row: Pick<CommentRow, 'status'>): boolean => row.status === 'deleted'

/** The public shape, field by field: nothing private can slip in through a spread. */
export function toComment (row: PublicCommentRecord): PublicComment {
  const tomb = isTombstone(row)
  return {
    id: row.id,
    articleSlug: row.articleSlug,
    parentId: row.parentId,
    authorName: tomb ? null : row.authorName,
    authorUrl: tomb ? null : row.authorUrl,
    avatarHash: tomb ? null : row.avatarHash,
    body: row.body,
    bodyHtml: row.bodyHtml,
    status: row.status,
    edited: row.edited,
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt)
  }
}

export function toModeratedComment (row: CommentRecord): ModeratedComment {
  return {
    ...toComment(row),
    authorEmail: isTombstone(row) ? null : row.authorEmail,
    ip: row.ip,
    userAgent: row.userAgent,
    reportCount: row.reportCount
  }
}

/** The cursor key of a comment in a list sorted by `sort`, and how many parts it has. */
export const keyOfSort = (sort: CommentQueueSort) => (row: CommentRow): CursorKey =>
  sort === '-reportCount' ? [row.reportCount, row.createdAt, row.id] : [row.createdAt, row.id]

/** `keys`, which must name every field of T: a field left out is a compile error. */
export const everyKey = <T>() => <const K extends ReadonlyArray<keyof T & string>>(
  keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> })): K => keys

/**
 * Every field of a comment's target, compared by targetUnchanged: a field added to CommentTarget must be
 * added here (a compile error otherwise), since a process (on either engine) may start a comment from a
 * target it remembers (reusableTargets) and relies on this check to find out it changed.
 */
const TARGET_FIELDS = everyKey<CommentTarget>()(['id', 'slug', 'status', 'publishedAt', 'commentsOpen'])

/**
 * Inside a comment's write: whether its article is still as it was read when the comment was checked
 * (visible, open); if not, the caller checks again (StaleRead).
 */
export const targetUnchanged = (fresh: CommentTarget | undefined, article: CommentTarget): boolean =>
  fresh !== undefined && TARGET_FIELDS.every((field) => fresh[field] === article[field])

/**
 * How many articles' comment targets a process keeps (reusableTargets): a few hundred bytes each. A comment
 * to one of them skips its article's lookup by slug.
 */
export const REUSABLE_TARGETS = 4096

/**
 * The articles that took comments when last read, by slug (CommentRepository.reusableTarget), newest read
 * last: at most REUSABLE_TARGETS, the one read longest ago dropped first. Nothing invalidates an entry, and
 * nothing needs to: it only starts a comment's write, which checks the article again inside its transaction
 * (targetUnchanged: StaleRead), and the route decides every other answer from a fresh read
 * (./routes.ts). A fresh read (`read`) replaces the entry, or drops it when the article no longer takes
 * comments. Both adapters keep one: PostgreSQL's lookup is a round trip; SQLite's reads the article's
 * status, date and comments_open from its row's overflow pages, behind the body (22 µs against 12 µs
 * from an index, bench/README.md, "Session 34").
 */
export function reusableTargets (): { read: (slug: string, target: CommentTarget | undefined) => void, get: (slug: string) => CommentTarget | undefined } {
  const reusable = new Map<string, CommentTarget>()
  return {
    read (slug, target) {
      reusable.delete(slug)
      if (target?.status === 'published' && target.commentsOpen) {
        reusable.set(slug, target)
        if (reusable.size > REUSABLE_TARGETS) reusable.delete(reusable.keys().next().value!)
      }
    },
    get: (slug) => reusable.get(slug)
  }
}

/** Inside a comment's write: whether its parent is still an approved comment of the same article. */
export const parentFits = (parent: { articleId: number, status: CommentStatus } | undefined, articleId: number): boolean =>
  parent !== undefined && parent.articleId === articleId && parent.status === 'approved'

/** A new comment as written: its status decided. */
export type WrittenComment = Omit<CommentWrite, 'status'> & { status: CommentStatus }

/** The write with its status decided; `known`: whether the rule's email has an approved comment (asked only under the rule). */
export const decided = (w: CommentWrite, known: boolean): WrittenComment =>
  ({ ...w, status: typeof w.status === 'string' ? w.status : known ? 'approved' : 'pending' })

/** A new comment's record, built from what was written (every column is given, none has a default or a trigger), not read back. */
export const newRecord = (article: CommentTarget, w: WrittenComment, id: number, now: number): CommentRecord => ({
  id,
  ...w,
  edited: false,
  reportCount: 0,
  createdAt: now,
  updatedAt: now,
  articleSlug: article.slug,
  articleStatus: article.status,
  articlePublishedAt: article.publishedAt,
  articleCommentsOpen: article.commentsOpen
})

/** What a deleted comment with replies keeps: nothing its author gave (deleteComment). */
export const tombstone = (now: number) => ({
  status: 'deleted' as const,
  body: '',
  bodyHtml: '',
  authorName: '',
  authorEmail: '',
  authorUrl: null,
  avatarHash: '',
  ip: null,
  userAgent: null,
  editTokenHash: null,
  edited: false,
  reportCount: 0,
  updatedAt: now
})

/** The queue by reports' two parts (see mostReported): whether to read the reported ones, and the unreported ones' bound. */
export const reportedPhases = (cursor: CursorKey | undefined): { reported: boolean, unreportedAfter: boolean } => ({
  reported: cursor === undefined || Number(cursor[0]) > 0,
  unreportedAfter: cursor !== undefined && Number(cursor[0]) === 0
})

/**
 * A page's columns: the comment's and its article's slug. The article's status, date and whether it takes
 * comments lie behind its body in the row's overflow pages; selected with every comment, SQLite read them
 * again for each row (a page of 100 comments: 461 µs, against 282 without them), so a page reads them
 * once per article instead (`withArticleFacts` below).
 */
const pageColumns = { ...getTableColumns(comments), articleSlug: articles.slug }
type PageRow = CommentRow & { articleSlug: string }
/** The public's page columns: pageColumns without PRIVATE_FIELDS (see publicThread). */
const publicPageColumns = publicFields(pageColumns)
/** What withArticleFacts adds to a page's rows. */
type ArticleFact = 'articleStatus' | 'articlePublishedAt' | 'articleCommentsOpen'
/** One comment's columns, its article's facts among them (a single row reads them once anyway). */
const columns = { ...pageColumns, articleStatus: articles.status, articlePublishedAt: articles.publishedAt, articleCommentsOpen: articles.commentsOpen }

const order = (sort: 'createdAt' | '-createdAt'): KeysetOrder =>
  ({ column: comments.createdAt, tie: comments.id, descending: sort === '-createdAt', nullable: false })

/** Sets an article's commentCount to its approved comments, inside the caller's transaction. */
export function recountComments (db: Db | Tx, articleId: number): void {
  db.run(sql`UPDATE articles SET comment_count = (SELECT count(*) FROM comments WHERE article_id = ${articleId} AND status = 'approved') WHERE id = ${articleId}`)
}

const hasReplies = (db: Db | Tx, id: number): boolean =>
  db.select({ id: comments.id }).from(comments).where(eq(comments.parentId, id)).limit(1).get() !== undefined

/**
 * Deletes a comment inside the caller's transaction (the article's count is the caller's to recount).
 * One with replies stays as a tombstone, everything its author gave erased, so the thread keeps its
 * shape; one without is removed, with each tombstone above it left without replies.
 */
export function deleteComment (db: Db | Tx, row: CommentRow, now: number): 'tombstone' | 'removed' {
  if (hasReplies(db, row.id)) {
    db.update(comments).set(tombstone(now)).where(eq(comments.id, row.id)).run()
    // Reports name a comment that is gone from public view; their reporters are other people.
    db.delete(commentReports).where(eq(commentReports.commentId, row.id)).run()
    return 'tombstone'
  }
  db.delete(comments).where(eq(comments.id, row.id)).run()
  let parentId = row.parentId
  while (parentId !== null) {
    const parent = db.select().from(comments).where(eq(comments.id, parentId)).get()
    if (!parent || parent.status !== 'deleted' || hasReplies(db, parent.id)) break
    db.delete(comments).where(eq(comments.id, parent.id)).run()
    parentId = parent.parentId
  }
  return 'removed'
}

/** A comment to insert, as create() is given it (both adapters). */
export interface NewComment {
  article: CommentTarget
  write: CommentWrite
  now: number
}

export function commentRepository (db: Db, events: CommentEvents) {
  const select = () => db.select(columns).from(comments).innerJoin(articles, eq(articles.id, comments.articleId))
  const selectPage = () => db.select(pageColumns).from(comments).innerJoin(articles, eq(articles.id, comments.articleId))
  const selectPublicPage = () => db.select(publicPageColumns).from(comments).innerJoin(articles, eq(articles.id, comments.articleId))
  const byId = select().where(eq(comments.id, sql.placeholder('id'))).prepare()
  // Matches the expression index comments_email_status_idx. Ids start at 1: `id <> 0` excludes nothing.
  const approvedByEmail = db.$client.prepare<[string, number], { found: number }>(
    "SELECT 1 AS found FROM comments WHERE lower(author_email) = lower(?) AND status = 'approved' AND id <> ? LIMIT 1")

  const remembered = reusableTargets()
  const targetBySlug = db.$client.prepare<[string], Omit<CommentTarget, 'commentsOpen'> & { commentsOpen: number }>(
    'SELECT id, slug, status, published_at AS publishedAt, comments_open AS commentsOpen FROM articles WHERE slug = ?')
  const targetById = db.$client.prepare<[number], Omit<CommentTarget, 'commentsOpen'> & { commentsOpen: number }>(
    'SELECT id, slug, status, published_at AS publishedAt, comments_open AS commentsOpen FROM articles WHERE id = ?')
  const parentOf = db.$client.prepare<[number], { articleId: number, status: CommentStatus }>(
    'SELECT article_id AS articleId, status FROM comments WHERE id = ?')
  const insert = db.$client.prepare<[number, number | null, string, string, string | null, string, string, string, CommentStatus, string | null, string | null, string | null, number, number]>(
    `INSERT INTO comments (article_id, parent_id, author_name, author_email, author_url, avatar_hash, body, body_html, status, ip, user_agent, edit_token_hash, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const countOneMore = db.$client.prepare<[number]>('UPDATE articles SET comment_count = comment_count + 1 WHERE id = ?')
  // The article and the parent were checked before (visible, open, an approved parent on it); inside the
  // transaction they must still be as they were read, or the caller checks again (StaleRead). The comments
  // posted in one turn of the event loop commit together, each in a savepoint (src/db/group-commit.ts).
  const insertComment = groupCommit(db, ({ article }: NewComment) => commentWriteKeys(article.id), ({ article, write, now }: NewComment): CommentRecord => {
    // First, so that the log shows the article's publication before a comment on it.
    events.announceDue(now)
    const fresh = targetById.get(article.id)
    if (!targetUnchanged(fresh && { ...fresh, commentsOpen: fresh.commentsOpen !== 0 }, article)) throw new StaleRead()
    if (write.parentId !== null && !parentFits(parentOf.get(write.parentId), article.id)) throw new StaleRead()
    const w = decided(write, typeof write.status !== 'string' && approvedByEmail.get(write.status.ifKnown, 0) !== undefined)
    const { lastInsertRowid } = insert.run(w.articleId, w.parentId, w.authorName, w.authorEmail, w.authorUrl, w.avatarHash,
      w.body, w.bodyHtml, w.status, w.ip, w.userAgent, w.editTokenHash, now, now)
    // Only an approved comment is counted; the count was right before, so one more keeps it right.
    if (w.status === 'approved') countOneMore.run(w.articleId)
    const record = newRecord(article, w, Number(lastInsertRowid), now)
    events.created(record, now)
    return record
  })

  const reload = (id: number): CommentRecord => byId.get({ id })!

  /** Inside a write's transaction: the comment as it stands; StaleRead when it changed since it was read (writeIfMatch). */
  function stillCurrent (id: number, unchanged: (fresh: CommentRecord) => boolean): CommentRecord {
    const fresh = byId.get({ id })
    if (fresh === undefined || !unchanged(fresh)) throw new StaleRead()
    return fresh
  }

  /**
   * The queue by reports: reported comments first, most reported first, through the partial indexes of
   * reported comments; then the unreported ones, through the date indexes. Both newest first within a
   * count. `limit + 1` rows after the cursor key [reportCount, createdAt, id], in one snapshot.
   */
  const mostReported = db.$client.transaction((where: SQL | undefined, cursor: CursorKey | undefined, limit: number): CommentRecord[] => {
    const [reports, createdAt, id] = cursor ?? []
    const newest = [sql`${comments.createdAt} DESC`, sql`${comments.id} DESC`]
    const rows: PageRow[] = []
    const phases = reportedPhases(cursor)
    if (phases.reported) {
      const bound = cursor && sql`(${comments.reportCount}, ${comments.createdAt}, ${comments.id}) < (${reports}, ${createdAt}, ${id})`
      rows.push(...selectPage().where(and(where, sql`${comments.reportCount} > 0`, bound))
        .orderBy(sql`${comments.reportCount} DESC`, ...newest).limit(limit + 1).all())
    }
    if (rows.length <= limit) {
      const bound = phases.unreportedAfter ? sql`(${comments.createdAt}, ${comments.id}) < (${createdAt}, ${id})` : undefined
      rows.push(...selectPage().where(and(where, sql`${comments.reportCount} = 0`, bound))
        .orderBy(...newest).limit(limit + 1 - rows.length).all())
    }
    return withArticleFacts(rows)
  })

  /** The filters of a list, values inline (the total and the queue by reports, which are rare). */
  const filtersOf = (p: CommentListParams): SQL | undefined => and(
    p.articleId === undefined ? undefined : eq(comments.articleId, p.articleId),
    p.visibility === null ? undefined : publicAtSql(p.visibility.visibleAt),
    p.statuses === undefined ? undefined : inArray(comments.status, p.statuses))

  /**
   * A page by date, prepared once per shape (src/db/statement-cache.ts): which filters, how many statuses,
   * the sort, whether a cursor; pageValues binds the rest. A thread's page is the hot read of comments.
   */
  const pages = new StatementCache<ReturnType<typeof buildPage>>(32)
  function buildPage (shape: { article: boolean, visible: boolean, statuses: number, sort: 'createdAt' | '-createdAt', after: 'none' | 'null' | 'value', fields: 'all' | 'public' }) {
    const o = order(shape.sort)
    const where = and(
      shape.article ? eq(comments.articleId, sql.placeholder('articleId')) : undefined,
      shape.visible ? publicAtSql(sql.placeholder('visibleAt')) : undefined,
      shape.statuses < 0 ? undefined : inArray(comments.status, Array.from({ length: shape.statuses }, (_, i) => sql.placeholder(`status${i}`))),
      shape.after === 'none' ? undefined : after(o, shape.after === 'null' ? null : sql.placeholder('after0'), sql.placeholder('after1')))
    const limit = sql.placeholder('limit')
    return shape.fields === 'all'
      ? onDriver<PageRow>(db, selectPage().where(where).orderBy(orderBy(o)).limit(limit), pageColumns)
      : onDriver<Omit<PageRow, typeof PRIVATE_FIELDS[number]>>(db, selectPublicPage().where(where).orderBy(orderBy(o)).limit(limit), publicPageColumns)
  }
  // The articles of a page's comments, read once each (see pageColumns).
  const articlesOf = db.$client.prepare<[string], { id: number, status: ArticleStatus, publishedAt: number | null, commentsOpen: number }>(
    'SELECT id, status, published_at AS publishedAt, comments_open AS commentsOpen FROM articles WHERE id IN (SELECT value FROM json_each(?))')
  /** Rows with their articles' facts, read once per article; inside the caller's transaction, so both are one snapshot. */
  function withArticleFacts<R extends PublicCommentRecord> (rows: Array<Omit<R, ArticleFact>>): R[] {
    const facts = new Map(articlesOf.all(JSON.stringify([...new Set(rows.map((r) => r.articleId))])).map((a) => [a.id, a]))
    // Added to the rows as they are: a copy of each (a spread) cost a page of 100 more than the columns saved.
    for (const row of rows as R[]) {
      const a = facts.get(row.articleId)!
      row.articleStatus = a.status
      row.articlePublishedAt = a.publishedAt
      row.articleCommentsOpen = a.commentsOpen !== 0
    }
    return rows as R[]
  }
  /** A page of comments with their articles' facts, in one snapshot; the public's without their private fields. */
  const page = db.$client.transaction((p: CommentListParams, sort: 'createdAt' | '-createdAt'): CommentRecord[] =>
    withArticleFacts<CommentRecord>(pageStatement(p, sort, 'all').all(pageValues(p)) as PageRow[]))
  const publicPage = db.$client.transaction((p: CommentListParams, sort: 'createdAt' | '-createdAt'): PublicCommentRecord[] =>
    withArticleFacts<PublicCommentRecord>(pageStatement(p, sort, 'public').all(pageValues(p))))
  const pageStatement = (p: CommentListParams, sort: 'createdAt' | '-createdAt', fields: 'all' | 'public') => {
    const shape = {
      article: p.articleId !== undefined,
      visible: p.visibility !== null,
      statuses: p.statuses?.length ?? -1,
      sort,
      after: p.after === undefined ? 'none' as const : (p.after[0] ?? null) === null ? 'null' as const : 'value' as const,
      fields
    }
    return pages.get(`${shape.article}|${shape.visible}|${shape.statuses}|${shape.sort}|${shape.after}|${fields}`, () => buildPage(shape))
  }
  const pageValues = (p: CommentListParams): Record<string, unknown> => {
    const values: Record<string, unknown> = { articleId: p.articleId, visibleAt: p.visibility?.visibleAt, limit: p.limit + 1 }
    p.statuses?.forEach((s, i) => { values[`status${i}`] = s })
    if (p.after !== undefined) { values.after0 = p.after[0] ?? null; values.after1 = p.after[1] ?? null }
    return values
  }

  /** How many comments a list has in all, when asked for. */
  const totalOf = (p: CommentListParams): number | undefined => !p.withTotal
    ? undefined
    : p.visibility === null
      ? db.select({ n: count() }).from(comments).where(filtersOf(p)).get()?.n ?? 0
      : db.select({ n: count() }).from(comments).innerJoin(articles, eq(articles.id, comments.articleId)).where(filtersOf(p)).get()?.n ?? 0

  return {
    /** The article a comment is posted to, by its current slug, whoever may see it (the caller decides). */
    async findTarget (slug: string): Promise<CommentTarget | undefined> {
      const row = targetBySlug.get(slug)
      const target = row && { ...row, commentsOpen: row.commentsOpen !== 0 }
      remembered.read(slug, target)
      return target
    },

    /**
     * An article that took comments when this process last read it (findTarget), by that slug, or
     * undefined: a hint that saves the lookup, never an answer (reusableTargets; the route, ./routes.ts).
     */
    reusableTarget (slug: string): CommentTarget | undefined {
      return remembered.get(slug)
    },

    async findById (id: number): Promise<CommentRecord | undefined> {
      return byId.get({ id })
    },

    /**
     * Whether this email (compared case-insensitively) already has an approved comment, other than
     * comment `except` (an edited comment is not its author's earlier approval).
     */
    async hasApprovedComment (email: string, except = 0): Promise<boolean> {
      return approvedByEmail.get(email, except) !== undefined
    },

    /**
     * Stores a new comment on `article`, as it was read; StaleRead when the article or the parent has
     * changed since. The record is built from what was written (every column is given, none has a
     * default or a trigger), not read back.
     */
    async create (article: CommentTarget, write: CommentWrite, now: number): Promise<CommentRecord> {
      // Pending or approved: one article's count and thread at most (a pending comment changes neither, but
      // dropping them costs one article's entries and no reasoning about statuses).
      return insertComment({ article, write, now })
    },

    /** StaleRead when `unchanged` says the comment changed since `current` was read. */
    async update (current: CommentRecord, set: CommentChange, now: number, unchanged: (fresh: CommentRecord) => boolean): Promise<CommentRecord> {
      return declareWrite(db, commentWriteKeys(current.articleId), () => db.transaction((tx) => {
        events.announceDue(now)
        const before = stillCurrent(current.id, unchanged)
        tx.update(comments).set({ ...set, updatedAt: now }).where(eq(comments.id, current.id)).run()
        recountComments(tx, current.articleId)
        const after = reload(current.id)
        events.changed(before, after, now)
        return after
      }, IMMEDIATE))
    },

    /**
     * Deletes a comment (see deleteComment: a tombstone when it has replies) and recounts its article.
     * StaleRead as for update.
     */
    async delete (current: CommentRecord, now: number, unchanged: (fresh: CommentRecord) => boolean): Promise<void> {
      declareWrite(db, commentWriteKeys(current.articleId), () => db.transaction((tx) => {
        events.announceDue(now)
        const before = stillCurrent(current.id, unchanged)
        events.left(before, now)
        deleteComment(tx, before, now)
        recountComments(tx, current.articleId)
      }, IMMEDIATE))
    },

    /**
     * Every comment by `email` (compared case-insensitively, through comments_email_status_idx), oldest
     * first, `limit + 1` of them after id `afterId`: for a data-subject export.
     */
    async listByEmail (email: string, afterId: number, limit: number): Promise<CommentRecord[]> {
      return select().where(and(sql`lower(${comments.authorEmail}) = lower(${email})`, gt(comments.id, afterId)))
        .orderBy(asc(comments.id)).limit(limit + 1).all()
    },

    async list (p: CommentListParams): Promise<{ rows: CommentRecord[], total?: number }> {
      const total = totalOf(p)
      if (p.sort === '-reportCount') return { rows: mostReported(filtersOf(p), p.after, p.limit), total }
      return { rows: page(p, p.sort), total }
    },

    /** A page of one article's thread as the public reads it, by date: as list, without the private fields. */
    async publicThread (p: CommentListParams & { articleId: number, sort: 'createdAt' | '-createdAt' }): Promise<{ rows: PublicCommentRecord[], total?: number }> {
      return { rows: publicPage(p, p.sort), total: totalOf(p) }
    }
  }
}

export type CommentRepository = ReturnType<typeof commentRepository>
