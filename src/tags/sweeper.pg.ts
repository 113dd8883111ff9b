// Removes deleted tags from their articles, a slice at a time (./sweeper.ts explains why), on PostgreSQL.
// Each slice is one transaction that takes the event log's order lock first, as every write does: the
// article writes that replace an article's tags (src/tags/article-tags.pg.ts) hold that lock from their
// start, so a slice never interleaves with one of them and the two cannot deadlock on article_tags rows.
// Processes sweeping at once take turns; each slice finds the rows the one before left. The triggers of
// migrations/pg/0002_triggers.sql leave a deleted tag's counts and the articles' search documents alone.
import { sql } from 'drizzle-orm'
import { tagWriteKeys } from '../db/change-clock.js'
import { declareKeys } from '../db/pg/change-clock.js'
import type { PgDb } from '../db/pg/connection.js'
import { lockEventOrder } from '../events/outbox.pg.js'
import { SLICE, type TagSweeper } from './sweeper.js'

export function tagSweeperPg (db: PgDb, slice = SLICE): TagSweeper {
  return {
    async step (rows = slice): Promise<boolean> {
      return db.transaction(async (tx) => {
        await lockEventOrder(tx)
        const { rows: [next] } = await tx.execute<{ id: number, slug: string }>(sql`SELECT id, slug FROM tags WHERE deleted_at IS NOT NULL ORDER BY id LIMIT 1`)
        if (next === undefined) return false
        // What the tag's delete declared: its articles' answers, its page, every list.
        await declareKeys(tx, tagWriteKeys(next.slug))
        // Through article_tags_tag_idx: the slice's rows by their key.
        const removed = await tx.execute(sql`DELETE FROM article_tags WHERE tag_id = ${next.id} AND article_id IN
          (SELECT article_id FROM article_tags WHERE tag_id = ${next.id} LIMIT ${rows})`)
        if (removed.rowCount === 0) await tx.execute(sql`DELETE FROM tags WHERE id = ${next.id} AND deleted_at IS NOT NULL`)
        return true
      })
    }
  }
}
