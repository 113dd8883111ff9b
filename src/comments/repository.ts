// The comments' SQL. Every write that can change how many approved comments an article has updates
// articles.comment_count in the same transaction, so the count cannot drift from the comments: a new
// comment adds one when it is approved (and changes nothing when it is not), moderation and deletion
// recount. The article's revision and updatedAt stay as they are: a comment is not an edit of the article.
//
// Posting a comment is the hot write, so its statements are prepared once on the raw client (no Drizzle
// query building or SQL compilation per request) and run in one better-sqlite3 transaction made once.
import { and, count, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm'
import { IMMEDIATE, type Db } from '../db/connection.js'
import { StaleRead } from '../http/errors.js'
import { articles, comments } from '../db/schema.js'
import { after, orderBy, type KeysetOrder } from '../db/keyset.js'
import type { CursorKey } from '../http/pagination.js'
import { toIso } from '../http/time.js'
import { visibleToPublic, type Visibility } from '../articles/repository.js'
import type { CommentStatus, ModeratedComment, PublicComment } from './schemas.js'

type CommentRow = typeof comments.$inferSelect
type ArticleStatus = 'draft' | 'published' | 'archived'

/** What posting a comment needs to know about its article: no body, no other columns. */
export interface CommentTarget {
  id: number
  slug: string
  status: ArticleStatus
  publishedAt: number | null
  commentsOpen: boolean
}
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

/** A comment with what the routes need to know about its article. */
export interface CommentRecord extends CommentRow {
  articleSlug: string
  articleStatus: ArticleStatus
  articlePublishedAt: number | null
}

export interface CommentWrite {
  articleId: number
  parentId: number | null
  authorName: string
  authorEmail: string
  authorUrl: string | null
  avatarHash: string
  body: string
  bodyHtml: string
  status: CommentStatus
  ip: string | null
  userAgent: string | null
}

export interface CommentListParams {
  articleId: number | undefined
  /** Only comments of articles the caller may see (src/articles/visibility.ts); null: every article. */
  visibility: Visibility
  /** undefined: every status. */
  statuses: CommentStatus[] | undefined
  descending: boolean
  after: CursorKey | undefined
  limit: number
  withTotal: boolean
}

const isTombstone = (row: CommentRow): boolean => row.status === 'deleted'

/** The public shape, field by field: nothing private can slip in through a spread. */
export function toComment (row: CommentRecord): PublicComment {
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
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt)
  }
}

export function toModeratedComment (row: CommentRecord): ModeratedComment {
  return { ...toComment(row), authorEmail: isTombstone(row) ? null : row.authorEmail, ip: row.ip, userAgent: row.userAgent }
}

const columns = {
  ...getTableColumns(comments),
  articleSlug: articles.slug,
  articleStatus: articles.status,
  articlePublishedAt: articles.publishedAt
}

const order = (descending: boolean): KeysetOrder => ({ column: comments.createdAt, tie: comments.id, descending, nullable: false })

