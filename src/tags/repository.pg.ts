// The tags' SQL (./repository.ts, which explains the counts and who sees what) on PostgreSQL. The triggers of
// migrations/pg/0002_triggers.sql keep each tag's counts; the public's counts add the articles that fell
// due since the counts were settled (src/articles/counts.pg.ts, `deltas`), merged into a page here as on
// SQLite. Names are ordered as the name indexes are built, `lower(name) COLLATE "C"` (README, Scale-out),
// so pages and cursors do not depend on the database's locale.
//
// Writes. Each takes the event log's order lock first (src/events/outbox.pg.ts, lockEventOrder), as every
// article write does, then announces the publications that came due, then locks the tag's row (`FOR
// UPDATE`) and compares it with what the request checked (If-Match), then checks the slug and the name
// are free and writes. The lock serialises the tag writes with the article writes that create tags
// (src/tags/article-tags.pg.ts, ensureIds) from their start to their commit, as SQLite's BEGIN IMMEDIATE
// does, so "the slug is free" still holds at the write, on any number of processes.
import { and, eq, isNull, ne, sql, type SQL } from 'drizzle-orm'
import { tagWriteKeys } from '../db/change-clock.js'
import { declareKeys } from '../db/pg/change-clock.js'
import { executePrepared, SNAPSHOT, type PgDb, type PgTx } from '../db/pg/connection.js'
import { tags } from '../db/pg/schema.js'
import { Conflict, StaleRead } from '../http/errors.js'
import { articleCountsPg, type ArticleCountsPg } from '../articles/counts.pg.js'
import type { Deltas } from '../articles/counts.js'
import type { Visibility } from '../articles/visibility.js'
import { lockEventOrder, type OutboxPg } from '../events/outbox.pg.js'
import { tagNameKey } from './article-tags.js'
import { tagNameOwnerPg } from './article-tags.pg.js'
import { counted, toTag, type CountedTagRow, type TagListParams, type TagRepository, type TagRow, type TagWrite } from './repository.js'

type Conn = PgDb | PgTx

/** SQLSTATE of a unique violation. */
const UNIQUE_VIOLATION = '23505'

/** The name as the name indexes hold it (src/db/pg/schema.ts, tags_name_idx). */
const NAME_KEY = sql.raw('(lower(name) COLLATE "C")')
const nameKeyOf = (name: string): SQL => sql`(lower(${name}::text) COLLATE "C")`

/**
 * Names starting with `prefix`, case-insensitively: the range on the name key lets PostgreSQL seek in the
 * name index, and starts_with decides.
 */
const namePrefix = (prefix: string): SQL =>
  sql`${NAME_KEY} >= ${nameKeyOf(prefix)} AND ${NAME_KEY} < ${nameKeyOf(`${prefix}\u{10FFFF}`)}
    AND starts_with(lower(name), lower(${prefix}::text))`

// Verbatim the condition of the partial indexes tags_public_name_idx and tags_public_count_idx.
const PUBLIC = sql.raw('deleted_at IS NULL AND (curated OR visible_count > 0)')
const COLUMNS = sql.raw('id, slug, name, description, created_at AS "createdAt", updated_at AS "updatedAt", curated, ' +
  'article_count AS "totalArticles", published_count AS "publishedArticles", visible_count AS "visibleArticles", deleted_at AS "deletedAt"')
/** The tags whose public count moved since the counts were settled, as a table `m (tag_id, moved)`. */
const movedTable = (moved: string): SQL =>
  sql`(SELECT (e ->> 0)::integer AS tag_id, (e ->> 1)::integer AS moved FROM jsonb_array_elements(${moved}::jsonb) AS e) AS m`

