// Reads of an article's history. Each read runs in one transaction, so the article row (which holds
// the current revision) and the stored revisions are seen at the same moment, whatever another process
// writes meanwhile.
import { and, asc, count, desc, eq, gte, inArray, lt, lte } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { articleRevisions, articles, tags } from '../db/schema.js'
import type { TagRef } from '../tags/schemas.js'
import { tagReader } from '../tags/article-tags.js'
import { decodeDelta, decompressBody, KEYFRAME_EVERY } from './body-delta.js'
import { completeState, stateOf, type ArticleState, type StoredState, type VersionedField } from './fields.js'
import { tagsWritten, UNKNOWN_AUTHOR } from './store.js'

export interface RevisionInfo {
  revision: number
  createdAt: number
  author: string
  changed: VersionedField[]
  restoredFrom: number | null
}

type RevisionRow = typeof articleRevisions.$inferSelect
type ArticleRow = typeof articles.$inferSelect

const infoOf = (row: RevisionRow): RevisionInfo => ({
  revision: row.revision,
  createdAt: row.createdAt,
  author: row.author,
  changed: JSON.parse(row.changed) as VersionedField[],
  restoredFrom: row.restoredFrom
})

/** The current revision of an article that has no row for it (written before history was kept, or outside the API). */
const unrecorded = (article: Pick<ArticleRow, 'revision' | 'updatedAt'>): RevisionInfo =>
  ({ revision: article.revision, createdAt: article.updatedAt, author: UNKNOWN_AUTHOR, changed: [], restoredFrom: null })

/** A history that cannot be read back (a defect): a 500, logged with the article's id. */
class BrokenHistory extends Error {}

export function revisionRepository (db: Db) {
  const tagsOf = tagReader(db)
  const articleById = (tx: Pick<Db, 'select'>, id: number) => tx.select().from(articles).where(eq(articles.id, id)).get()

  return {
    /**
     * A page of an article's revisions, newest first, after the revision `before` (exclusive), with
     * one row more than `limit` when there are more; the total on request. Undefined if the article is gone.
     */
    async list (articleId: number, p: { limit: number, before?: number, withTotal: boolean }): Promise<{ items: RevisionInfo[], total?: number } | undefined> {
      return db.transaction((tx) => {
        const article = tx.select({ revision: articles.revision, updatedAt: articles.updatedAt }).from(articles).where(eq(articles.id, articleId)).get()
        if (article === undefined) return undefined
        const rows = tx.select().from(articleRevisions)
          .where(and(eq(articleRevisions.articleId, articleId), p.before === undefined ? undefined : lt(articleRevisions.revision, p.before)))
          .orderBy(desc(articleRevisions.revision)).limit(p.limit + 1).all()
        const items = rows.map(infoOf)
        // The current revision comes first, from the article, when it has no row of its own.
        const unrecordedCurrent = !hasRow(tx, articleId, article.revision)
        if (unrecordedCurrent && (p.before === undefined || article.revision < p.before)) items.unshift(unrecorded(article))
        const total = p.withTotal
          ? tx.select({ n: count() }).from(articleRevisions).where(eq(articleRevisions.articleId, articleId)).get()!.n + (unrecordedCurrent ? 1 : 0)
          : undefined
        return { items: items.slice(0, p.limit + 1), total }
      })
    },

    /**
     * Revision `revision` of an article: who made it and the article as it was. Undefined when the
     * article or that revision does not exist.
     */
    async load (articleId: number, revision: number): Promise<{ info: RevisionInfo, state: ArticleState } | undefined> {
      return db.transaction((tx) => {
        const article = articleById(tx, articleId)
        if (article === undefined || revision > article.revision) return undefined
        // Reading down from the first row that holds every field (a keyframe or the current revision),
        // which is at most KEYFRAME_EVERY revisions above.
        const rows = tx.select().from(articleRevisions)
          .where(and(eq(articleRevisions.articleId, articleId), gte(articleRevisions.revision, revision),
            lte(articleRevisions.revision, Math.min(article.revision, revision + KEYFRAME_EVERY))))
          .orderBy(asc(articleRevisions.revision)).all()
        const live = stateOf(article, tagsOf([article.id]).get(article.id) ?? [])
        if (revision === article.revision) {
          return { info: rows[0] === undefined ? unrecorded(article) : infoOf(rows[0]), state: live }
        }
        if (rows[0]?.revision !== revision) return undefined
        // Older revisions were stored relative to the current one as it was written (its tags then).
        const written = tagsWritten(rows.find((r) => r.revision === article.revision))
        const state = reconstruct(article, rows, written === undefined ? live : { ...live, tags: written })
        return { info: infoOf(rows[0]), state: { ...state, tags: namedNow(tx, state.tags) } }
      })
    }
  }

  /** Tags under their current names (a tag is its slug): a tag deleted since keeps the name it had. */
  function namedNow (tx: Pick<Db, 'select'>, refs: TagRef[]): TagRef[] {
    if (refs.length === 0) return refs
    const names = new Map(tx.select({ slug: tags.slug, name: tags.name }).from(tags)
      .where(inArray(tags.slug, refs.map((t) => t.slug))).all().map((t) => [t.slug, t.name]))
    return refs.map((t) => ({ slug: t.slug, name: names.get(t.slug) ?? t.name }))
  }

  function hasRow (tx: Pick<Db, 'select'>, articleId: number, revision: number): boolean {
    return tx.select({ n: count() }).from(articleRevisions)
      .where(and(eq(articleRevisions.articleId, articleId), eq(articleRevisions.revision, revision))).get()!.n > 0
  }
}

/**
 * The state of rows[0]: from the first row above it that holds every field (or the current article),
 * each delta applied in turn going down. Rows are consecutive revisions, ascending.
 */
function reconstruct (article: ArticleRow, rows: RevisionRow[], current: ArticleState): ArticleState {
  let top = rows.findIndex((r) => r.kind !== 'delta')
  if (top === -1 || rows.some((r, i) => r.revision !== rows[0]!.revision + i)) {
    throw new BrokenHistory(`The history of article ${article.id} has no full state above revision ${rows[0]!.revision}.`)
  }
  const anchor = rows[top]!
  let state: ArticleState = anchor.kind === 'current'
    ? current
    : { ...completeState(JSON.parse(anchor.state!) as Partial<StoredState>), body: decompressBody(anchor.body!) }
  while (top > 0) {
    const row = rows[--top]!
    state = { ...state, ...(JSON.parse(row.state!) as Partial<StoredState>), body: decodeDelta(state.body, row.body) }
  }
  return state
}

export type RevisionRepository = ReturnType<typeof revisionRepository>
