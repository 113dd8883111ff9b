// The articles' SQL: reads with visibility, writes in one transaction each (article, tags, authors,
// slug history, the revision that keeps the previous state and the article's event, together; see
// announcements.ts for which event).
import { eq, sql } from 'drizzle-orm'
import { IMMEDIATE, type Db } from '../db/connection.js'
import { articleWriteKeys, declareWrite } from '../db/change-clock.js'
import { articleAuthors, articles, articleSlugHistory } from '../db/schema.js'
import { Conflict, StaleRead } from '../http/errors.js'
import { toIso, toIsoOrNull } from '../http/time.js'
import { changedFields, stateOf } from '../revisions/fields.js'
import { revisionWriter, type RevisionMeta } from '../revisions/store.js'
import { articleTagNames, setArticleTags, tagReader } from '../tags/article-tags.js'
import type { TagRef } from '../tags/schemas.js'
import type { Outbox } from '../events/outbox.js'
import type { Article, ArticleImage, ArticleSummary } from './schemas.js'
import { articleAnnouncements } from './announcements.js'
import { articleListing, type ArticleListParams, type ArticleRow, type ListedKeys, type ListedRow } from './listing/index.js'
import type { ArticleStatus } from './status.js'
import { isPublicAt, isVisible, scheduledAfterText, type Visibility } from './visibility.js'
import { assemble, freshItem, storedRepresentations, summaryItem, type ArticleAnswer, type StoredRead } from './stored.js'

export type { ArticleListParams, ArticleRow, ArticleSort } from './listing/index.js'

/** The stored fields a write sets; the service has already derived slug, HTML and timestamps. */
export interface ArticleWrite {
  slug: string
  title: string
  summary: string | null
  body: string
  bodyHtml: string
  section: string | null
  dateline: string | null
  source: string | null
  authors: string[]
  status: ArticleStatus
  publishedAt: number | null
  commentsOpen: boolean
  imageUrl: string | null
  imageAlt: string | null
  imageCaption: string | null
  imageCredit: string | null
  canonicalUrl: string | null
}

/** What a write records beside the change itself (the revision's author, what it restores). */
export type WriteMeta = RevisionMeta

type ImageColumns = Pick<ArticleWrite, 'imageUrl' | 'imageAlt' | 'imageCaption' | 'imageCredit'>

/** The lead image as stored: four columns, all null when there is none. */
export function imageColumns (image: ArticleImage | null): ImageColumns {
  return {
    imageUrl: image?.url ?? null,
    imageAlt: image === null ? null : image.alt,
    imageCaption: image?.caption ?? null,
    imageCredit: image?.credit ?? null
  }
}

/** The lead image of a stored row, or null. */
export function imageOf (row: ImageColumns): ArticleImage | null {
  if (row.imageUrl === null) return null
  const image: ArticleImage = { url: row.imageUrl, alt: row.imageAlt ?? '' }
  if (row.imageCaption !== null) image.caption = row.imageCaption
  if (row.imageCredit !== null) image.credit = row.imageCredit
  return image
}

/** A slug another article has: a 409 for a slug the editor chose; a derived one is derived again. */
export class SlugTaken extends Conflict {
  constructor (slug: string) {
    super(`The slug "${slug}" is taken by another article.`)
  }
}

export function summaryOf (row: Omit<ArticleRow, 'body' | 'bodyHtml'>, tagRefs: TagRef[]): ArticleSummary {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    summary: row.summary,
    section: row.section,
    dateline: row.dateline,
    source: row.source,
    authors: JSON.parse(row.authors) as string[],
    tags: tagRefs,
    status: row.status,
    publishedAt: toIsoOrNull(row.publishedAt),
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
    commentsOpen: row.commentsOpen,
    commentCount: row.commentCount,
    revision: row.revision,
    image: imageOf(row),
    canonicalUrl: row.canonicalUrl
  }
}

