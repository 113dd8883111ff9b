// Tag rows as articles use them (./article-tags.ts) on PostgreSQL: awaited inside the article's write
// transaction. The search document needs no re-indexing here: the statement-level triggers on article_tags
// (migrations/pg/0002_triggers.sql) rebuild it once per statement, so replacing an article's tags (one
// DELETE, one INSERT) re-indexes it twice at most, not once per tag.
import { and, asc, eq, isNull, ne, sql } from 'drizzle-orm'
import { executePrepared, type PgDb, type PgTx } from '../db/pg/connection.js'
import { articleTags, tags } from '../db/pg/schema.js'
import { invalid } from '../http/errors.js'
import { tagNameKey, type TagNameKey } from './article-tags.js'
import type { TagRef } from './schemas.js'

type Conn = PgDb | PgTx

/**
 * Which existing tag a name means (./article-tags.ts, tagNameOwner): the one whose slug is the name's slug,
 * else the oldest whose name is the same, compared case-insensitively, as `lower(name) COLLATE "C"` (the
 * expression of tags_name_idx; for ASCII names the same as SQLite's NOCASE, for others as the database's
 * LC_CTYPE folds them: README, Scale-out, "Where the engines differ"). A deleted tag means nothing; with `self`, that tag is left out.
 */
export async function tagNameOwnerPg (db: Conn, key: TagNameKey, self?: number): Promise<{ id: number, slug: string } | undefined> {
  const others = self === undefined ? undefined : ne(tags.id, self)
  const [bySlug] = await db.select({ id: tags.id, slug: tags.slug }).from(tags)
    .where(and(eq(tags.slug, key.slug), isNull(tags.deletedAt), others)).limit(1)
  if (bySlug !== undefined) return bySlug
  const [byName] = await db.select({ id: tags.id, slug: tags.slug }).from(tags)
    .where(and(sql`(lower(${tags.name}) COLLATE "C") = (lower(${key.name}) COLLATE "C")`, isNull(tags.deletedAt), others))
    .orderBy(asc(tags.id)).limit(1)
  return byName
}

/** What articles do with tag names (./article-tags.ts, articleTagNames). */
export function articleTagNamesPg (db: PgDb) {
  return {
    /**
     * Tag ids for names, in the given order: matched by slug or name, created when unknown. Duplicates
     * collapse. A tag another transaction creates at the same moment is taken, not created twice (the
     * partial unique index on live slugs decides).
     */
    async ensureIds (tx: PgTx, names: string[], now: number, pointer = '/tags'): Promise<number[]> {
      const ids: number[] = []
      for (const [i, raw] of names.entries()) {
        const key = tagNameKey(raw)
        if (key.slug === '') throw invalid('body', `${pointer}/${i}`, 'must contain a letter or digit')
        let id = (await tagNameOwnerPg(tx, key))?.id
        if (id === undefined) {
          const [made] = await tx.insert(tags).values({ slug: key.slug, name: key.name, createdAt: now, updatedAt: now })
            .onConflictDoNothing({ target: tags.slug, where: sql`deleted_at IS NULL` }).returning({ id: tags.id })
          id = made?.id ?? (await tagNameOwnerPg(tx, key))!.id
        }
        if (!ids.includes(id)) ids.push(id)
      }
      return ids
    },

    /** The slugs that ensureIds would give these names, without creating anything. Duplicates collapse. */
    async slugsOf (names: string[]): Promise<string[]> {
      const out: string[] = []
      for (const raw of names) {
        const key = tagNameKey(raw)
        out.push((await tagNameOwnerPg(db, key))?.slug ?? key.slug)
      }
      return [...new Set(out)]
    }
  }
}

/** Replaces an article's tags with these, keeping their order (the triggers keep counts and the search document). */
export async function setArticleTagsPg (tx: PgTx, articleId: number, tagIds: number[]): Promise<void> {
  await tx.delete(articleTags).where(eq(articleTags.articleId, articleId))
  if (tagIds.length > 0) await tx.insert(articleTags).values(tagIds.map((tagId, position) => ({ articleId, tagId, position })))
}

/**
 * Joins each `article_tags` row `at` to its tag `t` (slug, name) by the tag's key, a deleted tag left out:
 * what tagsOfArticlesPg uses, for an article's writes and the stored forms' backfill. (The reads of pages
 * and of an article take tag ids and name them from the process's dictionary: ./tag-refs.pg.ts, which
 * looks up the names it lacks by key in the same way.) Joined instead, the planner hashed the whole tags
 * table for a page's tag rows (20,000 tags read for a front page's 200) or walked its key up to the page's
 * highest id (test/pg/tag-page-plan.test.ts, test/pg/search-plan.test.ts, test/pg/stored-read-plan.test.ts).
 * `OFFSET 0` keeps the lookup a subquery of its own, not a join.
 */
export const TAG_BY_KEY_TEXT = 'CROSS JOIN LATERAL (SELECT slug, name FROM tags t WHERE t.id = at.tag_id AND t.deleted_at IS NULL OFFSET 0) t'
export const TAG_BY_KEY = sql.raw(TAG_BY_KEY_TEXT)

/**
 * The tags of several articles at once, each list in the editor's order (./article-tags.ts, tagReader).
 * One named prepared statement whatever the number of articles (the ids as one array): every list page
 * asks it, and PostgreSQL then parses and plans it once per connection. Each tag by its key (TAG_BY_KEY).
 */
export async function tagsOfArticlesPg (db: Conn, articleIds: number[]): Promise<Map<number, TagRef[]>> {
  const out = new Map<number, TagRef[]>(articleIds.map((id) => [id, []]))
  if (articleIds.length === 0) return out
  const { rows } = await executePrepared<{ articleId: number, slug: string, name: string }>(db, sql`
    SELECT at.article_id AS "articleId", t.slug, t.name FROM article_tags at
    ${TAG_BY_KEY}
    WHERE at.article_id = ANY(${sql.param(articleIds)}::int[])
    ORDER BY at.article_id, at.position`)
  for (const row of rows) out.get(row.articleId)?.push({ slug: row.slug, name: row.name })
  return out
}
