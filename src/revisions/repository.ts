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

export type RevisionRow = typeof articleRevisions.$inferSelect
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

/**
 * A page of `list` from what was read (engine-free, ./repository.pg.ts uses it too): `rows` newest first,
 * `recorded` whether the current revision has a row, `stored` how many rows the article has (on request).
 */
export function revisionPage (article: Pick<ArticleRow, 'revision' | 'updatedAt'>, rows: RevisionRow[], recorded: boolean,
  p: { limit: number, before?: number | undefined }, stored: number | undefined): { items: RevisionInfo[], total?: number } {
  const items = rows.map(infoOf)
  // The current revision comes first, from the article, when it has no row of its own.
  if (!recorded && (p.before === undefined || article.revision < p.before)) items.unshift(unrecorded(article))
  const total = stored === undefined ? undefined : stored + (recorded ? 0 : 1)
  return { items: items.slice(0, p.limit + 1), total }
}

/** The rows `load` reads for `revision`: from it up to the first one that holds every field (or the current one). */
export const loadRange = (article: Pick<ArticleRow, 'revision'>, revision: number): { from: number, to: number } =>
  ({ from: revision, to: Math.min(article.revision, revision + KEYFRAME_EVERY) })

/**
 * What `load` answers from what it read (engine-free, ./repository.pg.ts uses it too): `rows` are those of
 * loadRange, ascending, `live` the article's state now. An older state's tags still need their current
 * names (`named` false: the caller looks them up, see namedNow).
 */
export function revisionAt (article: ArticleRow, revision: number, rows: RevisionRow[], live: ArticleState): { info: RevisionInfo, state: ArticleState, named: boolean } | undefined {
  if (revision === article.revision) return { info: rows[0] === undefined ? unrecorded(article) : infoOf(rows[0]), state: live, named: true }
  if (rows[0]?.revision !== revision) return undefined
  // Older revisions were stored relative to the current one as it was written (its tags then).
  const written = tagsWritten(rows.find((r) => r.revision === article.revision))
  return { info: infoOf(rows[0]), state: reconstruct(article, rows, written === undefined ? live : { ...live, tags: written }), named: false }
}

/** Tags under their current names (a tag is its slug; `names` maps slugs to names): a tag deleted since keeps the name it had. */
export const namedNow = (refs: TagRef[], names: Map<string, string>): TagRef[] =>
  refs.map((t) => ({ slug: t.slug, name: names.get(t.slug) ?? t.name }))

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
        const stored = p.withTotal ? tx.select({ n: count() }).from(articleRevisions).where(eq(articleRevisions.articleId, articleId)).get()!.n : undefined
        return revisionPage(article, rows, hasRow(tx, articleId, article.revision), p, stored)
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
        const range = loadRange(article, revision)
        const rows = tx.select().from(articleRevisions)
          .where(and(eq(articleRevisions.articleId, articleId), gte(articleRevisions.revision, range.from), lte(articleRevisions.revision, range.to)))
          .orderBy(asc(articleRevisions.revision)).all()
        const found = revisionAt(article, revision, rows, stateOf(article, tagsOf([article.id]).get(article.id) ?? []))
        if (found === undefined || found.named) return found
        return { info: found.info, state: { ...found.state, tags: namedNow(found.state.tags, namesOf(tx, found.state.tags)) } }
      })
    }
  }

  /** The current names of these tags, by slug. */
  function namesOf (tx: Pick<Db, 'select'>, refs: TagRef[]): Map<string, string> {
    if (refs.length === 0) return new Map()
    return new Map(tx.select({ slug: tags.slug, name: tags.name }).from(tags)
      .where(inArray(tags.slug, refs.map((t) => t.slug))).all().map((t) => [t.slug, t.name]))
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
