// The article repository (./repository.ts) on PostgreSQL, for any number of processes on one database.
//
// Concurrency. Every article write is one transaction that first takes the event
// log's order lock (src/events/outbox.pg.ts, lockEventOrder), then announces due publications, then locks
// the article's row (`FOR UPDATE`) and compares it with what the request checked (If-Match), then writes
// the article, its slug history, tags, authors, revision and event. Taking the order lock first, before
// any row lock, is what keeps these transactions free of deadlocks: a transaction that holds the lock
// never waits for a row another article write holds, since that one is still waiting for the lock and
// holds nothing. It serialises article writes from their start to their commit, which SQLite's BEGIN
// IMMEDIATE does for every write; reads never wait. So two PATCHes with the same If-Match on two
// processes never both succeed: the second finds the row changed under its lock and starts again from a
// fresh read, where its If-Match is a 412 (test/pg/articles.test.ts races them on two pools).
//
// Rows carry their tags. The port's `toArticle(row)` is synchronous (an ETag is computed inside the
// write's check), and an article's tags are rows of another table, which SQLite reads synchronously and
// PostgreSQL cannot: so every row this adapter hands out (findRowBySlug, the row locked in a write) is
// read together with its tags, kept beside it in a WeakMap, and toArticle reads them there.
//
// Stored representations: as on SQLite (./stored.ts), each write stores its article's form in its
// transaction, and a GET reads it in one statement (./stored.pg.ts, which says why many processes leave
// no stale form).
import { and, eq, gt, inArray, min, sql } from 'drizzle-orm'
import { articleWriteKeys, dependencyKeys } from '../db/change-clock.js'
import { declaration, declareKeys } from '../db/pg/change-clock.js'
import type { PgDb, PgTx } from '../db/pg/connection.js'
import { articleAuthors, articles, articleSlugHistory } from '../db/pg/schema.js'
import { lockEventOrder, lockEventOrderWith, type OutboxPg } from '../events/outbox.pg.js'
import { StaleRead } from '../http/errors.js'
import { changedFields, stateOf } from '../revisions/fields.js'
import { revisionWriterPg } from '../revisions/store.pg.js'
import { articleTagNamesPg, setArticleTagsPg, tagsOfArticlesPg } from '../tags/article-tags.pg.js'
import type { TagRef } from '../tags/schemas.js'
import { articleAnnouncementsPg, ROW_COLUMNS } from './announcements.pg.js'
import { articleListingPg } from './listing/index.pg.js'
import type { ArticleListParams, ArticleRow } from './listing/index.js'
import { listPage, SlugTaken, summaryOf, type ArticleRepository, type ArticleWrite, type ListedPage, type WriteMeta } from './repository.js'
import type { Article } from './schemas.js'
import { assemble, type ArticleAnswer } from './stored.js'
import { fillFormsPg, missingFormsPg, readStoredPg, storeFormPg } from './stored.pg.js'
import { isPublicAt, isVisible, type Visibility } from './visibility.js'

/** SQLSTATE of a unique violation. */
const UNIQUE_VIOLATION = '23505'

/** Tags read with each row handed out (see above). */
const tagsOfRow = new WeakMap<ArticleRow, TagRef[]>()

async function withTags (db: PgDb | PgTx, row: ArticleRow): Promise<ArticleRow> {
  tagsOfRow.set(row, (await tagsOfArticlesPg(db, [row.id])).get(row.id) ?? [])
  return row
}

const articleOf = (row: ArticleRow, tagRefs: TagRef[]): Article => ({ ...summaryOf(row, tagRefs), body: row.body, bodyHtml: row.bodyHtml })

/** An article as the event log tells it, read with its tags inside `tx`. */
const articleIn = async (tx: PgTx, row: ArticleRow): Promise<Article> => articleOf(row, (await tagsOfArticlesPg(tx, [row.id])).get(row.id) ?? [])

