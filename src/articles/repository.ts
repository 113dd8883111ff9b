// The articles' SQL: reads with visibility, writes in one transaction each (article, tags, authors,
// slug history and the article's event together; see announcements.ts for which event).
import { eq, sql } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { articleAuthors, articles, articleSlugHistory } from '../db/schema.js'
import { toIso, toIsoOrNull } from '../http/time.js'
import { ensureTagIds, setArticleTags, tagReader, tagSlugsOfNames } from '../tags/store.js'
import type { TagRef } from '../tags/schemas.js'
import type { Outbox } from '../events/outbox.js'
import type { Article, ArticleSummary } from './schemas.js'
import { articleAnnouncements } from './announcements.js'
import { articleListing, type ArticleListParams, type ArticleRow, type ListedRow } from './listing.js'

export type { ArticleListParams, ArticleRow, ArticleSort } from './listing.js'

export type ArticleStatus = ArticleRow['status']

/** What the caller may see: `now` for the public (published and due), `null` for editors (everything). */
export type Visibility = { visibleAt: number } | null

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
}

function summaryOf (row: Omit<ArticleRow, 'body' | 'bodyHtml'>, tagRefs: TagRef[]): ArticleSummary {
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
    revision: row.revision
  }
}

export function articleRepository (db: Db, outbox: Outbox, now: () => number) {
  const bySlug = db.select().from(articles).where(eq(articles.slug, sql.placeholder('slug'))).prepare()
  const byHistory = db.select({ slug: articles.slug, status: articles.status, publishedAt: articles.publishedAt })
    .from(articleSlugHistory).innerJoin(articles, eq(articles.id, articleSlugHistory.articleId))
    .where(eq(articleSlugHistory.slug, sql.placeholder('slug'))).prepare()
  const listing = articleListing(db)
  const tagsOfArticles = tagReader(db)
  const slugTaken = db.select({ id: articles.id }).from(articles).where(eq(articles.slug, sql.placeholder('slug'))).prepare()

  const isVisible = (row: { status: ArticleStatus, publishedAt: number | null }, v: Visibility): boolean =>
    v === null || (row.status === 'published' && row.publishedAt !== null && row.publishedAt <= v.visibleAt)

  function toArticle (row: ArticleRow): Article {
    const tagRefs = tagsOfArticles([row.id]).get(row.id) ?? []
    return { ...summaryOf(row, tagRefs), body: row.body, bodyHtml: row.bodyHtml }
  }

  const announcements = articleAnnouncements(db, outbox, toArticle)

  function writeRelations (tx: Parameters<Parameters<Db['transaction']>[0]>[0], id: number, input: { tags?: string[], authors?: string[] }, now: number): void {
    if (input.tags !== undefined) setArticleTags(tx, id, ensureTagIds(tx, input.tags, now))
    if (input.authors !== undefined) {
      tx.delete(articleAuthors).where(eq(articleAuthors.articleId, id)).run()
      if (input.authors.length > 0) tx.insert(articleAuthors).values(input.authors.map((name) => ({ articleId: id, name }))).run()
    }
  }

  return {
    toArticle,
    isVisible,
    announcements,

    /**
     * Announces the scheduled publications that have come due (article.published, exactly once each);
     * the scheduler calls it on its timer and at start. Returns how many were looked at.
     */
    async announceDuePublications (at: number): Promise<number> {
      return db.transaction(() => announcements.announceDue(at), { behavior: 'immediate' })
    },

    /** When the next scheduled publication is due (possibly already), or null when none is waiting. */
    async nextScheduledPublication (): Promise<number | null> {
      return announcements.nextDue()
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

    async create (write: ArticleWrite, tagNames: string[], now: number): Promise<Article> {
      return db.transaction((tx) => {
        announcements.announceDue(now)
        const visible = isVisible(write, { visibleAt: now })
        const inserted = tx.insert(articles).values({
          ...write, authors: JSON.stringify(write.authors), createdAt: now, updatedAt: now, revision: 1, announced: visible
        }).returning().get()
        tx.delete(articleSlugHistory).where(eq(articleSlugHistory.slug, write.slug)).run()
        writeRelations(tx, inserted.id, { tags: tagNames, authors: write.authors }, now)
        const article = toArticle(inserted)
        announcements.recordChange(undefined, { article, visible }, now)
        return article
      }, { behavior: 'immediate' })
    },

    /** Applies a change; bumps revision and updatedAt. The old slug, when it changes, keeps redirecting. */
    async update (current: ArticleRow, write: ArticleWrite, tagNames: string[] | undefined, now: number): Promise<Article> {
      return db.transaction((tx) => {
        announcements.announceDue(now)
        const before = announcements.state(current.id)
        const visible = isVisible(write, { visibleAt: now })
        if (write.slug !== current.slug) {
          tx.delete(articleSlugHistory).where(eq(articleSlugHistory.slug, write.slug)).run()
          tx.insert(articleSlugHistory).values({ slug: current.slug, articleId: current.id })
            .onConflictDoUpdate({ target: articleSlugHistory.slug, set: { articleId: current.id } }).run()
        }
        writeRelations(tx, current.id, { tags: tagNames, authors: write.authors }, now)
        const row = tx.update(articles)
          .set({ ...write, authors: JSON.stringify(write.authors), updatedAt: now, revision: current.revision + 1, announced: visible })
          .where(eq(articles.id, current.id)).returning().get()
        const article = toArticle(row!)
        announcements.recordChange(before, { article, visible }, now)
        return article
      }, { behavior: 'immediate' })
    },

    async tagSlugs (articleId: number): Promise<string[]> {
      return (tagsOfArticles([articleId]).get(articleId) ?? []).map((t) => t.slug)
    },

    /** The slugs these tag names resolve to (existing tags by slug or name, else the name's slug). */
    async resolveTagSlugs (names: string[]): Promise<string[]> {
      return tagSlugsOfNames(db, names)
    },

    async delete (id: number): Promise<void> {
      const at = now()
      db.transaction((tx) => {
        announcements.announceDue(at)
        const before = announcements.state(id)
        tx.delete(articles).where(eq(articles.id, id)).run()
        announcements.recordChange(before, null, at)
      }, { behavior: 'immediate' })
    },

    /** One page of the article list; `snippet` is set on each item when the list is a search. */
    async list (p: ArticleListParams): Promise<{ rows: ListedRow[], total?: number, toSummary: (row: ListedRow) => ArticleSummary }> {
      const { rows, total, snippets } = await listing.list(p)
      const tagMap = tagsOfArticles(rows.slice(0, p.limit).map((r) => r.id))
      return {
        rows,
        total,
        toSummary: (row) => {
          const summary = summaryOf(row, tagMap.get(row.id) ?? [])
          const snippet = snippets.get(row.id)
          return snippet === undefined ? summary : { ...summary, snippet }
        }
      }
    },

    explainList: listing.explain
  }
}

export type ArticleRepository = ReturnType<typeof articleRepository>
