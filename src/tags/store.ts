// Tag rows as articles use them. Synchronous on purpose: these run inside an article's write
// transaction (better-sqlite3 transactions take synchronous callbacks).
import { and, asc, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { articleTags, searchReindexDeferred, tags } from '../db/schema.js'
import { reindexArticle } from '../articles/search-index.js'
import { invalid } from '../http/errors.js'
import { toSlug } from '../lib/slug.js'
import type { TagRef } from './schemas.js'

type Tx = Pick<Db, 'select' | 'insert' | 'update' | 'delete' | 'run'>

/**
 * The existing tag a name means: the one whose slug is the name's slug, else (for a tag renamed or
 * given its own slug) the one with that name, compared case-insensitively. A deleted tag means nothing.
 */
function findByName (tx: Pick<Tx, 'select'>, name: string, slug: string): { id: number, slug: string } | undefined {
  return tx.select({ id: tags.id, slug: tags.slug }).from(tags).where(and(eq(tags.slug, slug), isNull(tags.deletedAt))).get() ??
    tx.select({ id: tags.id, slug: tags.slug }).from(tags)
      .where(and(sql`${tags.name} = ${name} COLLATE NOCASE`, isNull(tags.deletedAt))).orderBy(asc(tags.id)).get()
}

/** Tag ids for names, in the given order: matched by slug or name, created when unknown. Duplicates collapse. */
export function ensureTagIds (tx: Tx, names: string[], now: number, pointer = '/tags'): number[] {
  const ids: number[] = []
  names.forEach((raw, i) => {
    const name = raw.trim()
    const slug = toSlug(name, 64)
    if (slug === '') throw invalid('body', `${pointer}/${i}`, 'must contain a letter or digit')
    const id = findByName(tx, name, slug)?.id ??
      tx.insert(tags).values({ slug, name, createdAt: now, updatedAt: now }).returning({ id: tags.id }).get().id
    if (!ids.includes(id)) ids.push(id)
  })
  return ids
}

/** The slugs that ensureTagIds would give these names, without creating anything. Duplicates collapse. */
export function tagSlugsOfNames (tx: Pick<Tx, 'select'>, names: string[]): string[] {
  const slugs = names.map((raw) => {
    const name = raw.trim()
    const slug = toSlug(name, 64)
    return findByName(tx, name, slug)?.slug ?? slug
  })
  return [...new Set(slugs)]
}

/**
 * Replaces an article's tags with these, keeping their order. The article_tags triggers would re-index the
 * article's search entry once per row removed and added; instead it is re-indexed once, here.
 */
export function setArticleTags (tx: Tx, articleId: number, tagIds: number[]): void {
  tx.insert(searchReindexDeferred).values({ articleId }).onConflictDoNothing().run()
  tx.delete(articleTags).where(eq(articleTags.articleId, articleId)).run()
  if (tagIds.length > 0) {
    tx.insert(articleTags).values(tagIds.map((tagId, position) => ({ articleId, tagId, position }))).run()
  }
  reindexArticle(tx, articleId)
  tx.delete(searchReindexDeferred).where(eq(searchReindexDeferred.articleId, articleId)).run()
}

interface TagRow { articleId: number, slug: string, name: string }

/**
 * The tags of several articles at once, each list in the editor's order. Its two statements (one
 * article; a page of them) are prepared once: building and compiling the query per request was a fifth
 * of a GET's CPU time.
 */
export function tagReader (db: Pick<Db, '$client'>): (articleIds: number[]) => Map<number, TagRef[]> {
  const select = 'SELECT at.article_id AS articleId, t.slug AS slug, t.name AS name FROM article_tags at JOIN tags t ON t.id = at.tag_id AND t.deleted_at IS NULL'
  const one = db.$client.prepare<[number], TagRow>(`${select} WHERE at.article_id = ? ORDER BY at.position`)
  const many = db.$client.prepare<[string], TagRow>(
    `${select} WHERE at.article_id IN (SELECT value FROM json_each(?)) ORDER BY at.article_id, at.position`)
  return (articleIds) => {
    const out = new Map<number, TagRef[]>(articleIds.map((id) => [id, []]))
    if (articleIds.length === 0) return out
    const rows = articleIds.length === 1 ? one.all(articleIds[0]!) : many.all(JSON.stringify(articleIds))
    for (const row of rows) out.get(row.articleId)?.push({ slug: row.slug, name: row.name })
    return out
  }
}
