// Removes deleted tags from their articles, a slice at a time. DELETE /v1/tags/{slug} only marks the tag
// (tags.deleted_at): from that moment no reader sees it (every query of a tag, and the tags of articles,
// skip deleted ones). The article_tags rows go afterwards, SLICE per transaction, with the event loop free
// between slices, so a tag on 200,000 articles costs the site nothing noticeable; then the tag row goes.
// Their search index entries are left alone: they hold the tag's id, which no search asks for again
// (migrations/0009_bounded_counts_search.sql). Safe with several processes (each slice is one immediate
// transaction) and across restarts (src/plugins/upkeep.ts resumes at start).
import type { Db } from '../db/connection.js'

/**
 * Rows removed per transaction. Each row's removal dirties pages spread over article_tags and its primary
 * key, so a slice's cost is mostly pages read and written: at a million articles, 500 rows take a few ms.
 */
export const SLICE = 500

export function tagSweeper (db: Db, slice = SLICE) {
  const sqlite = db.$client
  const next = sqlite.prepare('SELECT id FROM tags WHERE deleted_at IS NOT NULL ORDER BY id LIMIT 1').pluck()
  const removeSlice = sqlite.prepare('DELETE FROM article_tags WHERE rowid IN (SELECT rowid FROM article_tags WHERE tag_id = ? LIMIT ?)')
  const drop = sqlite.prepare('DELETE FROM tags WHERE id = ? AND deleted_at IS NOT NULL')
  const step = sqlite.transaction((rows: number): boolean => {
    const id = next.get() as number | undefined
    if (id === undefined) return false
    if (removeSlice.run(id, rows).changes === 0) drop.run(id)
    return true
  })
  return {
    /** One slice of work, at most `rows` rows (`slice` unless told); false when no deleted tag is left. */
    async step (rows = slice): Promise<boolean> {
      return step.immediate(rows)
    }
  }
}

export type TagSweeper = ReturnType<typeof tagSweeper>
