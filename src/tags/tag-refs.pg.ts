// Articles' tags named from the process's dictionary (./tag-refs.ts) on PostgreSQL: the reads take tag ids
// in the editor's order and the version (TAG_REFS_VERSION) in one statement; the ids the dictionary lacks
// are looked up here, by key, with the version again.
import { sql, type SQL } from 'drizzle-orm'
import { executePrepared, type PgDb, type PgTx } from '../db/pg/connection.js'
import type { TagRef } from './schemas.js'
import { tagRefsOf, TAG_REFS_VERSION_SQL, type TagRefRow, type TagRefs } from './tag-refs.js'

type Conn = PgDb | PgTx

/** The version of the tags (TAG_REFS_VERSION_SQL, the same text on both engines: migrations/pg/0012_tag_refs_version.sql). */
export const TAG_REFS_VERSION = sql.raw(TAG_REFS_VERSION_SQL)

/**
 * The tag ids of the articles whose `article_tags` rows (`at`) `shown` selects, in the editor's order, one
 * row per article (`article_id`, `tags`, an int[]). Joined once for a page: a subquery per article was a
 * scan of the tags each (test/pg/search-plan.test.ts).
 */
export const shownTagIds = (shown: SQL): SQL =>
  sql`SELECT at.article_id, array_agg(at.tag_id ORDER BY at.position) AS tags FROM article_tags at WHERE ${shown} GROUP BY at.article_id`

/**
 * Names the tags of articles read at `version`, each given as its tag ids in the editor's order. Throws
 * TagRefsMoved when the tags moved between the read and the look-up of the ids the dictionary lacked
 * (withSettledTagsAsync makes the read again).
 */
export async function namedTagsPg (db: Conn, refs: TagRefs, version: number, lists: ReadonlyMap<number, readonly number[]>): Promise<Map<number, TagRef[]>> {
  await learnTagsPg(db, refs, version, lists.values())
  const out = new Map<number, TagRef[]>()
  for (const [id, ids] of lists) out.set(id, refs.pairs(version, ids).map(([slug, name]) => ({ slug, name })))
  return out
}

/** Looks up the tags among these lists of ids that the dictionary cannot name at `version` (namedTagsPg). */
export async function learnTagsPg (db: Conn, refs: TagRefs, version: number, lists: Iterable<readonly number[]>): Promise<void> {
  const unknown = refs.unknown(version, [...lists].flat())
  if (unknown.length > 0) {
    // Each id by its key, as a row of its own (a removed tag's comes back empty, with the version).
    const { rows } = await executePrepared<TagRefRow & { version: number }>(db, sql`
      SELECT ${TAG_REFS_VERSION} AS version, u.id, t.slug, t.name, t.deleted_at IS NOT NULL AS deleted
      FROM unnest(${sql.param(unknown)}::int[]) AS u(id) LEFT JOIN LATERAL (SELECT slug, name, deleted_at FROM tags t WHERE t.id = u.id OFFSET 0) t ON true`)
    refs.learn(version, rows[0]!.version, unknown, rows.filter((r) => r.slug !== null))
  }
}

/**
 * The tags of several articles at once, each list in the editor's order, deleted tags left out: their
 * ids and the version in one named statement, named from the dictionary.
 */
export async function tagsOfArticlesNamedPg (db: PgDb, articleIds: number[]): Promise<Map<number, TagRef[]>> {
  const lists = new Map<number, number[]>(articleIds.map((id) => [id, []]))
  if (articleIds.length === 0) return new Map()
  const { rows } = await executePrepared<{ articleId: number, ids: number[], version: number }>(db, sql`
    SELECT at.article_id AS "articleId", array_agg(at.tag_id ORDER BY at.position) AS ids, ${TAG_REFS_VERSION} AS version
    FROM article_tags at WHERE at.article_id = ANY(${sql.param(articleIds)}::int[]) GROUP BY at.article_id`)
  for (const r of rows) lists.set(r.articleId, r.ids)
  if (rows.length === 0) return new Map(articleIds.map((id) => [id, []]))
  return await namedTagsPg(db, tagRefsOf(db), rows[0]!.version, lists)
}