export function articleRepository (db: Db, outbox: Outbox, now: () => number) {
  const bySlug = db.select().from(articles).where(eq(articles.slug, sql.placeholder('slug'))).prepare()
  const byId = db.select().from(articles).where(eq(articles.id, sql.placeholder('id'))).prepare()
  const history = revisionWriter(db)
  const byHistory = db.select({ slug: articles.slug, status: articles.status, publishedAt: articles.publishedAt })
    .from(articleSlugHistory).innerJoin(articles, eq(articles.id, articleSlugHistory.articleId))
    .where(eq(articleSlugHistory.slug, sql.placeholder('slug'))).prepare()
  const stored = storedRepresentations(db)
  const listing = articleListing(db, stored)
  const tagsOfArticles = tagReader(db)
  const tagNames = articleTagNames(db)
  const slugTaken = db.select({ id: articles.id }).from(articles).where(eq(articles.slug, sql.placeholder('slug'))).prepare()
  // Raw on purpose: the visibility rule's text form (src/articles/visibility.ts), through the partial index
  // of scheduled articles.
  // Only an article that was not yet due when last written (published_at > updated_at): one due at its
  // write was visible from that write on, and the write's own keys dropped every answer that showed it absent.
  const nextPublication = db.$client.prepare<[number], number | null>(`SELECT min(published_at) FROM articles WHERE ${scheduledAfterText()} AND published_at > updated_at`).pluck()

  function toArticle (row: ArticleRow): Article {
    const tagRefs = tagsOfArticles([row.id]).get(row.id) ?? []
    return { ...summaryOf(row, tagRefs), body: row.body, bodyHtml: row.bodyHtml }
  }

  /**
   * Stores the article's representation (src/articles/stored.ts); inside its write's transaction, after
   * the last UPDATE of its row (whose trigger drops the stored form the UPDATE made stale).
   */
  function storeRepresentation (article: Article): void {
    const { stored: form, summary } = assemble(article)
    stored.store(article.id, form, summary)
  }

  /** Inside a write's transaction: the row as it stands now, unless it changed since it was read (StaleRead). */
  function stillCurrent (id: number, unchanged: (fresh: ArticleRow) => boolean): ArticleRow {
    const fresh = byId.get({ id })
    if (fresh === undefined || !unchanged(fresh)) throw new StaleRead()
    return fresh
  }

  const announcements = articleAnnouncements(db, outbox, toArticle)

  function assertSlugFree (slug: string, selfId: number | null): void {
    const owner = slugTaken.get({ slug })
    if (owner !== undefined && owner.id !== selfId) throw new SlugTaken(slug)
  }

  function writeRelations (tx: Parameters<Parameters<Db['transaction']>[0]>[0], id: number, input: { tags?: string[], authors?: string[] }, now: number): void {
    if (input.tags !== undefined) setArticleTags(tx, id, tagNames.ensureIds(tx, input.tags, now))
    if (input.authors !== undefined) {
      tx.delete(articleAuthors).where(eq(articleAuthors.articleId, id)).run()
      if (input.authors.length > 0) tx.insert(articleAuthors).values(input.authors.map((name) => ({ articleId: id, name }))).run()
    }
  }

  return {
    toArticle,
    announcements,

    /**
     * The first scheduled publication due after `at` (ms) of an article not yet due when last written, or
     * null when none is scheduled. Synchronous: the public cache asks it inside a synchronous onSend hook,
     * once per cache epoch and after each write.
     */
    nextPublicationAfter (at: number): number | null {
      return nextPublication.get(at) ?? null
    },

    /**
     * Announces the scheduled publications that have come due (article.published, exactly once each);
     * the scheduler calls it on its timer and at start. Returns how many were looked at.
     */
    async announceDuePublications (at: number): Promise<number> {
      return db.transaction(() => announcements.announceDue(at), IMMEDIATE)
    },

    /** When the next scheduled publication is due (possibly already), or null when none is waiting. */
    async nextScheduledPublication (): Promise<number | null> {
      return announcements.nextDue()
    },

    /**
     * The answer to GET of the article at `slug`, if the caller sees it: its stored representation with
     * the current tags and comment count spliced in (one statement; visibility decided by it), or, for an
     * article that has no stored form yet, a fresh assembly. Synchronous: one statement, nothing to wait for.
     */
    answer (slug: string, visibility: Visibility): ArticleAnswer | undefined {
      const read: StoredRead | undefined = stored.read(slug, visibility)
      if (read === undefined || !('missing' in read)) return read
      const row = byId.get({ id: read.id })
      // Another process may have written between the two statements: visibility is checked again.
      return row === undefined || !isVisible(row, visibility) ? undefined : assemble(toArticle(row)).answer
    },

    /** The answer a fresh assembly of this article sends (the body of a write's answer, an If-Match's ETag). */
    fresh (article: Article): ArticleAnswer {
      return assemble(article).answer
    },

    /** The ETag a read of this row carries, for If-Match. */
    etagOf (row: ArticleRow): string {
      return assemble(toArticle(row)).answer.etag
    },

    /**
     * What a write without a precondition on the ETag must find unchanged (writeIfMatch's `content`): the ETag of the row with
     * its comment count left out, which moves with every comment and enters no edit.
     */
    contentOf (row: ArticleRow): string {
      return assemble({ ...toArticle(row), commentCount: 0 }).answer.etag
    },

    /**
     * Stores the representations that are missing among the next `rows` articles after id `after` (a
     * slice of the backfill, in one transaction). Returns the last id looked at, or null when done.
     */
    backfill (after: number, rows: number): number | null {
      return declareWrite(db, [], () => db.transaction(() => {
        const { ids, last } = stored.missing(after, rows)
        for (const id of ids) {
          const row = byId.get({ id })
          if (row !== undefined) storeRepresentation(toArticle(row))
        }
        return last
      }, IMMEDIATE))
    },

    async findRowBySlug (slug: string, visibility: Visibility): Promise<ArticleRow | undefined> {
      const row = bySlug.get({ slug })
      return row && isVisible(row, visibility) ? row : undefined
    },

    /** The current slug of an article that used to be at `slug`, if the caller may see it. */
    async findRenamed (slug: string, visibility: Visibility): Promise<string | undefined> {
      const row = byHistory.get({ slug })
      return row && isVisible(row, visibility) ? row.slug : undefined
    },

    async slugTaken (slug: string, exceptId?: number): Promise<boolean> {
      const row = slugTaken.get({ slug })
      return row !== undefined && row.id !== exceptId
    },

    /** Creates an article; SlugTaken when its slug was taken meanwhile (checked in the same transaction). */
    async create (write: ArticleWrite, tagNames: string[], now: number, meta: WriteMeta): Promise<Article> {
      return declareWrite(db, (article) => articleWriteKeys(article.id), () => db.transaction((tx) => {
        announcements.announceDue(now)
        assertSlugFree(write.slug, null)
        const visible = isPublicAt(write, now)
        const inserted = tx.insert(articles).values({
          ...write, authors: JSON.stringify(write.authors), createdAt: now, updatedAt: now, revision: 1, announced: visible
        }).returning().get()
        tx.delete(articleSlugHistory).where(eq(articleSlugHistory.slug, write.slug)).run()
        writeRelations(tx, inserted.id, { tags: tagNames, authors: write.authors }, now)
        history.created(inserted.id, { revision: inserted.revision, at: now, state: stateOf(inserted, tagsOfArticles([inserted.id]).get(inserted.id) ?? []) }, meta)
        const article = toArticle(inserted)
        storeRepresentation(article)
        announcements.recordChange(undefined, { article, visible }, now)
        return article
      }, IMMEDIATE))
    },

    /**
     * Applies a change computed from `current`; bumps revision and updatedAt and keeps the previous state as
     * a revision, in the same transaction. The old slug, when it changes, keeps redirecting. StaleRead when
     * `unchanged` says the article changed since `current` was read; SlugTaken when the new slug was taken
     * meanwhile. A change that changes nothing writes nothing and returns the article.
     */
    async update (current: ArticleRow, write: ArticleWrite, tagNames: string[] | undefined, now: number, unchanged: (fresh: ArticleRow) => boolean, meta: WriteMeta): Promise<Article> {
      return declareWrite(db, articleWriteKeys(current.id), () => db.transaction((tx) => {
        // First, so that the log shows a scheduled article's publication before this change to it.
        announcements.announceDue(now)
        const fresh = stillCurrent(current.id, unchanged)
        const before = stateOf(fresh, tagsOfArticles([fresh.id]).get(fresh.id) ?? [])
        if (write.slug !== fresh.slug) {
          assertSlugFree(write.slug, fresh.id)
          tx.delete(articleSlugHistory).where(eq(articleSlugHistory.slug, write.slug)).run()
          tx.insert(articleSlugHistory).values({ slug: fresh.slug, articleId: fresh.id })
            .onConflictDoUpdate({ target: articleSlugHistory.slug, set: { articleId: fresh.id } }).run()
        }
        writeRelations(tx, fresh.id, { tags: tagNames, authors: write.authors }, now)
        const next = { ...fresh, ...write, authors: JSON.stringify(write.authors) }
        const after = stateOf(next, tagsOfArticles([fresh.id]).get(fresh.id) ?? [])
        const changed = changedFields(before, after)
        if (changed.length === 0) return toArticle(fresh)
        const visible = isPublicAt(write, now)
        const updated = tx.update(articles).set({ ...write, authors: next.authors, updatedAt: now, revision: fresh.revision + 1, announced: visible })
          .where(eq(articles.id, fresh.id)).returning().get()!
        history.changed(fresh.id,
          { revision: fresh.revision, at: fresh.updatedAt, state: before },
          { revision: updated.revision, at: now, state: after }, changed, meta)
        const article = toArticle(updated)
        storeRepresentation(article)
        announcements.recordChange(fresh, { article, visible }, now)
        return article
      }, IMMEDIATE))
    },

    async tagSlugs (articleId: number): Promise<string[]> {
      return (tagsOfArticles([articleId]).get(articleId) ?? []).map((t) => t.slug)
    },

    /** The slugs these tag names resolve to (existing tags by slug or name, else the name's slug). */
    async resolveTagSlugs (names: string[]): Promise<string[]> {
      return tagNames.slugsOf(names)
    },

    /** Deletes the article read as `current` (with its comments); StaleRead when it changed since. */
    async delete (current: ArticleRow, unchanged: (fresh: ArticleRow) => boolean): Promise<void> {
      const at = now()
      declareWrite(db, articleWriteKeys(current.id), () => db.transaction((tx) => {
        announcements.announceDue(at)
        const fresh = stillCurrent(current.id, unchanged)
        tx.delete(articles).where(eq(articles.id, current.id)).run()
        announcements.recordChange(fresh, null, at)
      }, IMMEDIATE))
    },

    /**
     * One page of the article list; `snippet` is set on each item when the list is a search. Each item is
     * its stored summary with its tags and count spliced in (./stored.ts), or, for an article without one
     * yet, a fresh assembly.
     */
    async list (p: ArticleListParams): Promise<ListedPage> {
      const { rows, total, snippets } = await listing.list(p)
      const shown = rows.slice(0, p.limit)
      const items = new Map<number, string>()
      const missing: ListedRow[] = []
      for (const row of shown) {
        if ('missing' in row) missing.push(row.row)
        else items.set(row.id, summaryItem(row.form, row.tags, row.count, snippets.get(row.id)))
      }
      if (missing.length > 0) {
        const fresh = listPage(missing, undefined, tagsOfArticles(missing.map((row) => row.id)), snippets)
        for (const row of fresh.rows) items.set(row.id, fresh.toItem(row))
      }
      return {
        rows,
        total,
        toItem: (row) => items.get(row.id)!,
        toSummary: (row) => JSON.parse(items.get(row.id)!) as ArticleSummary
      }
    },

    explainList: listing.explain
  }
}

