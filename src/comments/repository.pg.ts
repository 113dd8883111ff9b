// The comment repository (./repository.ts) on PostgreSQL, for any number of processes on one database.
//
// Concurrency. Every comment write is one transaction that first takes the event log's
// order lock (src/events/outbox.pg.ts, through events.begin), announces due publications, and locks the rows
// it checks and writes: posting locks the article (`FOR UPDATE`, before the announcement, in the statement
// that checks whether one is due), re-checks it and the parent as they were read, inserts the comment and
// adds one to the article's comment_count under that lock. Comments posted together share such a
// transaction (group commit, below: up to MAX_BATCH, their articles locked in one statement, in the order
// of their ids); moderation, an author's edit and deletion lock the comment, compare it (If-Match), write it
// and recount the article. The order lock first, before any row lock, is what the article writers do too: a
// transaction holding it never waits for a row another writer holds, so no deadlock. Writes serialise from
// their start to their commit, as on SQLite, so the count of approved comments cannot drift however many
// processes post at once (test/pg/comments.test.ts races them). Reads never wait.
//
// The rules that are not SQL (records, the public shapes, which events, the queue by reports' two parts,
// the tombstone) are ./repository.ts's and ./events.ts's, shared by both adapters.
import { and, asc, count, eq, getTableColumns, gt, inArray, ne, sql, type SQL } from 'drizzle-orm'
import { commentWriteKeys } from '../db/change-clock.js'
import { declaration, declareKeys } from '../db/pg/change-clock.js'
import { lockEventOrderWith } from '../events/outbox.pg.js'
import { shapedStatements, type PgDb, type PgTx } from '../db/pg/connection.js'
import { unnestInsert } from '../db/pg/unnest.js'
import { driverRows, type BuiltRows } from '../db/pg/driver-rows.js'
import { StatementCache } from '../db/statement-cache.js'
import { slot } from '../db/placeholder.js'
import { articles, commentReports, comments } from '../db/pg/schema.js'
import { after, type KeysetOrder } from '../db/pg/keyset.js'
import type { CursorKey } from '../db/keyset.js'
import { PUBLIC_THREAD } from '../articles/visibility.js'
import { StaleRead } from '../http/errors.js'
import type { CommentEventsPg } from './events.pg.js'
import type { CommentStatus } from './schemas.js'
import {
  decided, everyKey, newRecord, parentFits, reportedPhases, reusableTargets, targetUnchanged, tombstone,
  type CommentListParams, type CommentRecord, type PublicCommentRecord, publicFields, type CommentRepository, type CommentRow, type CommentTarget, type CommentWrite,
  type NewComment, type WrittenComment
} from './repository.js'

/** What a comment's record says of its article. */
const articleFields = {
  articleSlug: articles.slug,
  articleStatus: articles.status,
  articlePublishedAt: articles.publishedAt,
  articleCommentsOpen: articles.commentsOpen
}
const columns = { ...getTableColumns(comments), ...articleFields }

/** The most comments one transaction writes (each holds its article's row lock until the COMMIT). */
export const MAX_BATCH = 32

/**
 * Whether an error that aborted a batch came from one comment's own statements (a constraint, a trigger,
 * bad data), rather than from the connection, a timeout or a server shutting down, which would fail any
 * comment: PostgreSQL's SQLSTATE classes 08 (connection), 53 (resources), 57 (operator intervention,
 * statement timeout) and 58 (system), or no SQLSTATE at all (the driver's own errors).
 */
function ownFailure (error: unknown): boolean {
  // Drizzle may wrap the driver's error (DrizzleQueryError): the SQLSTATE is then its cause's.
  const failed = error as { code?: unknown, cause?: { code?: unknown } } | null
  const code = failed?.code ?? failed?.cause?.code
  return typeof code === 'string' && code.length === 5 && !/^(08|53|57|58)/.test(code)
}

/** `n` new comment ids, as an array. */
const drawIds = (n: number): SQL => sql`ARRAY(SELECT nextval(pg_get_serial_sequence('comments', 'id'))::int FROM generate_series(1, ${n}))`

/** What a comment's outcome in its batch is: written, or why not. */
type Outcome = { ok: true, record: CommentRecord } | { ok: false, error: unknown }

