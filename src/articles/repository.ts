// The articles' SQL: reads with visibility, writes in one transaction each (article, tags, authors,
// slug history and the revision that keeps the previous state, together).
import { eq, sql } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { articleAuthors, articles, articleSlugHistory } from '../db/schema.js'
import { Conflict, NotFound } from '../http/errors.js'
import { toIso, toIsoOrNull } from '../http/time.js'
import { changedFields, stateOf } from '../revisions/fields.js'
import { revisionWriter, type RevisionMeta } from '../revisions/store.js'
import { ensureTagIds, setArticleTags, tagReader, tagSlugsOfNames } from '../tags/store.js'
import type { TagRef } from '../tags/schemas.js'
import type { Article, ArticleSummary } from './schemas.js'
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

/** What a write records beside the change itself. */
export interface WriteMeta extends RevisionMeta {
  /**
   * Checked against the article as it is inside the write's transaction, under the write lock, before
   * anything is written: throwing refuses the write (a stale If-Match), atomically across processes.
   */
  precondition?: (current: ArticleRow) => void
}

/** A write that would break the unique slug index lost a race for the slug: a 409, like the check before it. */
function slugConflict (err: unknown, slug: string): unknown {
  const e = err as { code?: string, message?: string }
  return e.code === 'SQLITE_CONSTRAINT_UNIQUE' && e.message?.includes('articles.slug') === true
    ? new Conflict(`The slug "${slug}" is taken by another article.`)
    : err
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

export function articleRepository (db: Db) {
  const bySlug = db.select().from(articles).where(eq(articles.slug, sql.placeholder('slug'))).prepare()
  const byId = db.select().from(articles).where(eq(articles.id, sql.placeholder('id'))).prepare()
  const history = revisionWriter(db)
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

    async create (write: ArticleWrite, tagNames: string[], now: number, meta: WriteMeta): Promise<Article> {
      try {
        const row = db.transaction((tx) => {
          const inserted = tx.insert(articles).values({
            ...write, authors: JSON.stringify(write.authors), createdAt: now, updatedAt: now, revision: 1
          }).returning().get()
          tx.delete(articleSlugHistory).where(eq(articleSlugHistory.slug, write.slug)).run()
          writeRelations(tx, inserted.id, { tags: tagNames, authors: write.authors }, now)
          history.created(inserted.id, { revision: inserted.revision, at: now, state: stateOf(inserted, tagsOfArticles([inserted.id]).get(inserted.id) ?? []) }, meta)
          return inserted
        })
        return toArticle(row)
      } catch (err) {
        throw slugConflict(err, write.slug)
      }
    },

    /**
     * Applies a change to the article as it is inside the transaction (re-read under the write lock):
     * bumps revision and updatedAt and keeps the previous state as a revision. The old slug, when it
     * changes, keeps redirecting. A change that changes nothing writes nothing and returns the article.
     */
    async update (current: ArticleRow, write: ArticleWrite, tagNames: string[] | undefined, now: number, meta: WriteMeta): Promise<Article> {
      const transaction = () => db.transaction((tx) => {
        const fresh = byId.get({ id: current.id })
        if (fresh === undefined) throw new NotFound(`No article at "${current.slug}".`)
        meta.precondition?.(fresh)
        const before = stateOf(fresh, tagsOfArticles([fresh.id]).get(fresh.id) ?? [])
        if (write.slug !== fresh.slug) {
          tx.delete(articleSlugHistory).where(eq(articleSlugHistory.slug, write.slug)).run()
          tx.insert(articleSlugHistory).values({ slug: fresh.slug, articleId: fresh.id })
            .onConflictDoUpdate({ target: articleSlugHistory.slug, set: { articleId: fresh.id } }).run()
        }
        writeRelations(tx, fresh.id, { tags: tagNames, authors: write.authors }, now)
        const next = { ...fresh, ...write, authors: JSON.stringify(write.authors) }
        const after = stateOf(next, tagsOfArticles([fresh.id]).get(fresh.id) ?? [])
        const changed = changedFields(before, after)
        if (changed.length === 0) return fresh
        const updated = tx.update(articles).set({ ...write, authors: next.authors, updatedAt: now, revision: fresh.revision + 1 })
          .where(eq(articles.id, fresh.id)).returning().get()!
        history.changed(fresh.id,
          { revision: fresh.revision, at: fresh.updatedAt, state: before },
          { revision: updated.revision, at: now, state: after }, changed, meta)
        return updated
      }, { behavior: 'immediate' })
      try {
        return toArticle(transaction())
      } catch (err) {
        throw slugConflict(err, write.slug)
      }
    },

    async tagSlugs (articleId: number): Promise<string[]> {
      return (tagsOfArticles([articleId]).get(articleId) ?? []).map((t) => t.slug)
    },

    /** The slugs these tag names resolve to (existing tags by slug or name, else the name's slug). */
    async resolveTagSlugs (names: string[]): Promise<string[]> {
      return tagSlugsOfNames(db, names)
    },

    async delete (id: number): Promise<void> {
      db.delete(articles).where(eq(articles.id, id)).run()
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
