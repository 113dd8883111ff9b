// Stored representations (./stored.ts) on PostgreSQL: the same table, the same bytes, the same ETag, so a
// GET of an article from the database is one statement and a splice here too, not a row, a tag query and
// an assembly.
//
// Who writes a form: the article's writers (./repository.pg.ts, create and update), in the write's
// transaction after its UPDATE, whose trigger (migrations/pg/0004) dropped the form it made stale; the
// copy from SQLite (src/db/copy.ts) brings SQLite's; and the backfill at start fills what is missing.
//
// Many processes. A writer holds the article's row lock (FOR UPDATE, after the event log's order lock)
// and stores with ON CONFLICT DO UPDATE: its form wins over anything it meets. The backfill takes no row
// lock (so it never makes a comment or an article write wait, and never waits for one while holding
// others): it inserts a form only if the article's `revision` is still the one it assembled from (every
// write of a represented column moves it), and does nothing on a conflict. So a form the backfill made
// from a row a writer has since replaced is either refused by the revision check (the writer committed
// first), or inserted before the writer's UPDATE (whose trigger then deletes it, or whose upsert, waiting
// on the backfill's uncommitted row, then overwrites it): never left stale.
import { sql } from 'drizzle-orm'
import { buildable, executePrepared, statementName, type PgDb, type PgTx } from '../db/pg/connection.js'
import { driverRows, type BuiltRows } from '../db/pg/driver-rows.js'
import { learnTagsPg } from '../tags/tag-refs.pg.js'
import { tagRefsOf, TAG_REFS_VERSION_SQL, withSettledTagsAsync } from '../tags/tag-refs.js'
import { storedAnswer, type StoredForm, type StoredParts, type StoredRead } from './stored.js'
import { publicAtText, type Visibility } from './visibility.js'

// The tags as their ids in the editor's order, with the version the process's dictionary names them at
// (../tags/tag-refs.ts): looked up by key, each tag cost the read more than its ids do.
const SELECT = sql.raw(`SELECT articles.id AS id, articles.comment_count AS count, r.json AS json, r.tags_at AS "tagsAt", r.count_at AS "countAt", r.hash AS hash,
    ARRAY(SELECT at.tag_id FROM article_tags at WHERE at.article_id = articles.id ORDER BY at.position) AS tags,
    ${TAG_REFS_VERSION_SQL} AS "tagsVersion"
  FROM articles LEFT JOIN article_representations r ON r.article_id = articles.id WHERE articles.slug = `)

// The visibility rule's text (./visibility.ts), its bound left for the parameter that follows it.
const PUBLIC = sql.raw(publicAtText('articles.', ''))

type Row = { [K in keyof StoredParts]: StoredParts[K] | null } & { id: number, count: number, tags: number[], tagsVersion: number }

// The read's columns, in SELECT's order, taken as the driver reads them (../db/pg/driver-rows.ts).
const rows = driverRows<Row>({ id: sql``, count: sql``, json: sql``, tagsAt: sql``, countAt: sql``, hash: sql``, tags: sql``, tagsVersion: sql`` })

// The two reads (an editor's, a reader's), built once and named: built with Drizzle and run through its
// session for every GET, drizzle-orm was 6% of the Gazette process's self time under GET article on
// PostgreSQL (a --cpu-prof of the bench's scenario; bench/README.md, "From the database on PostgreSQL, session 29").
let reads: { any: BuiltRows<Row>, public: BuiltRows<Row> } | undefined
const readsOf = (db: PgDb): NonNullable<typeof reads> => (reads ??= {
  any: rows.built(buildable(db, sql`${SELECT}${sql.placeholder('slug')}`), statementName),
  public: rows.built(buildable(db, sql`${SELECT}${sql.placeholder('slug')} AND ${PUBLIC}${sql.placeholder('visibleAt')}`), statementName)
})

/** The article at `slug` if the caller sees it (visibility decided by the statement, prepared), or undefined. */
export async function readStoredPg (db: PgDb, slug: string, visibility: Visibility): Promise<StoredRead | undefined> {
  const read = readsOf(db)
  return await withSettledTagsAsync(async () => {
    const [row] = visibility === null
      ? await read.any(db.$client, { slug })
      : await read.public(db.$client, { slug, visibleAt: visibility.visibleAt })
    if (row === undefined) return undefined
    if (row.json === null) return { id: row.id, missing: true }
    const refs = tagRefsOf(db)
    await learnTagsPg(db, refs, row.tagsVersion, [row.tags])
    return storedAnswer(row as StoredParts, refs.pairs(row.tagsVersion, row.tags))
  })
}

/** Stores an article's form; inside its write's transaction, after the last UPDATE of its row. */
export async function storeFormPg (tx: PgTx, id: number, form: StoredForm): Promise<void> {
  await executePrepared(tx, sql`INSERT INTO article_representations (article_id, json, tags_at, count_at, hash)
    VALUES (${id}, ${form.json}, ${form.tagsAt}, ${form.countAt}, ${form.hash})
    ON CONFLICT (article_id) DO UPDATE SET json = excluded.json, tags_at = excluded.tags_at, count_at = excluded.count_at, hash = excluded.hash`)
}

/**
 * One slice of the backfill: the ids in (after, last] among the next `rows` articles that have no stored
 * form, and `last` (null when there was no article after `after`: the backfill is done).
 */
export async function missingFormsPg (db: PgDb | PgTx, after: number, rows: number): Promise<{ ids: number[], last: number | null }> {
  const { rows: [bound] } = await db.execute<{ last: number | null }>(
    sql`SELECT max(id) AS last FROM (SELECT id FROM articles WHERE id > ${after} ORDER BY id LIMIT ${rows}) AS slice`)
  const last = bound?.last ?? null
  if (last === null) return { ids: [], last }
  const { rows: missing } = await db.execute<{ id: number }>(sql`SELECT a.id FROM articles a WHERE a.id > ${after} AND a.id <= ${last}
    AND NOT EXISTS (SELECT 1 FROM article_representations r WHERE r.article_id = a.id) ORDER BY a.id`)
  return { ids: missing.map((r) => r.id), last }
}

/**
 * Stores the backfill's forms, each only if its article's revision is still the one it was assembled
 * from, and only where no form is stored yet (see above: a writer's form always wins).
 */
export async function fillFormsPg (tx: PgTx, forms: { id: number, revision: number, form: StoredForm }[]): Promise<void> {
  if (forms.length === 0) return
  const col = <T>(f: (x: typeof forms[number]) => T): T[] => forms.map(f)
  await tx.execute(sql`INSERT INTO article_representations (article_id, json, tags_at, count_at, hash)
    SELECT f.id, f.json, f.tags_at, f.count_at, f.hash
    FROM unnest(${sql.param(col((x) => x.id))}::int[], ${sql.param(col((x) => x.form.json))}::text[], ${sql.param(col((x) => x.form.tagsAt))}::int[],
      ${sql.param(col((x) => x.form.countAt))}::int[], ${sql.param(col((x) => x.form.hash))}::text[], ${sql.param(col((x) => x.revision))}::int[])
      AS f(id, json, tags_at, count_at, hash, revision)
    JOIN articles a ON a.id = f.id AND a.revision = f.revision
    ON CONFLICT (article_id) DO NOTHING`)
}
