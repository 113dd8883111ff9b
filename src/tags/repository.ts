// The tags' SQL. Article counts are computed per page with one grouped query over article_tags (its
// (tag_id, article_id) index), joined to articles only when the caller sees published articles alone.
// Writes to a public tag record tag.updated / tag.deleted in their transaction.
import { and, asc, count, desc, eq, getTableColumns, inArray, ne, sql, type SQL } from 'drizzle-orm'
import { IMMEDIATE, type Db } from '../db/connection.js'
import { articles, articleTags, tags } from '../db/schema.js'
import { Conflict, StaleRead } from '../http/errors.js'
import type { CursorKey } from '../http/pagination.js'
import { toSlug } from '../lib/slug.js'
import type { Visibility } from '../articles/repository.js'
import type { WriteEvents } from '../events/outbox.js'
import type { Tag, TagSort } from './schemas.js'

export type TagRow = typeof tags.$inferSelect
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

const toTag = (row: CountedTagRow): Tag =>
  ({ slug: row.slug, name: row.name, description: row.description, articleCount: row.articleCount })

const nameNocase = sql`${tags.name} COLLATE NOCASE`

/**
 * Names starting with `prefix`, case-insensitively: LIKE (its % and _ escaped) decides, and the range on
 * `name COLLATE NOCASE` lets SQLite seek in tags_name_idx instead of scanning it.
 */
