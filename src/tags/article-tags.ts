// Tag rows as articles use them. Synchronous on purpose: these run inside an article's write
// transaction (better-sqlite3 transactions take synchronous callbacks).
// Raw SQL on purpose (CONTRIBUTING.md, the data layer): tagReader and the name owner are prepared once and run for every article
// read and write (test/tags/query-plan.test.ts pins their plans).
import { eq } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { articleTags, searchReindexDeferred, tags } from '../db/schema.js'
import { reindexArticle } from '../articles/search-index.js'
import { invalid } from '../http/errors.js'
import { toSlug } from '../lib/slug.js'
import { TAG_SLUG_MAX, type TagRef } from './schemas.js'

type Tx = Pick<Db, 'select' | 'insert' | 'update' | 'delete' | 'run'>

/** A tag name as tags are matched by it: trimmed, with its slug ('' when nothing in it can make one). */
export interface TagNameKey { name: string, slug: string }

/** The one rule for what a tag name is: the trimmed name and the slug derived from it. */
export function tagNameKey (raw: string): TagNameKey {
  const name = raw.trim()
  return { name, slug: toSlug(name, TAG_SLUG_MAX) }
}

/** tagNameOwner's statement (exported for its query-plan test). */
export function tagNameOwnerSql (self: boolean): string {
  const others = self ? ' AND id <> @self' : ''
  return `SELECT id, slug FROM (SELECT id, slug, 0 AS o FROM tags WHERE slug = @slug AND deleted_at IS NULL${others}
      UNION ALL SELECT * FROM (SELECT id, slug, 1 AS o FROM tags WHERE name = @name COLLATE NOCASE AND deleted_at IS NULL${others} ORDER BY id LIMIT 1))
    ORDER BY o LIMIT 1`
}

/**
 * Which existing tag a name means: the one whose slug is the name's slug, else (for a tag renamed or given
 * its own slug) the oldest with that name, compared case-insensitively. A deleted tag means nothing. With
 * `self`, that tag is left out (is a tag's new name free?). Prepared once; the statements run on the
 * connection, so inside a write's transaction too. Two seeks joined by UNION ALL, not `slug = ? OR name = ?`:
 * SQLite cannot serve that OR from the partial slug index and the name index, and scans every tag.
 */
export function tagNameOwner (db: Pick<Db, '$client'>): (key: TagNameKey, self?: number) => { id: number, slug: string } | undefined {
  const owner = (self: boolean) => db.$client.prepare<[{ slug: string, name: string, self?: number }], { id: number, slug: string }>(tagNameOwnerSql(self))
  const any = owner(false)
  const other = owner(true)
  return (key, self) => self === undefined ? any.get({ slug: key.slug, name: key.name }) : other.get({ slug: key.slug, name: key.name, self })
}

/** What articles do with tag names, with the statements prepared once for `db`. */
export function articleTagNames (db: Pick<Db, '$client'>) {
  const ownerOf = tagNameOwner(db)
  return {
    /** Tag ids for names, in the given order: matched by slug or name, created when unknown. Duplicates collapse. */
    ensureIds (tx: Tx, names: string[], now: number, pointer = '/tags'): number[] {
      const ids: number[] = []
      names.forEach((raw, i) => {
        const key = tagNameKey(raw)
        if (key.slug === '') throw invalid('body', `${pointer}/${i}`, 'must contain a letter or digit')
        const id = ownerOf(key)?.id ??
          tx.insert(tags).values({ slug: key.slug, name: key.name, createdAt: now, updatedAt: now }).returning({ id: tags.id }).get().id
        if (!ids.includes(id)) ids.push(id)
      })
      return ids
    },

    /** The slugs that ensureIds would give these names, without creating anything. Duplicates collapse. */
    slugsOf (names: string[]): string[] {
      return [...new Set(names.map((raw) => { const key = tagNameKey(raw); return ownerOf(key)?.slug ?? key.slug }))]
    }
  }
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