/** A batch's comments as one INSERT (src/db/pg/unnest.ts), every field of a written comment a column; edited and report_count take their defaults. */
const COMMENTS_INSERT = unnestInsert(comments, everyKey<WrittenComment & { id: number, createdAt: number, updatedAt: number }>()(['id', 'articleId', 'parentId',
  'authorName', 'authorEmail', 'authorUrl', 'avatarHash', 'body', 'bodyHtml', 'status', 'ip', 'userAgent', 'editTokenHash', 'createdAt', 'updatedAt']), 'comment_')

/** What a batch reads of each comment's target, locked, in one statement: the article as posted to, and the parent (nulls when none). */
interface TargetRead extends CommentTarget, Record<string, unknown> {
  announced: boolean
  parentArticleId: number | null
  parentStatus: CommentRecord['status'] | null
  due: boolean
  /** Under the first-comment rule: whether the author's email has an approved comment. */
  known: boolean
}

const targetColumns = { id: articles.id, slug: articles.slug, status: articles.status, publishedAt: articles.publishedAt, commentsOpen: articles.commentsOpen }

/** The public rule (src/articles/visibility.ts) on PostgreSQL's articles table. */
const publicAt = (at: number): SQL => sql`(${articles.status} = 'published' AND ${articles.publishedAt} <= ${at})`

const order = (sort: 'createdAt' | '-createdAt'): KeysetOrder =>
  ({ column: comments.createdAt, tie: comments.id, descending: sort === '-createdAt', nullable: false })

/**
 * A page's ORDER BY. Every sort column of comments (created_at, report_count, id) is NOT NULL, so any NULL
 * place gives SQLite's order; they are written as the comments' indexes have them (ASC NULLS LAST, read
 * backwards for DESC), not as src/db/pg/keyset.ts's orderBy writes them for nullable columns: PostgreSQL
 * does not know the other place changes nothing and would sort every matching comment instead of reading
 * one index range (EXPLAIN of the queue with enable_seqscan off: ASC NULLS FIRST is a Sort over every
 * comment, ASC NULLS LAST an Index Scan of comments_created_idx; DESC NULLS FIRST a backward one).
 */
const NEWEST = [sql`${comments.createdAt} DESC NULLS FIRST`, sql`${comments.id} DESC NULLS FIRST`]
const orderBy = (o: KeysetOrder): SQL[] =>
  o.descending ? NEWEST : [sql`${comments.createdAt} ASC NULLS LAST`, sql`${comments.id} ASC NULLS LAST`]

const select = (q: PgDb | PgTx) => q.select(columns).from(comments).innerJoin(articles, eq(articles.id, comments.articleId))
/** A thread page's rows (threadPage: `columns`, read through its page's subquery), built on the driver. */
const threadRows = driverRows<CommentRecord>(columns)
/** The same for the public: without the private fields (PRIVATE_FIELDS), which it never selects. */
const publicThreadRows = driverRows<PublicCommentRecord>(publicFields(columns))
/** Thread page shapes kept built (a shape: which statuses, the order, the cursor's kind, who asks, which fields). */
const THREAD_SHAPES = 32

/** Sets an article's comment_count to its approved comments, inside the caller's transaction (as recountComments). */
export async function recountCommentsPg (tx: PgTx, articleId: number): Promise<void> {
  await tx.execute(sql`UPDATE articles SET comment_count = (SELECT count(*) FROM comments WHERE article_id = ${articleId} AND status = 'approved') WHERE id = ${articleId}`)
}

const hasReplies = async (tx: PgTx, id: number): Promise<boolean> =>
  (await tx.select({ id: comments.id }).from(comments).where(eq(comments.parentId, id)).limit(1)).length > 0

/** As ./repository.ts's deleteComment, inside the caller's transaction: a tombstone when it has replies. */
export async function deleteCommentPg (tx: PgTx, row: CommentRow, now: number): Promise<'tombstone' | 'removed'> {
  if (await hasReplies(tx, row.id)) {
    await tx.update(comments).set(tombstone(now)).where(eq(comments.id, row.id))
    // Reports name a comment that is gone from public view; their reporters are other people.
    await tx.delete(commentReports).where(eq(commentReports.commentId, row.id))
    return 'tombstone'
  }
  await tx.delete(comments).where(eq(comments.id, row.id))
  let parentId = row.parentId
  while (parentId !== null) {
    const [parent] = await tx.select().from(comments).where(eq(comments.id, parentId))
    if (!parent || parent.status !== 'deleted' || await hasReplies(tx, parent.id)) break
    await tx.delete(comments).where(eq(comments.id, parent.id))
    parentId = parent.parentId
  }
  return 'removed'
}

