// Reads of an article's history (./repository.ts) on PostgreSQL. Each read is one REPEATABLE READ, read-only
// transaction: every statement in it sees the same snapshot, so the article row (which holds the current
// revision) and the stored revisions are seen at the same moment whatever another process commits
// meanwhile, as SQLite's one read transaction gives. What the rows mean is ./repository.ts's (revisionPage,
// revisionAt); bodies are bytea, read as Buffers.
//
// Restoring a revision is not here: it is an article write (src/revisions/routes.ts reads the state with
// `load`, then PATCHes through the article service), so on PostgreSQL it is src/articles/repository.pg.ts's
// update: the event log's order lock first, the article row locked and compared with the If-Match, then
// the write, its revision and its events, in one transaction.
import { and, asc, count, desc, eq, gte, inArray, lt, lte } from 'drizzle-orm'
import { SNAPSHOT, type PgDb, type PgTx } from '../db/pg/connection.js'
import { articleRevisions, articles, tags } from '../db/pg/schema.js'
import { ROW_COLUMNS } from '../articles/announcements.pg.js'
import { tagsOfArticlesPg } from '../tags/article-tags.pg.js'
import type { TagRef } from '../tags/schemas.js'
import { stateOf } from './fields.js'
import { loadRange, namedNow, revisionAt, revisionPage, type RevisionRepository } from './repository.js'

export function revisionRepositoryPg (db: PgDb): RevisionRepository {
  /** The current names of these tags, by slug. */
  async function namesOf (tx: PgTx, refs: TagRef[]): Promise<Map<string, string>> {
    if (refs.length === 0) return new Map()
    const rows = await tx.select({ slug: tags.slug, name: tags.name }).from(tags).where(inArray(tags.slug, refs.map((t) => t.slug)))
    return new Map(rows.map((t) => [t.slug, t.name]))
  }

  return {
    async list (articleId, p) {
      return db.transaction(async (tx) => {
        const [article] = await tx.select({ revision: articles.revision, updatedAt: articles.updatedAt }).from(articles).where(eq(articles.id, articleId))
        if (article === undefined) return undefined
        const rows = await tx.select().from(articleRevisions)
          .where(and(eq(articleRevisions.articleId, articleId), p.before === undefined ? undefined : lt(articleRevisions.revision, p.before)))
          .orderBy(desc(articleRevisions.revision)).limit(p.limit + 1)
        const [own] = await tx.select({ n: count() }).from(articleRevisions)
          .where(and(eq(articleRevisions.articleId, articleId), eq(articleRevisions.revision, article.revision)))
        const stored = p.withTotal
          ? (await tx.select({ n: count() }).from(articleRevisions).where(eq(articleRevisions.articleId, articleId)))[0]!.n
          : undefined
        return revisionPage(article, rows, own!.n > 0, p, stored)
      }, SNAPSHOT)
    },

    async load (articleId, revision) {
      return db.transaction(async (tx) => {
        const [article] = await tx.select(ROW_COLUMNS).from(articles).where(eq(articles.id, articleId))
        if (article === undefined || revision > article.revision) return undefined
        const range = loadRange(article, revision)
        const rows = await tx.select().from(articleRevisions)
          .where(and(eq(articleRevisions.articleId, articleId), gte(articleRevisions.revision, range.from), lte(articleRevisions.revision, range.to)))
          .orderBy(asc(articleRevisions.revision))
        const live = stateOf(article, (await tagsOfArticlesPg(tx, [article.id])).get(article.id) ?? [])
        const found = revisionAt(article, revision, rows, live)
        if (found === undefined || found.named) return found
        return { info: found.info, state: { ...found.state, tags: namedNow(found.state.tags, await namesOf(tx, found.state.tags)) } }
      }, SNAPSHOT)
    }
  }
}