export function commentRepository (db: Db) {
  const select = () => db.select(columns).from(comments).innerJoin(articles, eq(articles.id, comments.articleId))
  const byId = select().where(eq(comments.id, sql.placeholder('id'))).prepare()
  // Matches the expression index comments_email_status_idx.
  const approvedByEmail = db.$client.prepare<[string], { found: number }>(
    "SELECT 1 AS found FROM comments WHERE lower(author_email) = lower(?) AND status = 'approved' LIMIT 1")
  const recountStatement = db.$client.prepare<[number, number]>(
    "UPDATE articles SET comment_count = (SELECT count(*) FROM comments WHERE article_id = ? AND status = 'approved') WHERE id = ?")
  const childCount = db.$client.prepare<[number], { n: number }>('SELECT count(*) AS n FROM comments WHERE parent_id = ?')

  const targetBySlug = db.$client.prepare<[string], Omit<CommentTarget, 'commentsOpen'> & { commentsOpen: number }>(
    'SELECT id, slug, status, published_at AS publishedAt, comments_open AS commentsOpen FROM articles WHERE slug = ?')
  const targetById = db.$client.prepare<[number], Omit<CommentTarget, 'commentsOpen'> & { commentsOpen: number }>(
    'SELECT id, slug, status, published_at AS publishedAt, comments_open AS commentsOpen FROM articles WHERE id = ?')
  const parentOf = db.$client.prepare<[number], { articleId: number, status: CommentStatus }>(
    'SELECT article_id AS articleId, status FROM comments WHERE id = ?')
  const insert = db.$client.prepare<[number, number | null, string, string, string | null, string, string, string, CommentStatus, string | null, string | null, number, number]>(
    `INSERT INTO comments (article_id, parent_id, author_name, author_email, author_url, avatar_hash, body, body_html, status, ip, user_agent, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const countOneMore = db.$client.prepare<[number]>('UPDATE articles SET comment_count = comment_count + 1 WHERE id = ?')
  // The article and the parent were checked before (visible, open, an approved parent on it); inside the
  // transaction they must still be as they were read, or the caller checks again (StaleRead).
  const insertComment = db.$client.transaction((article: CommentTarget, w: CommentWrite, now: number): number => {
    const fresh = targetById.get(article.id)
    if (fresh === undefined || fresh.slug !== article.slug || fresh.status !== article.status ||
        fresh.publishedAt !== article.publishedAt || (fresh.commentsOpen !== 0) !== article.commentsOpen) throw new StaleRead()
    if (w.parentId !== null) {
      const parent = parentOf.get(w.parentId)
      if (parent === undefined || parent.articleId !== article.id || parent.status !== 'approved') throw new StaleRead()
    }
    const { lastInsertRowid } = insert.run(w.articleId, w.parentId, w.authorName, w.authorEmail, w.authorUrl, w.avatarHash,
      w.body, w.bodyHtml, w.status, w.ip, w.userAgent, now, now)
    // Only an approved comment is counted; the count was right before, so one more keeps it right.
    if (w.status === 'approved') countOneMore.run(w.articleId)
    return Number(lastInsertRowid)
  })

  const recount = (articleId: number): void => { recountStatement.run(articleId, articleId) }
  const reload = (id: number): CommentRecord => byId.get({ id })!

  /** Inside a write's transaction: StaleRead when the comment changed since it was read (writeIfMatch). */
  function assertUnchanged (id: number, unchanged: (fresh: CommentRecord) => boolean): void {
    const fresh = byId.get({ id })
    if (fresh === undefined || !unchanged(fresh)) throw new StaleRead()
  }

  /** Removes a comment and then each tombstone above it that no longer has replies. */
  function removeUpwards (tx: Tx, row: CommentRow): void {
    tx.delete(comments).where(eq(comments.id, row.id)).run()
    let parentId = row.parentId
    while (parentId !== null) {
      const parent = tx.select().from(comments).where(eq(comments.id, parentId)).get()
      if (!parent || parent.status !== 'deleted' || childCount.get(parent.id)!.n > 0) return
      tx.delete(comments).where(eq(comments.id, parent.id)).run()
      parentId = parent.parentId
    }
  }

  return {
    /** The article a comment is posted to, by its current slug, whoever may see it (the caller decides). */
    async findTarget (slug: string): Promise<CommentTarget | undefined> {
      const row = targetBySlug.get(slug)
      return row && { ...row, commentsOpen: row.commentsOpen !== 0 }
    },

    async findById (id: number): Promise<CommentRecord | undefined> {
      return byId.get({ id })
    },

    /** Whether this email (compared case-insensitively) already has an approved comment. */
    async hasApprovedComment (email: string): Promise<boolean> {
      return approvedByEmail.get(email) !== undefined
    },

    /**
     * Stores a new comment on `article`, as it was read; StaleRead when the article or the parent has
     * changed since. The record is built from what was written (every column is given, none has a
     * default or a trigger), not read back.
     */
    async create (article: CommentTarget, write: CommentWrite, now: number): Promise<CommentRecord> {
      const id = insertComment.immediate(article, write, now)
      return {
        id,
        ...write,
        createdAt: now,
        updatedAt: now,
        articleSlug: article.slug,
        articleStatus: article.status,
        articlePublishedAt: article.publishedAt
      }
    },

    /** StaleRead when `unchanged` says the comment changed since `current` was read. */
    async update (current: CommentRecord, set: { status?: CommentStatus, body?: string, bodyHtml?: string }, now: number, unchanged: (fresh: CommentRecord) => boolean): Promise<CommentRecord> {
      db.transaction((tx) => {
        assertUnchanged(current.id, unchanged)
        tx.update(comments).set({ ...set, updatedAt: now }).where(eq(comments.id, current.id)).run()
        recount(current.articleId)
      }, IMMEDIATE)
      return reload(current.id)
    },

    /**
     * Deletes a comment. One with replies stays as a tombstone, its author's data erased, so the
     * thread keeps its shape; one without is removed, with any tombstones left without replies.
     * StaleRead as for update.
     */
    async delete (current: CommentRecord, now: number, unchanged: (fresh: CommentRecord) => boolean): Promise<void> {
      db.transaction((tx) => {
        assertUnchanged(current.id, unchanged)
        if (childCount.get(current.id)!.n > 0) {
          tx.update(comments).set({
            status: 'deleted', body: '', bodyHtml: '', authorName: '', authorEmail: '', authorUrl: null, avatarHash: '', ip: null, userAgent: null, updatedAt: now
          }).where(eq(comments.id, current.id)).run()
        } else {
          removeUpwards(tx, current)
        }
        recount(current.articleId)
      }, IMMEDIATE)
    },

    async list (p: CommentListParams): Promise<{ rows: CommentRecord[], total?: number }> {
      const filters: (SQL | undefined)[] = []
      if (p.articleId !== undefined) filters.push(eq(comments.articleId, p.articleId))
      if (p.visibility !== null) filters.push(visibleToPublic(p.visibility.visibleAt))
      if (p.statuses !== undefined) filters.push(inArray(comments.status, p.statuses))
      const where = and(...filters)
      const o = order(p.descending)
      const paged = p.after ? and(where, after(o, p.after[0] ?? null, p.after[1] ?? null)) : where
      const rows = select().where(paged).orderBy(orderBy(o)).limit(p.limit + 1).all()
      const total = !p.withTotal
        ? undefined
        : p.visibility === null
          ? db.select({ n: count() }).from(comments).where(where).get()?.n ?? 0
          : db.select({ n: count() }).from(comments).innerJoin(articles, eq(articles.id, comments.articleId)).where(where).get()?.n ?? 0
      return { rows, total }
    }
  }
}

export type CommentRepository = ReturnType<typeof commentRepository>