export function commentRepositoryPg (db: PgDb, events: CommentEventsPg): CommentRepository {
  const byId = select(db).where(eq(comments.id, sql.placeholder('id'))).prepare('comments_by_id')
  const targetBySlug = db.select(targetColumns).from(articles).where(eq(articles.slug, sql.placeholder('slug'))).prepare('comments_target_by_slug')
  // lower(author_email) and status: the expression index comments_email_status_idx.
  const approvedByEmail = db.select({ id: comments.id }).from(comments)
    .where(and(sql`lower(${comments.authorEmail}) = lower(${sql.placeholder('email')})`, eq(comments.status, 'approved'), ne(comments.id, sql.placeholder('except'))))
    .limit(1).prepare('comments_approved_by_email')

  /** Inside a write: the comment locked as it stands; StaleRead when it changed since it was read (writeIfMatch). */
  async function stillCurrent (tx: PgTx, id: number, unchanged: (fresh: CommentRecord) => boolean): Promise<CommentRecord> {
    const [fresh] = await select(tx).where(eq(comments.id, id)).for('update', { of: comments })
    if (fresh === undefined || !unchanged(fresh)) throw new StaleRead()
    return fresh
  }

  /** As ./repository.ts's mostReported: reported comments first, most reported first, then the unreported ones; newest first within a count. */
  async function mostReported (where: SQL | undefined, cursor: CursorKey | undefined, limit: number): Promise<CommentRecord[]> {
    const [reports, createdAt, id] = cursor ?? []
    const rows: CommentRecord[] = []
    const phases = reportedPhases(cursor)
    if (phases.reported) {
      const bound = cursor && sql`(${comments.reportCount}, ${comments.createdAt}, ${comments.id}) < (${reports}, ${createdAt}, ${id})`
      rows.push(...await select(db).where(and(where, sql`${comments.reportCount} > 0`, bound))
        .orderBy(sql`${comments.reportCount} DESC NULLS FIRST`, ...NEWEST).limit(limit + 1))
    }
    if (rows.length <= limit) {
      const bound = phases.unreportedAfter ? sql`(${comments.createdAt}, ${comments.id}) < (${createdAt}, ${id})` : undefined
      rows.push(...await select(db).where(and(where, sql`${comments.reportCount} = 0`, bound))
        .orderBy(...NEWEST).limit(limit + 1 - rows.length))
    }
    return rows
  }

  /**
   * Which statuses. The public's thread (PUBLIC_THREAD) is written out, not bound, so the condition of
   * comments_thread_idx (migrations/pg/0009) is provable in any plan (threadPage).
   */
  const statusIn = (statuses: readonly CommentStatus[]): SQL =>
    statuses.length === PUBLIC_THREAD.length && PUBLIC_THREAD.every((s) => statuses.includes(s))
      ? sql`${comments.status} IN ('approved', 'deleted')`
      : inArray(comments.status, [...statuses])

  /** The rows after a page's cursor, in its order (none when there is no cursor). */
  const pastCursor = (p: CommentListParams, o: KeysetOrder): SQL | undefined =>
    p.after === undefined ? undefined : after(o, p.after[0] ?? null, p.after[1] ?? null)

  const filtersOf = (p: CommentListParams): SQL | undefined => and(
    p.articleId === undefined ? undefined : eq(comments.articleId, p.articleId),
    p.visibility === null ? undefined : publicAt(p.visibility.visibleAt),
    p.statuses === undefined ? undefined : statusIn(p.statuses))

  /** Thread page shapes built (threadPage). */
  const threadPages = new StatementCache<BuiltRows<CommentRecord> | BuiltRows<PublicCommentRecord>>(THREAD_SHAPES)
  /**
   * A page of one article's thread. Asked for `article_id = $1 ORDER BY created_at, id LIMIT n`, the planner
   * guessed the article's share of all comments and often walked comments_created_idx, every comment ever
   * posted in date order, hoping to meet the article's soon. A thread's comments all come after its article,
   * so a recent article's first page read the site's whole history: 52,000 rows filtered for a page of 101,
   * 97 ms of PostgreSQL at 10,000 articles (bench/README.md, "Comment threads on PostgreSQL"). Here the article
   * is `= ANY(ARRAY[$1])`, which PostgreSQL does not treat as a constant, and the page is ordered by article
   * first: only an index that begins with the article gives that order (comments_thread_idx for the public's
   * thread, one range read from its start; comments_article_status_idx and a sort of one thread otherwise),
   * never one that begins with the date. The page is cut in a subquery of comments alone (its LIMIT keeps it
   * planned apart), then joined to its article, read once for the page (test/pg/comment-thread-plan.test.ts).
   *
   * The public's page (`fields` 'public', publicThread) selects no private field (PRIVATE_FIELDS): what it
   * does not read, PostgreSQL does not send and this process does not parse, and it cannot leak.
   *
   * Its text is built once per shape (which statuses, the order, the cursor's kind, who asks, which fields), the article,
   * the cursor, the time and the limit bound per request: Drizzle, mostly building this statement, was 17% of
   * a busy thread's CPU in this process (bench/README.md, "PostgreSQL: list pages built once per shape").
   * Not named: a generic plan, made without the article, would assume a thread of average size, and a busy
   * thread would then be read whole and sorted.
   */
  async function threadPage<F extends 'all' | 'public'> (p: CommentListParams & { articleId: number }, o: KeysetOrder, fields: F): Promise<F extends 'all' ? CommentRecord[] : PublicCommentRecord[]> {
    const cursor = p.after === undefined ? 'none' : (p.after[0] ?? null) === null ? 'null' : 'value'
    const shape = { statuses: p.statuses ?? null, descending: o.descending, cursor, public: p.visibility !== null, fields }
    const built = threadPages.get(JSON.stringify(shape), () => {
      const after = cursor === 'none' ? undefined : [cursor === 'null' ? null : slot<number>('after0'), slot<number>('after1')]
      const direction = o.descending ? sql`DESC` : sql`ASC`
      const selected = fields === 'all' ? getTableColumns(comments) : publicFields(getTableColumns(comments))
      const page = db.select(selected).from(comments)
        .where(and(
          sql`${comments.articleId} = ANY(ARRAY[${sql.placeholder('articleId')}]::integer[])`,
          shape.statuses === null ? undefined : statusIn(shape.statuses),
          pastCursor({ ...p, after }, o)))
        .orderBy(sql`${comments.articleId} ${direction}`, ...orderBy(o))
        .limit(sql.placeholder('limit'))
        .as('page')
      const pageFields = Object.fromEntries(Object.keys(selected).map((key) => [key, page[key as keyof typeof page]]))
      // The thread's article, read once for the page (and, for the public, only while it is visible): joined
      // on each row's article_id, the plan looked the same article up by key for every row, 101 lookups for a
      // page of 100 (EXPLAIN ANALYZE of the bench's busy thread: execution 0.27 against 0.11 ms, planning 0.31
      // against 0.21; test/pg/comment-thread-plan.test.ts checks it is read once). Every row of the page is that article's.
      const target = db.select({ slug: articles.slug, status: articles.status, publishedAt: articles.publishedAt, commentsOpen: articles.commentsOpen })
        .from(articles)
        .where(and(eq(articles.id, sql.placeholder('articleId')), shape.public ? publicAt(slot('visibleAt')) : undefined))
        .as('target')
      return (fields === 'all' ? threadRows : publicThreadRows).built(db.select({
        ...pageFields as unknown as ReturnType<typeof getTableColumns<typeof comments>>,
        articleSlug: target.slug,
        articleStatus: target.status,
        articlePublishedAt: target.publishedAt,
        articleCommentsOpen: target.commentsOpen
      }).from(target).crossJoin(page)
        .orderBy(sql`${page.createdAt} ${direction}`, sql`${page.id} ${direction}`))
    })
    // Only the values the request has (a placeholder it cannot fill is refused, not bound to NULL).
    const values: Record<string, unknown> = { articleId: p.articleId, limit: p.limit + 1 }
    if (p.after !== undefined) Object.assign(values, { after0: p.after[0] ?? null, after1: p.after[1] ?? null })
    if (p.visibility !== null) values.visibleAt = p.visibility.visibleAt
    return await built(db.$client, values) as F extends 'all' ? CommentRecord[] : PublicCommentRecord[]
  }

  /**
   * A page of the queue of one status across all articles (`GET /v1/comments?status=pending`). Asked for
   * `status = $1 ORDER BY created_at DESC`, the planner weighs the status's share by its statistics; when they
   * are stale (approvals since the last ANALYZE, so it thinks most comments still pending), it walks
   * comments_created_idx backwards, hoping to meet pending ones soon, and reads every comment approved since.
   * As in threadPage, the status is `= ANY(ARRAY[$1])` and the page is ordered by status first, so only
   * comments_status_created_idx gives the order: one range of that status. Which articles the caller sees
   * varies from row to row here, so their rule is applied inside the page, not after it
   * (test/pg/comment-thread-plan.test.ts).
   */
  async function statusPage (p: CommentListParams, status: CommentStatus, o: KeysetOrder): Promise<CommentRecord[]> {
    const direction = o.descending ? sql`DESC` : sql`ASC`
    return select(db)
      .where(and(
        sql`${comments.status} = ANY(ARRAY[${status}]::text[])`,
        p.visibility === null ? undefined : publicAt(p.visibility.visibleAt),
        pastCursor(p, o)))
      .orderBy(sql`${comments.status} ${direction}`, ...orderBy(o))
      .limit(p.limit + 1)
  }

  /** How many comments a list has in all, when asked for. */
  const totalOf = async (p: CommentListParams): Promise<number | undefined> => !p.withTotal
    ? undefined
    : p.visibility === null
      ? (await db.select({ n: count() }).from(comments).where(filtersOf(p)))[0]?.n ?? 0
      : (await db.select({ n: count() }).from(comments).innerJoin(articles, eq(articles.id, comments.articleId)).where(filtersOf(p)))[0]?.n ?? 0

  // A batch's two statements (shapedStatements): the same text for any batch, every value bound as an array.
  const shaped = shapedStatements()

  /**
   * A batch's comments, in one transaction that holds the order lock and declared their keys, with their
   * ids drawn, in two statements however many there are: (1) their articles locked as they were checked,
   * each one's `announced`, its parent, whether its author is known (the first-comment rule), and whether a
   * publication has come due; (2) the comments, their articles' counts and their events, one
   * data-modifying WITH. The rare due publication costs its own statements (announceDue) in between.
   * A comment whose article or parent changed since they were read is StaleRead and not written; the
   * others are. Returns each comment's outcome, in order.
   */
  async function writeComments (tx: PgTx, ids: readonly number[], batch: readonly NewComment[]): Promise<Outcome[]> {
    // The first-comment rule's question (lower(author_email) and status: comments_email_status_idx).
    const emails = batch.map(({ write }) => typeof write.status === 'string' ? null : write.status.ifKnown)
    const latest = Math.max(...batch.map((c) => c.now))
    // Locked in the order of their ids. Every writer that locks articles FOR UPDATE takes the order lock
    // first, as this transaction did, so none holds one now; a concurrent insert's foreign-key share lock
    // lasts only as long as that insert's transaction.
    const { rows } = await shaped<TargetRead & { i: number }>(tx, 'targets', () => sql`
      SELECT t.i::int AS i, a.id, a.slug, a.status, a.published_at AS "publishedAt", a.comments_open AS "commentsOpen", a.announced,
             p.article_id AS "parentArticleId", p.status AS "parentStatus",
             EXISTS (SELECT 1 FROM articles d WHERE d.status = 'published' AND NOT d.announced AND d.published_at <= ${slot('now')}) AS due,
             CASE WHEN t.email IS NULL THEN false
                  ELSE EXISTS (SELECT 1 FROM comments k WHERE lower(k.author_email) = lower(t.email) AND k.status = 'approved') END AS known
      FROM unnest(${slot('articles')}::int[], ${slot('parents')}::int[], ${slot('emails')}::text[]) WITH ORDINALITY AS t(article, parent, email, i)
        JOIN articles a ON a.id = t.article
        LEFT JOIN comments p ON p.id = t.parent
      ORDER BY a.id, t.i
      FOR UPDATE OF a`, {
      now: latest,
      articles: batch.map((c) => c.article.id),
      parents: batch.map((c) => c.write.parentId ?? 0),
      emails
    })
    const found = new Map(rows.map((row) => [row.i - 1, row]))
    const announced = new Map(rows.map((row) => [row.id, row.announced]))
    if (rows.some((row) => row.due)) {
      // Announced at the batch's latest time, before any of its comments' events (each comment's own article
      // was public at its own time already: the route checked).
      await events.announceDue(tx, latest)
      const now = await tx.select({ id: articles.id, announced: articles.announced }).from(articles).where(inArray(articles.id, [...announced.keys()]))
      for (const row of now) announced.set(row.id, row.announced)
    }
    const outcomes: Outcome[] = []
    const written: Array<{ row: Record<string, unknown>, record: CommentRecord, announced: boolean, at: number }> = []
    const counted = new Map<number, number>()
    batch.forEach(({ article, write, now }, i) => {
      const target = found.get(i)
      if (target === undefined || !targetUnchanged(target, article) ||
        (write.parentId !== null && !parentFits(target.parentStatus === null ? undefined : { articleId: target.parentArticleId!, status: target.parentStatus }, article.id))) {
        outcomes.push({ ok: false, error: new StaleRead() })
        return
      }
      const w = decided(write, target.known)
      const record = newRecord(article, w, ids[i]!, now)
      written.push({ row: { ...w, id: ids[i], createdAt: now, updatedAt: now }, record, announced: announced.get(article.id) === true, at: now })
      // Only an approved comment is counted; the count was right before, so one more keeps it right.
      if (w.status === 'approved') counted.set(article.id, (counted.get(article.id) ?? 0) + 1)
      outcomes.push({ ok: true, record })
    })
    if (written.length === 0) return outcomes
    const recorded = events.createdInsertion(written)
    await shaped(tx, 'insert', () => sql`WITH inserted AS (${COMMENTS_INSERT.statement}),
      counted AS (UPDATE articles a SET comment_count = a.comment_count + c.n
                  FROM unnest(${slot('countedArticles')}::int[], ${slot('countedBy')}::int[]) AS c(id, n) WHERE a.id = c.id),
      recorded AS (${recorded.statement}) SELECT 1`, {
      ...COMMENTS_INSERT.values(written.map((c) => c.row)),
      countedArticles: [...counted.keys()],
      countedBy: [...counted.values()],
      ...recorded.values
    })
    recorded.recorded()
    return outcomes
  }

  /**
   * The comments waiting when a transaction can start are written in it together (group commit): the
   * order lock, the keys of all of them and their ids in one statement, then two statements for all of
   * them (writeComments), and one COMMIT. Every event-writing transaction holds the order lock from its
   * first statement to its commit, so comments were written one transaction after another anyway;
   * together they take fewer round trips and one commit's WAL flush. One batch at a time per process: the
   * comments that arrive while it runs wait for the next, so the busier the server, the larger the batch.
   *
   * A StaleRead writes nothing and rejects its own comment only. An error of the comments' own statements
   * (a constraint, a trigger) aborts the transaction: each of its comments is then written alone, so only
   * the one at fault fails. A failed COMMIT, order lock, connection or timeout rejects the whole batch and
   * is never retried (a COMMIT whose reply was lost may have committed). Every promise settles after the
   * transaction ends.
   */
  const waiting: Array<{ comment: NewComment, resolve: (r: CommentRecord) => void, reject: (e: unknown) => void }> = []
  let writing = false

  async function writeWaiting (): Promise<void> {
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, MAX_BATCH)
        try {
          await writeBatch(batch)
        } catch (error) {
          // Not expected (writeBatch settles every comment it takes); should it happen, none is left waiting.
          for (const w of batch) w.reject(error)
        }
      }
    } finally {
      // In the same step as the loop's last look at the queue: a comment queued after it starts a new run.
      writing = false
    }
  }

  /**
   * `batch` in one transaction: each comment's outcome; throws when the transaction failed (`locked`: after
   * its order lock was taken; `written`: in or after its COMMIT).
   */
  async function writeTogether (batch: typeof waiting, progress: { locked: boolean, written: boolean }): Promise<Outcome[]> {
    return db.transaction(async (tx) => {
      const keys = batch.flatMap((w) => commentWriteKeys(w.comment.article.id))
      const { ids } = await lockEventOrderWith<{ ids: number[] }>(tx, sql`${declaration(keys)} AS declared, ${drawIds(batch.length)} AS ids`)
      progress.locked = true
      const out = await writeComments(tx, ids, batch.map((w) => w.comment))
      progress.written = true
      return out
    })
  }

  const settle = (batch: typeof waiting, outcomes: Outcome[]): void => {
    batch.forEach((w, i) => {
      const outcome = outcomes[i]!
      if (outcome.ok) w.resolve(outcome.record)
      else w.reject(outcome.error)
    })
  }

  /**
   * Writes `batch` in one transaction and settles each comment's promise. When the transaction fails
   * before its COMMIT for a reason of the comments' own (a constraint, a trigger), nothing was committed:
   * each comment is written again alone, in order, so that only the one at fault fails. Every other failure
   * settles the whole batch with the error and writes nothing again: the order lock's statement failing or
   * timing out, a lost connection, or a failed COMMIT, which may have committed after all (writing the
   * batch again could store its comments twice).
   */
  async function writeBatch (batch: typeof waiting): Promise<void> {
    const progress = { locked: false, written: false }
    try {
      settle(batch, await writeTogether(batch, progress))
    } catch (error) {
      if (batch.length === 1 || !progress.locked || progress.written || !ownFailure(error)) {
        for (const w of batch) w.reject(error)
        return
      }
      for (const w of batch) {
        const alone = { locked: false, written: false }
        await writeTogether([w], alone).then((outcomes) => { settle([w], outcomes) }, w.reject)
      }
    }
  }

  function postComment (comment: NewComment): Promise<CommentRecord> {
    return new Promise<CommentRecord>((resolve, reject) => {
      waiting.push({ comment, resolve, reject })
      if (writing) return
      writing = true
      // It never rejects: each batch's errors go to its comments.
      writeWaiting().catch(reject)
    })
  }

  // The articles that took comments when last read (reusableTargets). A remembered one skips the lookup's
  // round trip; the write locks the article and checks it still stands as read (writeComments: StaleRead).
  const reusable = reusableTargets()

  return {
    async findTarget (slug: string): Promise<CommentTarget | undefined> {
      const target = (await targetBySlug.execute({ slug }))[0]
      reusable.read(slug, target)
      return target
    },

    reusableTarget (slug: string): CommentTarget | undefined {
      return reusable.get(slug)
    },

    async findById (id: number): Promise<CommentRecord | undefined> {
      return (await byId.execute({ id }))[0]
    },

    async hasApprovedComment (email: string, except = 0): Promise<boolean> {
      return (await approvedByEmail.execute({ email, except })).length > 0
    },

    async create (article: CommentTarget, write: CommentWrite, now: number): Promise<CommentRecord> {
      return postComment({ article, write, now })
    },

    async update (current, set, now, unchanged): Promise<CommentRecord> {
      return db.transaction(async (tx) => {
        await events.begin(tx, now)
        await declareKeys(tx, commentWriteKeys(current.articleId))
        const before = await stillCurrent(tx, current.id, unchanged)
        await tx.update(comments).set({ ...set, updatedAt: now }).where(eq(comments.id, current.id))
        await recountCommentsPg(tx, current.articleId)
        const [after] = await select(tx).where(eq(comments.id, current.id))
        await events.changed(tx, before, after!, now)
        return after!
      })
    },

    async delete (current, now, unchanged): Promise<void> {
      await db.transaction(async (tx) => {
        await events.begin(tx, now)
        await declareKeys(tx, commentWriteKeys(current.articleId))
        const before = await stillCurrent(tx, current.id, unchanged)
        await events.left(tx, before, now)
        await deleteCommentPg(tx, before, now)
        await recountCommentsPg(tx, current.articleId)
      })
    },

    async listByEmail (email: string, afterId: number, limit: number): Promise<CommentRecord[]> {
      return select(db).where(and(sql`lower(${comments.authorEmail}) = lower(${email})`, gt(comments.id, afterId)))
        .orderBy(asc(comments.id)).limit(limit + 1)
    },

    async list (p: CommentListParams): Promise<{ rows: CommentRecord[], total?: number }> {
      const total = await totalOf(p)
      if (p.sort === '-reportCount') return { rows: await mostReported(filtersOf(p), p.after, p.limit), total }
      const o = order(p.sort)
      if (p.articleId !== undefined) return { rows: await threadPage({ ...p, articleId: p.articleId }, o, 'all'), total }
      if (p.statuses?.length === 1) return { rows: await statusPage(p, p.statuses[0]!, o), total }
      const rows = await select(db)
        .where(and(filtersOf(p), pastCursor(p, o)))
        .orderBy(...orderBy(o)).limit(p.limit + 1)
      return { rows, total }
    },

    async publicThread (p: CommentListParams & { articleId: number, sort: 'createdAt' | '-createdAt' }): Promise<{ rows: PublicCommentRecord[], total?: number }> {
      return { rows: await threadPage(p, order(p.sort), 'public'), total: await totalOf(p) }
    }
  }
}