/**
 * Announces the due publications inside another writer's transaction (tags), which, as an article write,
 * has taken the event log's order lock first: its events then follow the publications that came due.
 */
export const dueAnnouncerPg = (db: PgDb, outbox: OutboxPg): (tx: PgTx, at: number) => Promise<number> =>
  articleAnnouncementsPg(db, outbox, articleIn).announceDue

export function articleRepositoryPg (db: PgDb, outbox: OutboxPg, now: () => number): ArticleRepository {
  const tagNames = articleTagNamesPg(db)
  const listing = articleListingPg(db)

  function toArticle (row: ArticleRow): Article {
    const tagRefs = tagsOfRow.get(row)
    // A programming error, never a client's: every row this adapter returns was read with its tags.
    if (tagRefs === undefined) throw new Error('toArticle: a row read without its tags (src/articles/repository.pg.ts)')
    return articleOf(row, tagRefs)
  }

  const announcements = articleAnnouncementsPg(db, outbox, articleIn)

  /**
   * Starts an article write: the event log's order lock with the declaration of `keys` (one statement:
   * every round trip from here to the commit holds the lock), then the due publications announced (so
   * the log shows a scheduled article's publication before any later change to it).
   */
  async function begin (tx: PgTx, at: number, keys: readonly string[]): Promise<void> {
    await lockEventOrderWith(tx, sql`${declaration(keys)} AS declared`)
    await announcements.announceDue(tx, at)
  }

  /** Inside a write: the row locked as it stands now, with its tags, unless it changed since it was read (StaleRead). */
  async function stillCurrent (tx: PgTx, id: number, unchanged: (fresh: ArticleRow) => boolean): Promise<ArticleRow> {
    const [fresh] = await tx.select(ROW_COLUMNS).from(articles).where(eq(articles.id, id)).for('update')
    if (fresh === undefined || !unchanged(await withTags(tx, fresh))) throw new StaleRead()
    return fresh
  }

  async function assertSlugFree (tx: PgTx, slug: string, selfId: number | null): Promise<void> {
    const [owner] = await tx.select({ id: articles.id }).from(articles).where(eq(articles.slug, slug))
    if (owner !== undefined && owner.id !== selfId) throw new SlugTaken(slug)
  }

  /** Writes the tags and authors given; `authorsWere`: the row's stored authors, when they need no rewrite if unchanged. */
  async function writeRelations (tx: PgTx, id: number, input: { tags?: string[] | undefined, authors?: string[] }, at: number, authorsWere?: string): Promise<void> {
    if (input.tags !== undefined) await setArticleTagsPg(tx, id, await tagNames.ensureIds(tx, input.tags, at))
    if (input.authors !== undefined && JSON.stringify(input.authors) !== authorsWere) {
      await tx.delete(articleAuthors).where(eq(articleAuthors.articleId, id))
      if (input.authors.length > 0) await tx.insert(articleAuthors).values(input.authors.map((name) => ({ articleId: id, name })))
    }
  }

  const tagsOf = async (tx: PgTx, id: number): Promise<TagRef[]> => (await tagsOfArticlesPg(tx, [id])).get(id) ?? []

  /** A slug taken by a write that committed between the check and the insert: the unique index says so. */
  async function slugChecked<T> (slug: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } catch (err) {
      const e = err as { code?: string, constraint?: string }
      if (e.code === UNIQUE_VIOLATION && e.constraint === 'articles_slug_unique') throw new SlugTaken(slug)
      throw err
    }
  }

  return {
    toArticle,

    /**
     * The first scheduled publication due after `at` of an article not yet due when last written, for the
     * public cache's horizon (as ./repository.ts's; one seek of articles_status_published_idx). The cache
     * stores nothing in an epoch until this has answered.
     */
    async nextPublicationAfter (at: number): Promise<number | null> {
      const [row] = await db.select({ at: min(articles.publishedAt) }).from(articles)
        .where(and(eq(articles.status, 'published'), gt(articles.publishedAt, at), gt(articles.publishedAt, articles.updatedAt)))
      return row?.at ?? null
    },

    async announceDuePublications (at: number): Promise<number> {
      return db.transaction(async (tx) => {
        await lockEventOrder(tx)
        // An announcement is no public answer's change (./announcements.pg.ts): no key to drop.
        await declareKeys(tx, [])
        return announcements.announceDue(tx, at)
      })
    },

    async nextScheduledPublication (): Promise<number | null> {
      return announcements.nextDue()
    },

    /**
     * The answer to GET of the article at `slug`, if the caller sees it: its stored form with the current
     * tags and comment count spliced in (one prepared statement), or, for an article that has none yet, a
     * fresh assembly.
     */
    async answer (slug: string, visibility: Visibility): Promise<ArticleAnswer | undefined> {
      const read = await readStoredPg(db, slug, visibility)
      if (read === undefined || !('missing' in read)) return read
      const [row] = await db.select(ROW_COLUMNS).from(articles).where(eq(articles.id, read.id))
      // Another process may have written between the two statements: visibility is checked again.
      return row && isVisible(row, visibility) ? assemble(toArticle(await withTags(db, row))).answer : undefined
    },

    fresh: (article: Article): ArticleAnswer => assemble(article).answer,

    etagOf: (row: ArticleRow): string => assemble(toArticle(row)).answer.etag,

    contentOf: (row: ArticleRow): string => assemble({ ...toArticle(row), commentCount: 0 }).answer.etag,

    /**
     * Stores the forms missing among the next `rows` articles after id `after` (a slice of the backfill,
     * one transaction that declares no public change). Returns the last id looked at, or null when done.
     */
    async backfill (after: number, rows: number): Promise<number | null> {
      const { ids, last } = await missingFormsPg(db, after, rows)
      if (ids.length === 0) return last
      const found = await db.select(ROW_COLUMNS).from(articles).where(inArray(articles.id, ids))
      const tagMap = await tagsOfArticlesPg(db, found.map((r) => r.id))
      const forms = found.map((row) => ({ id: row.id, revision: row.revision, form: assemble(articleOf(row, tagMap.get(row.id) ?? [])).stored }))
      await db.transaction(async (tx) => {
        await declareKeys(tx, [])
        await fillFormsPg(tx, forms)
      })
      return last
    },

    async findRowBySlug (slug: string, visibility: Visibility): Promise<ArticleRow | undefined> {
      const [row] = await db.select(ROW_COLUMNS).from(articles).where(eq(articles.slug, slug))
      return row && isVisible(row, visibility) ? withTags(db, row) : undefined
    },

    async findRenamed (slug: string, visibility: Visibility): Promise<string | undefined> {
      const [row] = await db.select({ slug: articles.slug, status: articles.status, publishedAt: articles.publishedAt })
        .from(articleSlugHistory).innerJoin(articles, eq(articles.id, articleSlugHistory.articleId))
        .where(eq(articleSlugHistory.slug, slug))
      return row && isVisible(row, visibility) ? row.slug : undefined
    },

    async slugTaken (slug: string, exceptId?: number): Promise<boolean> {
      const [row] = await db.select({ id: articles.id }).from(articles).where(eq(articles.slug, slug))
      return row !== undefined && row.id !== exceptId
    },

    async create (write: ArticleWrite, tagNames: string[], at: number, meta: WriteMeta): Promise<Article> {
      return slugChecked(write.slug, () => db.transaction(async (tx) => {
        // No answer was kept for an id not made yet: the lists' keys cover its row, then all of its own.
        await begin(tx, at, [dependencyKeys.articles, dependencyKeys.tags])
        await assertSlugFree(tx, write.slug, null)
        const visible = isPublicAt(write, at)
        const [inserted] = await tx.insert(articles).values({
          ...write, authors: JSON.stringify(write.authors), createdAt: at, updatedAt: at, revision: 1, announced: visible
        }).returning(ROW_COLUMNS)
        await declareKeys(tx, articleWriteKeys(inserted!.id))
        await tx.delete(articleSlugHistory).where(eq(articleSlugHistory.slug, write.slug))
        await writeRelations(tx, inserted!.id, { tags: tagNames, authors: write.authors }, at)
        const row = await withTags(tx, inserted!)
        await revisionWriterPg.created(tx, row.id, { revision: row.revision, at, state: stateOf(row, tagsOfRow.get(row)!) }, meta)
        const article = toArticle(row)
        await storeFormPg(tx, article.id, assemble(article).stored)
        await announcements.recordChange(tx, undefined, { article, visible }, at)
        return article
      }))
    },

    async update (current: ArticleRow, write: ArticleWrite, tagNames: string[] | undefined, at: number, unchanged: (fresh: ArticleRow) => boolean, meta: WriteMeta): Promise<Article> {
      return slugChecked(write.slug, () => db.transaction(async (tx) => {
        await begin(tx, at, articleWriteKeys(current.id))
        const fresh = await stillCurrent(tx, current.id, unchanged)
        const before = stateOf(fresh, tagsOfRow.get(fresh)!)
        if (write.slug !== fresh.slug) {
          await assertSlugFree(tx, write.slug, fresh.id)
          await tx.delete(articleSlugHistory).where(eq(articleSlugHistory.slug, write.slug))
          await tx.insert(articleSlugHistory).values({ slug: fresh.slug, articleId: fresh.id })
            .onConflictDoUpdate({ target: articleSlugHistory.slug, set: { articleId: fresh.id } })
        }
        await writeRelations(tx, fresh.id, { tags: tagNames, authors: write.authors }, at, fresh.authors)
        const next = { ...fresh, ...write, authors: JSON.stringify(write.authors) }
        // The tags as written: read back when the write set them, else as stillCurrent read them (locked).
        const tagsAfter = tagNames === undefined ? tagsOfRow.get(fresh)! : await tagsOf(tx, fresh.id)
        const after = stateOf(next, tagsAfter)
        const changed = changedFields(before, after)
        if (changed.length === 0) return toArticle(fresh)
        const visible = isPublicAt(write, at)
        const [updated] = await tx.update(articles).set({ ...write, authors: next.authors, updatedAt: at, revision: fresh.revision + 1, announced: visible })
          .where(eq(articles.id, fresh.id)).returning(ROW_COLUMNS)
        await revisionWriterPg.changed(tx, fresh.id,
          { revision: fresh.revision, at: fresh.updatedAt, state: before },
          { revision: updated!.revision, at, state: after }, changed, meta)
        tagsOfRow.set(updated!, tagsAfter)
        const article = toArticle(updated!)
        await storeFormPg(tx, article.id, assemble(article).stored)
        await announcements.recordChange(tx, fresh, { article, visible }, at)
        return article
      }))
    },

    async tagSlugs (articleId: number): Promise<string[]> {
      return ((await tagsOfArticlesPg(db, [articleId])).get(articleId) ?? []).map((t) => t.slug)
    },

    async resolveTagSlugs (names: string[]): Promise<string[]> {
      return tagNames.slugsOf(names)
    },

    async delete (current: ArticleRow, unchanged: (fresh: ArticleRow) => boolean): Promise<void> {
      const at = now()
      await db.transaction(async (tx) => {
        await begin(tx, at, articleWriteKeys(current.id))
        const fresh = await stillCurrent(tx, current.id, unchanged)
        await tx.delete(articles).where(eq(articles.id, current.id))
        await announcements.recordChange(tx, fresh, null, at)
      })
    },

    async list (p: ArticleListParams): Promise<ListedPage> {
      const { rows, total, snippets, tags } = await listing.list(p)
      return listPage(rows, total, tags, snippets)
    },

    explainList: listing.explain
  }
}