export function tagRepositoryPg (db: PgDb, outbox: OutboxPg, announceDue: (tx: PgTx, at: number) => Promise<number>,
  counts: ArticleCountsPg = articleCountsPg(db)): TagRepository {
  const deltasFor = async (v: Visibility, conn: Conn = db): Promise<Deltas | undefined> => v === null ? undefined : counts.deltas(v.visibleAt, conn)

  const live = async (conn: Conn, id: number, lock = false): Promise<TagRow | undefined> => {
    const q = conn.select().from(tags).where(and(eq(tags.id, id), isNull(tags.deletedAt)))
    return (lock ? await q.for('update') : await q)[0]
  }

  /** Inside a write, the tag's row locked: StaleRead when the tag changed since it was read (src/http/conditional.ts, writeIfMatch). */
  async function assertUnchanged (tx: PgTx, id: number, v: Visibility, unchanged: (fresh: CountedTagRow) => boolean): Promise<void> {
    const row = await live(tx, id, true)
    const fresh = row === undefined ? undefined : counted(row, v, await deltasFor(v, tx))
    if (fresh === undefined || !unchanged(fresh)) throw new StaleRead()
  }

  /** Inside a write, after announceDue: the tag as the public sees it at `at`, or undefined, for its events. */
  async function publicView (tx: PgTx, id: number, at: number): Promise<CountedTagRow | undefined> {
    const row = await live(tx, id)
    return row === undefined ? undefined : counted(row, { visibleAt: at }, await counts.deltas(at, tx))
  }

  /** 409 unless the slug and the name are free: no other tag has the slug, owns the name's slug, or the name. */
  async function assertFree (tx: PgTx, write: TagWrite, selfId: number | null): Promise<void> {
    const [slugOwner] = await tx.select({ slug: tags.slug }).from(tags)
      .where(and(eq(tags.slug, write.slug), isNull(tags.deletedAt), selfId === null ? undefined : ne(tags.id, selfId)))
    if (slugOwner) throw new Conflict(`The slug "${write.slug}" is taken by another tag.`)
    const nameOwner = await tagNameOwnerPg(tx, tagNameKey(write.name), selfId ?? undefined)
    if (nameOwner) {
      throw new Conflict(`The name "${write.name}" already means the tag "${nameOwner.slug}": articles naming it are filed there.`)
    }
  }

  /** A slug another transaction took first (the unique index on live slugs): the same 409 as assertFree's. */
  async function slugChecked<T> (slug: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } catch (err) {
      const e = err as { code?: string, constraint?: string }
      if (e.code === UNIQUE_VIOLATION && e.constraint === 'tags_slug_unique') throw new Conflict(`The slug "${slug}" is taken by another tag.`)
      throw err
    }
  }

  /**
   * One page: the stored order from its index, and the few tags whose public count moved since (deltas)
   * merged in. Its text is one of a few shapes (sort, prefix, cursor, who asks, whether counts moved), every
   * value bound: run named (executePrepared), as are the totals' and the deltas' (src/articles/counts.pg.ts).
   */
  function page (p: TagListParams, d: Deltas | undefined): SQL {
    const byCount = p.sort === '-articleCount'
    const prefix = p.q === undefined ? undefined : namePrefix(p.q)
    const n = p.visibility === null ? sql.raw('article_count') : sql.raw('visible_count')
    const order = byCount ? sql.raw('"articleCount" DESC, id') : sql`${NAME_KEY}, id`
    const after = (count: SQL) => p.after === undefined
      ? undefined
      : byCount
        ? sql`${count} <= ${p.after[0]} AND (${count} < ${p.after[0]} OR id > ${p.after[1]})`
        : sql`${NAME_KEY} >= ${nameKeyOf(String(p.after[0]))} AND (${NAME_KEY} > ${nameKeyOf(String(p.after[0]))} OR id > ${p.after[1]})`
    const where = (...terms: (SQL | undefined)[]) => sql.join(terms.filter((t) => t !== undefined), sql` AND `)
    const moved = d === undefined || d.tags.size === 0 ? undefined : JSON.stringify([...d.tags])
    const visibleTo = p.visibility === null ? sql.raw('deleted_at IS NULL') : PUBLIC
    const stored = sql`SELECT ${COLUMNS}, ${n} AS "articleCount" FROM tags
      WHERE ${where(visibleTo, moved === undefined ? undefined : sql`id NOT IN (SELECT tag_id FROM ${movedTable(moved)})`, prefix, after(n))}
      ORDER BY ${byCount ? sql`${n} DESC, id` : order} LIMIT ${p.limit + 1}`
    if (moved === undefined) return stored
    const now = sql.raw('(visible_count + m.moved)')
    return sql`SELECT * FROM ((${stored})
      UNION ALL
      (SELECT ${COLUMNS}, ${now} AS "articleCount" FROM tags JOIN ${movedTable(moved)} ON tags.id = m.tag_id
      WHERE ${where(sql`deleted_at IS NULL AND (curated OR ${now} > 0)`, prefix, after(now))})) AS merged
      ORDER BY ${order} LIMIT ${p.limit + 1}`
  }

  /** How many tags the caller may see (with the name prefix). */
  async function total (conn: Conn, p: TagListParams, d: Deltas | undefined): Promise<number> {
    const prefix = p.q === undefined ? undefined : namePrefix(p.q)
    const visibleTo = p.visibility === null ? sql.raw('deleted_at IS NULL') : PUBLIC
    const { rows: [stored] } = await executePrepared<{ n: number }>(conn,
      sql`SELECT count(*) AS n FROM tags WHERE ${prefix === undefined ? visibleTo : sql`${visibleTo} AND ${prefix}`}`)
    if (d === undefined || d.tags.size === 0) return stored!.n
    // Tags whose visibility to the public changed since the counts were settled.
    const { rows: [shift] } = await executePrepared<{ n: number | null }>(conn, sql`SELECT sum((curated OR visible_count + m.moved > 0)::integer - (curated OR visible_count > 0)::integer) AS n
      FROM tags JOIN ${movedTable(JSON.stringify([...d.tags]))} ON tags.id = m.tag_id WHERE deleted_at IS NULL ${prefix === undefined ? sql`` : sql`AND ${prefix}`}`)
    return stored!.n + (shift!.n ?? 0)
  }

  /**
   * A public count is the stored count at the settled time plus the articles due since: the two are read in
   * one snapshot, or a settle (any process's upkeep) committing between them would count those articles
   * twice or not at all (test/pg/totals-settle.test.ts). Editors' counts are one row.
   */
  const agreeing = async <T>(v: Visibility, read: (conn: Conn) => Promise<T>): Promise<T> =>
    v === null ? await read(db) : await db.transaction(read, SNAPSHOT)

  /** The live tag at `slug` with the count the caller sees; undefined when the caller may not see it. Named, as the list's statements. */
  const countedBySlug = (slug: string, v: Visibility): Promise<CountedTagRow | undefined> => agreeing(v, async (conn) => {
    const { rows: [row] } = await executePrepared<TagRow>(conn, sql`SELECT ${COLUMNS} FROM tags WHERE slug = ${slug} AND deleted_at IS NULL`)
    return row && counted(row, v, await deltasFor(v, conn))
  })

  return {
    toTag,

    async findBySlug (slug, v) {
      return countedBySlug(slug, v)
    },

    async create (write, now) {
      return slugChecked(write.slug, () => db.transaction(async (tx) => {
        await lockEventOrder(tx)
        await declareKeys(tx, tagWriteKeys(write.slug))
        await assertFree(tx, write, null)
        const [row] = await tx.insert(tags).values({ ...write, createdAt: now, updatedAt: now, curated: true }).returning()
        const created = { ...row!, articleCount: 0 }
        await outbox.record(tx, 'tag.updated', toTag(created), now)
        return created
      }))
    },

    async update (current, write, now, v, unchanged) {
      return slugChecked(write.slug, () => db.transaction(async (tx) => {
        await lockEventOrder(tx)
        await announceDue(tx, now)
        await declareKeys(tx, tagWriteKeys(current.slug, write.slug))
        await assertUnchanged(tx, current.id, v, unchanged)
        await assertFree(tx, write, current.id)
        const before = await publicView(tx, current.id, now)
        const [updated] = await tx.update(tags).set({ ...write, updatedAt: now }).where(eq(tags.id, current.id)).returning()
        const after = await publicView(tx, current.id, now)
        if (before !== undefined && after !== undefined) {
          if (after.slug !== before.slug) await outbox.record(tx, 'tag.deleted', { slug: before.slug }, now)
          await outbox.record(tx, 'tag.updated', toTag(after), now)
        }
        // Counted in the write's transaction: settling takes the event order's lock, held here, so none
        // commits inside it, and no later write shows.
        return counted(updated!, v, await deltasFor(v, tx)) ?? { ...updated!, articleCount: 0 }
      }))
    },

    async delete (current, now, v, unchanged) {
      await db.transaction(async (tx) => {
        await lockEventOrder(tx)
        await announceDue(tx, now)
        await declareKeys(tx, tagWriteKeys(current.slug))
        await assertUnchanged(tx, current.id, v, unchanged)
        const seen = await publicView(tx, current.id, now)
        if (seen !== undefined) await outbox.record(tx, 'tag.deleted', { slug: seen.slug }, now)
        await tx.update(tags).set({ deletedAt: now }).where(and(eq(tags.id, current.id), isNull(tags.deletedAt)))
      })
    },

    async list (p) {
      return agreeing(p.visibility, async (conn) => {
        const d = await deltasFor(p.visibility, conn)
        const { rows } = await executePrepared<CountedTagRow>(conn, page(p, d))
        return { rows, total: p.withTotal ? await total(conn, p, d) : undefined }
      })
    },

    /** EXPLAIN of the statements `list` runs, with these tags' public counts moved (PostgreSQL's plans, not SQLite's). */
    async explainList (p, moved = new Map()) {
      const d: Deltas | undefined = p.visibility === null ? undefined : { tags: moved, keys: new Map() }
      const { rows } = await db.execute<{ 'QUERY PLAN': string }>(sql`EXPLAIN (COSTS OFF) ${page(p, d)}`)
      return [{ name: 'page', plan: rows.map((r) => r['QUERY PLAN']) }]
    }
  }
}
