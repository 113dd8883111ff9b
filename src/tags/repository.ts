// The tags' SQL. Article counts are stored on each tag and kept by triggers (src/articles/counts.ts), so no
// request counts articles: a page of tags reads its rows from an index in the order it is shown, and the
// public's counts add only the articles that fell due since the counts were last settled (the `deltas`).
//
// Who sees what (contract section 4): editors every tag, with every article counted; everyone else a tag
// only while it has a visible article or was made on purpose through POST /v1/tags (`curated`), counting
// visible articles only. A deleted tag (`deleted_at`) is gone for everyone at once; src/tags/sweeper.ts
// removes its article_tags rows afterwards.
//
// Writes to a tag the public sees record tag.updated / tag.deleted in their transaction (API.md section 10).
import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { declareWrite, tagWriteKeys } from '../db/change-clock.js'
import { tags } from '../db/schema.js'
import { Conflict, StaleRead } from '../http/errors.js'
import type { CursorKey } from '../db/keyset.js'
import { articleCounts, type ArticleCounts, type Deltas } from '../articles/counts.js'
import type { Visibility } from '../articles/visibility.js'
import type { WriteEvents } from '../events/outbox.js'
import type { Tag, TagSort } from './schemas.js'
import { tagNameKey, tagNameOwner } from './article-tags.js'

export type TagRow = typeof tags.$inferSelect
/** A tag with the count of articles the caller may see. */
export type CountedTagRow = TagRow & { articleCount: number }

/** The stored fields a tag write sets; the service has trimmed the name and chosen the slug. */
export interface TagWrite {
  slug: string
  name: string
  description: string | null
}

export interface TagListParams {
  limit: number
  after: CursorKey | undefined
  q: string | undefined
  sort: TagSort
  visibility: Visibility
  withTotal: boolean
}

export const toTag = (row: CountedTagRow): Tag =>
  ({ slug: row.slug, name: row.name, description: row.description, articleCount: row.articleCount })

/** The count the caller sees, or undefined when the caller may not see the tag at all (engine-free: ./repository.pg.ts too). */
export function counted (row: TagRow, v: Visibility, d: Deltas | undefined): CountedTagRow | undefined {
  if (v === null) return { ...row, articleCount: row.totalArticles }
  const n = row.visibleArticles + (d?.tags.get(row.id) ?? 0)
  return row.curated || n > 0 ? { ...row, articleCount: n } : undefined
}

/**
 * Names starting with `prefix`, case-insensitively: LIKE (its % and _ escaped) decides, and the range on
 * `name COLLATE NOCASE` lets SQLite seek in the name index instead of scanning it.
 */
