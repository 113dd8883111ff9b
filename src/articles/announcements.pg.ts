// What the event log has told consumers about each article (./announcements.ts, which explains the rule) on
// PostgreSQL. The claim is the same: `UPDATE … SET announced = true WHERE … AND NOT announced`, so of two
// processes the one whose UPDATE changes the row records article.published, exactly once. Every article
// write calls announceDue first in its own transaction, after taking the event log's order lock (see
// ./repository.pg.ts for why that lock comes first).
import { and, asc, eq, getTableColumns, lte, min, not, sql } from 'drizzle-orm'
import type { PgDb, PgTx } from '../db/pg/connection.js'
import { articles } from '../db/pg/schema.js'
import type { OutboxPg } from '../events/outbox.pg.js'
import type { ArticleRow } from './listing/index.js'
import type { Article } from './schemas.js'
import type { Announced } from './announcements.js'

/** Every column of an article but the search document: what ArticleRow is on both engines. */
export const { search: _search, ...ROW_COLUMNS } = getTableColumns(articles)

/** Due publications announced per call; the scheduler calls again until none is left (as ./announcements.ts). */
const DUE_BATCH = 100

/** Published, due and not announced: the condition of the partial index articles_unannounced_idx, spelled as it is. */
const unannounced = sql`${articles.status} = 'published' AND NOT ${articles.announced}`

export function articleAnnouncementsPg (db: PgDb, outbox: OutboxPg, toArticle: (tx: PgTx, row: ArticleRow) => Promise<Article>) {
  return {
    /**
     * Records article.published for each scheduled article that has come due and is not announced yet;
     * returns how many it looked at (DUE_BATCH means: call again). Runs inside the caller's transaction.
     */
    async announceDue (tx: PgTx, at: number): Promise<number> {
      const due = await tx.select({ id: articles.id, publishedAt: articles.publishedAt }).from(articles)
        .where(and(unannounced, lte(articles.publishedAt, at))).orderBy(asc(articles.publishedAt), asc(articles.id)).limit(DUE_BATCH)
      // These rows change no public answer (`announced` is not shown; events are not cached): whatever the
      // caller's write declared, or did not, covers them.
      for (const { id, publishedAt } of due) {
        const [row] = await tx.update(articles).set({ announced: true })
          .where(and(eq(articles.id, id), not(articles.announced), eq(articles.publishedAt, publishedAt!))).returning(ROW_COLUMNS)
        if (row !== undefined) await outbox.record(tx, 'article.published', await toArticle(tx, row), at)
      }
      return due.length
    },

    /** The earliest publication time not announced yet (possibly already due), or null. */
    async nextDue (): Promise<number | null> {
      const [row] = await db.select({ at: min(articles.publishedAt) }).from(articles).where(unannounced)
      return row?.at ?? null
    },

    /** As ./announcements.ts's recordChange, inside `tx`. */
    async recordChange (tx: PgTx, before: Announced | undefined, after: { article: Article, visible: boolean } | null, at: number): Promise<void> {
      const was = before?.announced ?? false
      const is = after?.visible ?? false
      if (is && after) await outbox.record(tx, was ? 'article.updated' : 'article.published', after.article, at)
      else if (was && before) await outbox.record(tx, 'article.unpublished', { slug: before.slug }, at)
    }
  }
}
