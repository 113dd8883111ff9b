// What the event log has told consumers about each article, and the events that change it.
//
// `articles.announced` records whether the last article event said "visible" (article.published or
// article.updated) or not (article.unpublished, or nothing yet). Every article write compares it with
// whether the article is visible after the write, at the write's time:
//   announced, visible after      → article.updated
//   not announced, visible after  → article.published
//   announced, not visible after  → article.unpublished (deleted, drafted, archived, rescheduled)
//   neither                       → nothing: a draft or a scheduled article changed, which the public cannot see.
// A scheduled article becomes visible with no write at all: `announceDue` finds the published articles
// whose time has come and are not announced yet (a handful, in the partial index articles_unannounced_idx),
// flips the flag and records article.published in one transaction. The flag is the claim: of two processes
// on one database, the one whose UPDATE changes the row records the event, so it is recorded exactly once.
// Every article, comment and tag write calls announceDue first, inside its own transaction, so the log never
// shows an update or a comment of an article before its article.published.
// Raw SQL on purpose (CONTRIBUTING.md, the data layer): these run inside every write and on every scheduler tick, and the due
// rule's text must stay the triggers' (migrations 0009/0011).
import { eq, sql } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { articles } from '../db/schema.js'
import type { Outbox } from '../events/outbox.js'
import type { ArticleRow } from './listing/index.js'
import type { Article } from './schemas.js'

/** Due publications announced per call; the scheduler calls again until none is left. */
const DUE_BATCH = 100

/** What consumers were last told about an article: its row as read inside the write transaction (after announceDue). */
export interface Announced {
  announced: boolean
  slug: string
}

// Published and due (src/articles/visibility.ts), spelled with `announced = 0`, the condition of the partial index.
// INDEXED BY: the planner would rather take articles_status_published_idx and read every published article's
// row to check `announced` (every visible article, at each write); the partial index holds only the few
// scheduled ones.
export const DUE_SQL = `SELECT id FROM articles INDEXED BY articles_unannounced_idx
  WHERE status = 'published' AND announced = 0 AND published_at <= ? ORDER BY published_at, id LIMIT ${DUE_BATCH}`
export const NEXT_DUE_SQL = `SELECT min(published_at) FROM articles INDEXED BY articles_unannounced_idx
  WHERE status = 'published' AND announced = 0`

export function articleAnnouncements (db: Db, outbox: Outbox, toArticle: (row: ArticleRow) => Article) {
  const due = db.$client.prepare<[number], number>(DUE_SQL).pluck()
  const nextDue = db.$client.prepare<[], number | null>(NEXT_DUE_SQL).pluck()
  const byId = db.select().from(articles).where(eq(articles.id, sql.placeholder('id'))).prepare()
  const claim = db.$client.prepare<[number, number]>('UPDATE articles SET announced = 1 WHERE id = ? AND announced = 0 AND published_at = ?')

  return {
    /**
     * Records article.published for each scheduled article that has come due and is not announced yet;
     * returns how many it looked at (DUE_BATCH means: call again). Runs inside the caller's transaction.
     */
    announceDue (at: number): number {
      const ids = due.all(at)
      for (const id of ids) {
        const row = byId.get({ id })!
        if (claim.run(row.id, row.publishedAt!).changes === 1) outbox.record('article.published', toArticle({ ...row, announced: true }), at)
      }
      return ids.length
    },

    /** The earliest publication time not announced yet (possibly already due), or null. */
    nextDue (): number | null {
      return nextDue.get() ?? null
    },

    /**
     * Records the event for a write that took an article from `before` (undefined: it is new) to `after`
     * (null: deleted). The caller stores `after.visible` as the article's new `announced`.
     */
    recordChange (before: Announced | undefined, after: { article: Article, visible: boolean } | null, at: number): void {
      const was = before?.announced ?? false
      const is = after?.visible ?? false
      if (is && after) outbox.record(was ? 'article.updated' : 'article.published', after.article, at)
      else if (was && before) outbox.record('article.unpublished', { slug: before.slug }, at)
    }
  }
}

export type ArticleAnnouncements = ReturnType<typeof articleAnnouncements>