const namePrefix = (prefix: string): SQL =>
  sql`name LIKE ${`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} ESCAPE '\\'
    AND name COLLATE NOCASE >= ${prefix} AND name COLLATE NOCASE < ${`${prefix}\u{10FFFF}`}`

// Verbatim the condition of the partial indexes tags_public_name_idx and tags_public_count_idx, so SQLite
// uses them: the tags the public may see by their stored counts.
const PUBLIC = sql.raw('deleted_at IS NULL AND (curated = 1 OR visible_count > 0)')
const COLUMN_LIST = 'id, slug, name, description, created_at AS createdAt, updated_at AS updatedAt, curated, ' +
  'article_count AS totalArticles, published_count AS publishedArticles, visible_count AS visibleArticles, deleted_at AS deletedAt'
const COLUMNS = sql.raw(COLUMN_LIST)

type RawTag = Omit<TagRow, 'curated'> & { curated: number, articleCount: number }
const fromRaw = (r: RawTag): CountedTagRow => ({ ...r, curated: r.curated === 1 })
/** The tags whose public count moved since the counts were settled, as a table `m (tag_id, moved)`. */
const movedTable = (moved: string): SQL => sql`(SELECT value ->> 0 AS tag_id, value ->> 1 AS moved FROM json_each(${moved})) AS m`

export function tagRepository (db: Db, { outbox, announceDue }: WriteEvents, counts: ArticleCounts = articleCounts(db)) {
  const sqlite = db.$client
  const bySlug = sqlite.prepare<[string], RawTag>(`SELECT ${COLUMN_LIST}, 0 AS articleCount FROM tags WHERE slug = ? AND deleted_at IS NULL`)
  const byId = sqlite.prepare<[number], RawTag>(`SELECT ${COLUMN_LIST}, 0 AS articleCount FROM tags WHERE id = ?`)
  const ownerOfName = tagNameOwner(db)
  const slugTaken = sqlite.prepare<{ slug: string }>('SELECT slug FROM tags WHERE slug = @slug AND deleted_at IS NULL')
  const slugTakenByOther = sqlite.prepare<{ slug: string, self: number }>('SELECT slug FROM tags WHERE slug = @slug AND deleted_at IS NULL AND id <> @self')

  // A public count is the stored count at the settled time plus the articles due since: the tag's row is
  // read inside counts.withDeltas, in one snapshot with those deltas (inside a write's transaction, in the
  // write's), or another process's settle committing between the two would count those articles twice or
  // not at all (test/process/settle-race.test.ts).
  const countedWith = counts.withDeltas((d, raw: () => RawTag | undefined, v: Visibility): CountedTagRow | undefined => {
    const row = raw()
    return row === undefined || row.deletedAt !== null ? undefined : counted(fromRaw(row), v, d)
  })
  const countedBy = (raw: () => RawTag | undefined, v: Visibility): CountedTagRow | undefined => countedWith(v?.visibleAt, raw, v)

  /** Inside a write's transaction: StaleRead when the tag changed since it was read (src/http/conditional.ts, writeIfMatch). */
  function assertUnchanged (id: number, v: Visibility, unchanged: (fresh: CountedTagRow) => boolean): void {
    const fresh = countedBy(() => byId.get(id), v)
    if (fresh === undefined || !unchanged(fresh)) throw new StaleRead()
  }

  /**
   * Inside a write's transaction, after announceDue: the tag as the public sees it at `at`, or undefined
   * when the public does not see it (the rule of `counted`), for its events.
   */
  function publicView (id: number, at: number): CountedTagRow | undefined {
    return countedBy(() => byId.get(id), { visibleAt: at })
  }

  /** 409 unless the slug and the name are free: no other tag has the slug, owns the name's slug, or the name. */
  function assertFree (write: TagWrite, selfId: number | null): void {
    const slugOwner = selfId === null ? slugTaken.get({ slug: write.slug }) : slugTakenByOther.get({ slug: write.slug, self: selfId })
    if (slugOwner) throw new Conflict(`The slug "${write.slug}" is taken by another tag.`)
    const nameOwner = ownerOfName(tagNameKey(write.name), selfId ?? undefined)
    if (nameOwner) {
      throw new Conflict(`The name "${write.name}" already means the tag "${nameOwner.slug}": articles naming it are filed there.`)
    }
  }

  /** One page: the stored order from its index, and the few tags whose public count moved since (deltas) merged in. */
  function page (p: TagListParams, d: Deltas | undefined) {
    const byCount = p.sort === '-articleCount'
    const prefix = p.q === undefined ? undefined : namePrefix(p.q)
    const n = p.visibility === null ? sql.raw('article_count') : sql.raw('visible_count')
    const order = byCount ? sql.raw('articleCount DESC, id') : sql.raw('name COLLATE NOCASE, id')
    // The keyset: the first term is what lets SQLite seek in the index, the second finishes the comparison.
    const after = (count: SQL) => p.after === undefined
      ? undefined
      : byCount
        ? sql`${count} <= ${p.after[0]} AND (${count} < ${p.after[0]} OR id > ${p.after[1]})`
        : sql`name COLLATE NOCASE >= ${p.after[0]} AND (name COLLATE NOCASE > ${p.after[0]} OR id > ${p.after[1]})`
    const where = (...terms: (SQL | undefined)[]) => sql.join(terms.filter((t) => t !== undefined), sql` AND `)
    const moved = d === undefined || d.tags.size === 0 ? undefined : JSON.stringify([...d.tags])
    const visibleTo = p.visibility === null ? sql.raw('deleted_at IS NULL') : PUBLIC
    // With a name prefix, the name index bounds the rows to those with the prefix, sorted then by count if
    // asked; without one, the index of the sort is walked in order, as far as the page needs.
    const index = prefix === undefined ? sql`` : sql.raw(p.visibility === null ? ' INDEXED BY tags_name_idx' : ' INDEXED BY tags_public_name_idx')
    const stored = sql`SELECT ${COLUMNS}, ${n} AS articleCount FROM tags${index}
      WHERE ${where(visibleTo, moved === undefined ? undefined : sql`id NOT IN (SELECT value ->> 0 FROM json_each(${moved}))`, prefix, after(n))}
      ORDER BY ${byCount ? sql`${n} DESC, id` : order} LIMIT ${p.limit + 1}`
    if (moved === undefined) return stored
    const now = sql.raw('(visible_count + m.moved)')
    return sql`SELECT * FROM (SELECT * FROM (${stored})
      UNION ALL
      SELECT ${COLUMNS}, ${now} AS articleCount FROM tags JOIN ${movedTable(moved)} ON tags.id = m.tag_id
      WHERE ${where(sql`deleted_at IS NULL AND (curated = 1 OR ${now} > 0)`, prefix, after(now))})
      ORDER BY ${order} LIMIT ${p.limit + 1}`
  }

  /** How many tags the caller may see (with the name prefix). */
  function total (p: TagListParams, d: Deltas | undefined): number {
    const prefix = p.q === undefined ? undefined : namePrefix(p.q)
    const visibleTo = p.visibility === null ? sql.raw('deleted_at IS NULL') : PUBLIC
    const stored = db.all<{ n: number }>(sql`SELECT count(*) AS n FROM tags WHERE ${prefix === undefined ? visibleTo : sql`${visibleTo} AND ${prefix}`}`)[0]!.n
    if (d === undefined || d.tags.size === 0) return stored
    // Tags whose visibility to the public changed since the counts were settled.
    const moved = JSON.stringify([...d.tags])
    const shift = db.all<{ n: number | null }>(sql`SELECT sum((curated = 1 OR visible_count + m.moved > 0) - (curated = 1 OR visible_count > 0)) AS n
      FROM tags JOIN ${movedTable(moved)} ON tags.id = m.tag_id WHERE deleted_at IS NULL ${prefix === undefined ? sql`` : sql`AND ${prefix}`}`)[0]!.n
    return stored + (shift ?? 0)
  }

  // The page, its total and the deltas both use, in one snapshot (as countedBy).
  const listed = counts.withDeltas((d, p: TagListParams): { rows: CountedTagRow[], total?: number } => {
    const rows = db.all<RawTag>(page(p, d)).map(fromRaw)
    return { rows, total: p.withTotal ? total(p, d) : undefined }
  })

  return {
    toTag,

    /** The tag with its count of the articles the caller may see; undefined when the caller may not see it. */
    async findBySlug (slug: string, v: Visibility): Promise<CountedTagRow | undefined> {
      return countedBy(() => bySlug.get(slug), v)
    },

    /** A tag made on purpose: public even before it has an article. */
    async create (write: TagWrite, now: number): Promise<CountedTagRow> {
      return declareWrite(db, tagWriteKeys(write.slug), () => sqlite.transaction(() => {
        assertFree(write, null)
        const id = Number(sqlite.prepare('INSERT INTO tags (slug, name, description, created_at, updated_at, curated) VALUES (?, ?, ?, ?, ?, 1)')
          .run(write.slug, write.name, write.description, now, now).lastInsertRowid)
        const created = { ...fromRaw(byId.get(id)!), articleCount: 0 }
        outbox.record('tag.updated', toTag(created), now)
        return created
      }).immediate())
    },

    /**
     * Renames, re-slugs or re-describes a tag: one row. Articles keep their revision, and their search
     * index entries hold the tag's id, not its name, so none of them is rewritten. StaleRead when
     * `unchanged` says the tag changed since `current` was read.
     */
    async update (current: TagRow, write: TagWrite, now: number, v: Visibility, unchanged: (fresh: CountedTagRow) => boolean): Promise<CountedTagRow> {
      return declareWrite(db, tagWriteKeys(current.slug, write.slug), () => sqlite.transaction(() => {
        announceDue(now)
        assertUnchanged(current.id, v, unchanged)
        assertFree(write, current.id)
        const before = publicView(current.id, now)
        sqlite.prepare('UPDATE tags SET slug = ?, name = ?, description = ?, updated_at = ? WHERE id = ?')
          .run(write.slug, write.name, write.description, now, current.id)
        const after = publicView(current.id, now)
        if (before !== undefined && after !== undefined) {
          if (after.slug !== before.slug) outbox.record('tag.deleted', { slug: before.slug }, now)
          outbox.record('tag.updated', toTag(after), now)
        }
        // Counted in the write's transaction: no settle can commit inside it, and no later write shows.
        let raw: RawTag | undefined
        return countedBy(() => (raw = byId.get(current.id)), v) ?? { ...fromRaw(raw!), articleCount: 0 }
      }).immediate())
    },

    /**
     * Deletes the tag for every reader at once; src/tags/sweeper.ts then removes it from its articles.
     * StaleRead as for update.
     */
    async delete (current: TagRow, now: number, v: Visibility, unchanged: (fresh: CountedTagRow) => boolean): Promise<void> {
      declareWrite(db, tagWriteKeys(current.slug), () => sqlite.transaction(() => {
        announceDue(now)
        assertUnchanged(current.id, v, unchanged)
        const seen = publicView(current.id, now)
        if (seen !== undefined) outbox.record('tag.deleted', { slug: seen.slug }, now)
        sqlite.prepare('UPDATE tags SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL').run(now, current.id)
      }).immediate())
    },

    async list (p: TagListParams): Promise<{ rows: CountedTagRow[], total?: number }> {
      return listed(p.visibility?.visibleAt, p)
    },

    /** EXPLAIN QUERY PLAN of the statements `list` runs, with these tags' public counts moved (for the query-plan test). */
    async explainList (p: TagListParams, moved: Map<number, number> = new Map()): Promise<{ name: string, plan: string[] }[]> {
      const d: Deltas | undefined = p.visibility === null ? undefined : { tags: moved, keys: new Map() }
      const explain = (q: SQL): string[] => db.all<{ detail: string }>(sql`EXPLAIN QUERY PLAN ${q}`).map((r) => r.detail)
      return [{ name: 'page', plan: explain(page(p, d)) }]
    }
  }
}

export type TagRepository = ReturnType<typeof tagRepository>