const namePrefix = (prefix: string): SQL =>
  sql`${tags.name} LIKE ${`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} ESCAPE '\\'
    AND ${nameNocase} >= ${prefix} AND ${nameNocase} < ${`${prefix}\u{10FFFF}`}`

export function tagRepository (db: Db, { outbox, announceDue }: WriteEvents, now: () => number) {
  const bySlug = db.select().from(tags).where(eq(tags.slug, sql.placeholder('slug'))).prepare()
  // Whether the public can see the tag, for its events: it is on an article the public can see, or it is on
  // none (made with POST /v1/tags). Inside a write transaction, after announceDue, `announced` is visibility.
  const isPublic = db.$client.prepare<[number, number], number>(`SELECT EXISTS (SELECT 1 FROM article_tags at JOIN articles a ON a.id = at.article_id
    WHERE at.tag_id = ? AND a.announced = 1) OR NOT EXISTS (SELECT 1 FROM article_tags WHERE tag_id = ?)`).pluck()
  const publicTag = (id: number): boolean => isPublic.get(id, id) === 1
  const byId = db.select().from(tags).where(eq(tags.id, sql.placeholder('id'))).prepare()

  /** Per tag id: (tag_id, count) of the articles the caller may see, for those ids only. */
  function countsFor (ids: number[], v: Visibility): Map<number, number> {
    if (ids.length === 0) return new Map()
    const rows = v === null
      ? db.select({ tagId: articleTags.tagId, n: count() }).from(articleTags)
        .where(inArray(articleTags.tagId, ids)).groupBy(articleTags.tagId).all()
      : db.select({ tagId: articleTags.tagId, n: count() }).from(articleTags)
        .innerJoin(articles, eq(articles.id, articleTags.articleId))
        .where(and(inArray(articleTags.tagId, ids), eq(articles.status, 'published'), sql`${articles.publishedAt} <= ${v.visibleAt}`))
        .groupBy(articleTags.tagId).all()
    return new Map(rows.map((r) => [r.tagId, r.n]))
  }

  /** The visible count of every tag, as a subquery to sort by. */
  function countsSubquery (v: Visibility) {
    const base = db.select({ tagId: articleTags.tagId, n: count().as('n') }).from(articleTags)
    const grouped = v === null
      ? base.groupBy(articleTags.tagId)
      : base.innerJoin(articles, eq(articles.id, articleTags.articleId))
        .where(and(eq(articles.status, 'published'), sql`${articles.publishedAt} <= ${v.visibleAt}`))
        .groupBy(articleTags.tagId)
    return grouped.as('counts')
  }

  const withCount = (row: TagRow, v: Visibility): CountedTagRow =>
    ({ ...row, articleCount: countsFor([row.id], v).get(row.id) ?? 0 })

  /** Inside a write's transaction: StaleRead when the tag changed since it was read (src/http/etag.ts, writeIfMatch). */
  function assertUnchanged (id: number, v: Visibility, unchanged: (fresh: CountedTagRow) => boolean): void {
    const fresh = byId.get({ id })
    if (fresh === undefined || !unchanged(withCount(fresh, v))) throw new StaleRead()
  }

  /** 409 unless the slug and the name are free: no other tag has the slug, owns the name's slug, or the name. */
  function assertFree (tx: Pick<Db, 'select'>, write: TagWrite, selfId: number | null): void {
    const others = selfId === null ? undefined : ne(tags.id, selfId)
    const slugOwner = tx.select({ slug: tags.slug }).from(tags).where(and(eq(tags.slug, write.slug), others)).get()
    if (slugOwner) throw new Conflict(`The slug "${write.slug}" is taken by another tag.`)
    const nameSlug = toSlug(write.name, 64)
    const nameOwner = tx.select({ slug: tags.slug }).from(tags)
      .where(and(sql`(${tags.slug} = ${nameSlug} OR ${tags.name} = ${write.name} COLLATE NOCASE)`, others)).get()
    if (nameOwner) {
      throw new Conflict(`The name "${write.name}" already means the tag "${nameOwner.slug}": articles naming it are filed there.`)
    }
  }

  return {
    toTag,

    /** The tag with its count of the articles the caller may see. */
    async findBySlug (slug: string, v: Visibility): Promise<CountedTagRow | undefined> {
      const row = bySlug.get({ slug })
      return row && withCount(row, v)
    },

    async create (write: TagWrite, now: number): Promise<CountedTagRow> {
      return db.transaction((tx) => {
        assertFree(tx, write, null)
        const row = tx.insert(tags).values({ ...write, createdAt: now, updatedAt: now }).returning().get()
        const created = { ...row, articleCount: 0 }
        outbox.record('tag.updated', toTag(created), now)
        return created
      }, IMMEDIATE)
    },

    /** Renames, re-slugs or re-describes a tag. Articles keep their revision: only the tag row changes. */
    /** StaleRead when `unchanged` says the tag changed since `current` was read. */
    async update (current: TagRow, write: TagWrite, now: number, v: Visibility, unchanged: (fresh: CountedTagRow) => boolean): Promise<CountedTagRow> {
      const row = db.transaction((tx) => {
        announceDue(now)
        assertUnchanged(current.id, v, unchanged)
        assertFree(tx, write, current.id)
        const updated = tx.update(tags).set({ ...write, updatedAt: now }).where(eq(tags.id, current.id)).returning().get()
        if (updated && publicTag(current.id)) {
          if (updated.slug !== current.slug) outbox.record('tag.deleted', { slug: current.slug }, now)
          outbox.record('tag.updated', toTag(withCount(updated, { visibleAt: now })), now)
        }
        return updated
      }, IMMEDIATE)
      return withCount(row!, v)
    },

    /** Deletes the tag; article_tags rows go with it (ON DELETE CASCADE). StaleRead as for update. */
    async delete (current: TagRow, v: Visibility, unchanged: (fresh: CountedTagRow) => boolean): Promise<void> {
      const at = now()
      db.transaction((tx) => {
        announceDue(at)
        assertUnchanged(current.id, v, unchanged)
        if (publicTag(current.id)) outbox.record('tag.deleted', { slug: current.slug }, at)
        tx.delete(tags).where(eq(tags.id, current.id)).run()
      }, IMMEDIATE)
    },

    async list (p: TagListParams): Promise<{ rows: CountedTagRow[], total?: number }> {
      const where = p.q === undefined ? undefined : namePrefix(p.q)
      const total = p.withTotal ? db.select({ n: count() }).from(tags).where(where).get()?.n ?? 0 : undefined
      if (p.sort === 'name') {
        // The first term is what lets SQLite seek in tags_name_idx; the second finishes the (name, id) comparison.
        const after = p.after && sql`${nameNocase} >= ${p.after[0]} AND (${nameNocase} > ${p.after[0]} OR ${tags.id} > ${p.after[1]})`
        const rows = db.select().from(tags).where(and(where, after))
          .orderBy(nameNocase, asc(tags.id)).limit(p.limit + 1).all()
        const counts = countsFor(rows.slice(0, p.limit).map((r) => r.id), p.visibility)
        return { rows: rows.map((r) => ({ ...r, articleCount: counts.get(r.id) ?? 0 })), total }
      }
      // Most articles first, ties by id: the count is computed for every tag, then sorted.
      const counts = countsSubquery(p.visibility)
      const n = sql<number>`coalesce(${counts.n}, 0)`
      const after = p.after && sql`(${n} < ${p.after[0]} OR (${n} = ${p.after[0]} AND ${tags.id} > ${p.after[1]}))`
      const rows = db.select({ ...getTableColumns(tags), articleCount: n }).from(tags)
        .leftJoin(counts, eq(counts.tagId, tags.id)).where(and(where, after))
        .orderBy(desc(n), asc(tags.id)).limit(p.limit + 1).all()
      return { rows, total }
    }
  }
}

export type TagRepository = ReturnType<typeof tagRepository>