/**
 * A page of the article list as the routes and feeds take it: the rows (their cursor keys), and each shown
 * row's item, serialised (`toItem`, what the list answers) or as an object (`toSummary`, what feeds build on).
 */
export interface ListedPage {
  rows: ListedKeys[]
  total?: number
  toItem: (row: ListedKeys) => string
  toSummary: (row: ListedKeys) => ArticleSummary
}

/** A page of the article list assembled from its rows: each row's summary with its tags, and its snippet when the list is a search. */
export function listPage (rows: ListedRow[], total: number | undefined, tagMap: Map<number, TagRef[]>, snippets: Map<number, string>): ListedPage & { rows: ListedRow[] } {
  const byId = new Map(rows.map((row) => [row.id, row]))
  const toSummary = (keys: ListedKeys): ArticleSummary => {
    const row = byId.get(keys.id)!
    const summary = summaryOf(row, tagMap.get(row.id) ?? [])
    const snippet = snippets.get(row.id)
    return snippet === undefined ? summary : { ...summary, snippet }
  }
  return { rows, total, toSummary, toItem: (row) => freshItem(toSummary(row)) }
}

/** The SQLite adapter, with what only SQLite's writers share (`announcements`, for the comment and tag writes). */
export type SqliteArticleRepository = ReturnType<typeof articleRepository>
/**
 * The port routes and services use, on either engine (the PostgreSQL adapter: ./repository.pg.ts). SQLite
 * answers a GET and a backfill slice synchronously (one statement); PostgreSQL has to wait for its answer.
 */
export type ArticleRepository = Omit<SqliteArticleRepository, 'announcements' | 'answer' | 'backfill' | 'nextPublicationAfter'> & {
  answer: (slug: string, visibility: Visibility) => ArticleAnswer | undefined | Promise<ArticleAnswer | undefined>
  /** SQLite answers at once (the public cache asks inside a synchronous hook); PostgreSQL has to wait. */
  nextPublicationAfter: (at: number) => number | null | Promise<number | null>
  backfill: (after: number, rows: number) => number | null | Promise<number | null>
}
