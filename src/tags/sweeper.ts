// Removes deleted tags from their articles, a slice at a time. DELETE /v1/tags/{slug} only marks the tag
// (tags.deleted_at): from that moment no reader sees it (every query of a tag, and the tags of articles,
// skip deleted ones). The article_tags rows go afterwards, SLICE per transaction, with the event loop free
// between slices, so a tag on 200,000 articles costs the site nothing noticeable; then the tag row goes.
// Their search index entries are left alone: they hold the tag's id, which no search asks for again
// (migrations/0009_bounded_counts_search.sql). Safe with several processes (each slice is one immediate
// transaction) and across restarts (src/plugins/upkeep.ts resumes at start).
import type { Db } from '../db/connection.js'

/** Rows removed per transaction: about 10 ms of work each. */
export const SLICE = 2000

export function tagSweeper (db: Db, slice = SLICE) {
  const sqlite = db.$client
  const next = sqlite.prepare('SELECT id FROM tags WHERE deleted_at IS NOT NULL ORDER BY id LIMIT 1').pluck()
  const removeSlice = sqlite.prepare('DELETE FROM article_tags WHERE rowid IN (SELECT rowid FROM article_tags WHERE tag_id = ? LIMIT ?)')
  const drop = sqlite.prepare('DELETE FROM tags WHERE id = ? AND deleted_at IS NOT NULL')
  const step = sqlite.transaction((): boolean => {
    const id = next.get() as number | undefined
    if (id === undefined) return false
    if (removeSlice.run(id, slice).changes === 0) drop.run(id)
    return true
  })
  return {
    /** One slice of work; false when no deleted tag is left. */
    async step (): Promise<boolean> {
      return step.immediate()
    }
  }
}

export type TagSweeper = ReturnType<typeof tagSweeper>
