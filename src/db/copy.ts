// Moving up: a copy of a live SQLite database into a new PostgreSQL one (API.md section 12, README
// "Scale-out"; `npm run db:copy`, src/cli/db-copy.ts).
//
// 1. An online backup of the SQLite file (its API reads one snapshot; the server keeps serving), which is
//    then migrated to this build's schema — the live file is never written.
// 2. PostgreSQL is migrated, and must hold no data yet.
// 3. In one transaction, each table is streamed with COPY FROM STDIN, parents before children, with the
//    INSERT triggers off. What they would have derived is not copied from SQLite but computed by
//    PostgreSQL once the rows are in (`derive`): the counts by section, author and tag (with the settled
//    time copied first, so "visible" means what it meant on SQLite), the search documents and the search
//    planner's term counts (PostgreSQL's own lexemes, which SQLite does not have).
// 4. Before COMMIT: every table's row count, the derived counts (which PostgreSQL computed itself) and a
//    sample of rows, column by column, are compared with SQLite. Any difference rolls everything back.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import Database from 'better-sqlite3'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { openDatabase } from './connection.js'
import { migratePg, openPgDatabase } from './pg/connection.js'

/** The tables copied, parents before children, each in its key's order (a comment's parent comes first). */
export const COPIED: ReadonlyArray<{ table: string, order: string, replace?: true, zero?: string[] }> = [
  // Rows the migrations make: SQLite's replace them (the secrets in settings sign existing edit tokens).
  { table: 'settings', order: 'key', replace: true },
  { table: 'counts_settled', order: 'id', replace: true },
  { table: 'public_changes', order: 'id', replace: true },
  { table: 'tag_refs_version', order: 'id', replace: true },
  { table: 'tokens', order: 'id' },
  { table: 'webhooks', order: 'id' },
  { table: 'articles', order: 'id' },
  { table: 'article_authors', order: 'article_id, name' },
  { table: 'article_slug_history', order: 'slug' },
  { table: 'article_revisions', order: 'article_id, revision' },
  // A tag's counts are PostgreSQL's own: its triggers add each article_tags row as it arrives.
  { table: 'tags', order: 'id', zero: ['article_count', 'published_count', 'visible_count'] },
  { table: 'article_tags', order: 'article_id, position' },
  { table: 'article_representations', order: 'article_id' },
  { table: 'comments', order: 'id' },
  { table: 'comment_reports', order: 'comment_id, reporter' },
  { table: 'idempotency_keys', order: 'scope, key' },
  { table: 'events', order: 'seq' },
  { table: 'webhook_deliveries', order: 'id' }
]

/** Tables PostgreSQL's triggers fill from the copied rows; compared after the copy, never copied. */
export const DERIVED = ['article_counts', 'search_terms']

/**
 * PostgreSQL's own tables, with nothing in SQLite to copy: the flood-control counters shared by processes
 * (src/db/pg/rate-limits.ts; each SQLite process counts in memory), which start empty, and the version of
 * search plans (migrations/pg/0013; SQLite makes each search's plan anew), whose one row its migration made.
 */
export const PG_ONLY = ['rate_limits', 'search_plan_version']

/** What a copy did: rows per table, time taken, what was checked. */
export interface CopyReport {
  rows: Record<string, number>
  checked: { derivedCounts: number, sampledRows: number }
  ms: number
}

export class CopyError extends Error {
  override name = 'CopyError'
}

type Row = Record<string, unknown>
interface Column { name: string, type: string }

/** A value in COPY's text format (PostgreSQL docs, COPY, "Text Format"). */
function copyText (value: unknown, type: string): string {
  if (value === null || value === undefined) return '\\N'
  if (type === 'boolean') return value === 1 || value === true || value === 1n ? 't' : 'f'
  if (type === 'bytea') return `\\\\x${Buffer.from(value as Uint8Array).toString('hex')}`
  const text = String(value)
  if (text.includes('\u0000')) throw new CopyError('a text value holds a NUL character, which PostgreSQL cannot store')
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')
}

/** A SQLite value as PostgreSQL returns it, to compare the two: booleans, bytes and big integers normalised. */
function comparable (value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null
  if (type === 'boolean') return value === 1 || value === true || value === 1n
  if (type === 'bytea') return Buffer.from(value as Uint8Array).toString('hex')
  if (type === 'bigint' || type === 'integer') return String(value)
  return value
}

async function columnsOf (client: pg.PoolClient, table: string): Promise<Column[]> {
  const { rows } = await client.query<{ name: string, type: string }>(
    `SELECT column_name AS name, data_type AS type FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, [table])
  return rows
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`

/** A SQLite table's column names, in its order. */
const sqliteColumnsOf = (source: Database.Database, table: string): string[] =>
  (source.pragma(`table_info(${quote(table)})`) as Array<{ name: string }>).map((c) => c.name)

/**
 * The columns to copy: every SQLite column, which PostgreSQL must have too (a column PostgreSQL lacks would be
 * data lost). PostgreSQL's own extra columns (the search vector) are left to their defaults and triggers.
 */
function sharedColumns (table: string, sqliteColumns: string[], pgColumns: Column[]): Column[] {
  const byName = new Map(pgColumns.map((c) => [c.name, c]))
  const missing = sqliteColumns.filter((name) => !byName.has(name))
  if (missing.length > 0) throw new CopyError(`${table}: PostgreSQL has no column ${missing.join(', ')}; is it migrated by this build?`)
  return sqliteColumns.map((name) => byName.get(name) as Column)
}

async function copyTable (client: pg.PoolClient, source: Database.Database, spec: typeof COPIED[number]): Promise<number> {
  const columns = sharedColumns(spec.table, sqliteColumnsOf(source, spec.table), await columnsOf(client, spec.table))
  if (spec.replace === true) await client.query(`DELETE FROM ${quote(spec.table)}`)
  const zero = new Set(spec.zero ?? [])
  const stream = client.query(copyFrom(`COPY ${quote(spec.table)} (${columns.map((c) => quote(c.name)).join(', ')}) FROM STDIN`))
  const done = new Promise<void>((resolve, reject) => { stream.on('finish', resolve); stream.on('error', reject) })
  let rows = 0
  try {
    const select = source.prepare(`SELECT ${columns.map((c) => quote(c.name)).join(', ')} FROM ${quote(spec.table)} ORDER BY ${spec.order}`)
    for (const row of select.iterate() as Iterable<Row>) {
      const line = columns.map((c) => copyText(zero.has(c.name) ? 0 : row[c.name], c.type)).join('\t') + '\n'
      rows++
      if (!stream.write(line)) await Promise.race([once(stream, 'drain'), done])
    }
  } catch (err) {
    stream.destroy(err as Error)
    await done.catch(() => {})
    throw err
  }
  stream.end()
  await done
  return rows
}

/**
 * The triggers that fire on INSERT into the copied tables, and what stands in for them while rows are
 * copied. Fired row by row they would update a few hot rows (the counts of 'all', of each tag and author)
 * once per copied row, each update a new row version in one long transaction — 10,000 articles took
 * minutes — and index each article twice (as it arrives, then again when its tags do). So they are off
 * during the copy (inside its transaction: a rollback puts them back), and `derive` computes what they
 * would have, in bulk, once every row is in. A trigger a later migration adds fails the copy until it is
 * listed here, so it cannot be silently skipped.
 */
const INSERT_TRIGGERS: Record<string, string> = {
  article_counts_ai: 'counts by all, section and author: derive',
  author_counts_ai: 'counts by author: derive',
  tag_counts_ai: 'counts by tag: derive',
  article_search_bi: 'search document: derive',
  article_search_tags_ai: 'search document: derive',
  search_terms_ai: 'search term counts: derive',
  article_tags_public_at_bi: 'a tag row\'s public date (migrations/pg/0011): derive',
  search_plans_tag_added: 'the version of search plans (migrations/pg/0013): derive moves it once',
  tag_refs_added: 'the version of the tags (migrations/pg/0014): copied from SQLite; no process has named a tag of this database, which was empty',
  gazette_notify_change: 'the change clock: nothing listens to a database that is being filled'
}

async function insertTriggers (client: pg.PoolClient): Promise<Array<{ table: string, trigger: string }>> {
  // tgtype bit 2 (4) is INSERT; tgisinternal marks the foreign keys' own triggers, which stay on.
  const { rows } = await client.query<{ table: string, trigger: string }>(
    `SELECT c.relname AS table, t.tgname AS trigger FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE NOT t.tgisinternal AND (t.tgtype & 4) <> 0 AND c.relname = ANY($1) ORDER BY 1, 2`, [COPIED.map((c) => c.table)])
  const unknown = rows.filter((r) => INSERT_TRIGGERS[r.trigger] === undefined)
  if (unknown.length > 0) throw new CopyError(`db:copy does not know the trigger ${unknown.map((r) => `${r.trigger} on ${r.table}`).join(', ')}: src/db/copy.ts must say what stands in for it`)
  return rows
}

/** What the INSERT triggers would have made, from all the rows at once (migrations/pg/0002_triggers.sql). */
async function derive (client: pg.PoolClient): Promise<void> {
  await client.query('DELETE FROM article_counts')
  await client.query(`INSERT INTO article_counts (kind, key, total, published, visible)
    SELECT 'all', '', count(*), coalesce(sum(gazette_published(status)), 0), coalesce(sum(gazette_visible(status, published_at)), 0) FROM articles
    UNION ALL
    SELECT 'section', section, count(*), sum(gazette_published(status)), sum(gazette_visible(status, published_at))
    FROM articles WHERE section IS NOT NULL GROUP BY section
    UNION ALL
    SELECT 'author', aa.name, count(*), sum(gazette_published(a.status)), sum(gazette_visible(a.status, a.published_at))
    FROM article_authors aa JOIN articles a ON a.id = aa.article_id GROUP BY aa.name`)
  // Every tag's counts at once. Each would move the version of search plans (migrations/pg/0013), one row
  // updated once per tag in this transaction: that trigger is off meanwhile, and the version moved once below.
  await client.query('ALTER TABLE tags DISABLE TRIGGER search_plans_tag_changed')
  await client.query(`UPDATE tags t SET article_count = c.n, published_count = c.p, visible_count = c.v
    FROM (SELECT at.tag_id, count(*) AS n, sum(gazette_published(a.status)) AS p, sum(gazette_visible(a.status, a.published_at)) AS v
          FROM article_tags at JOIN articles a ON a.id = at.article_id GROUP BY at.tag_id) AS c
    WHERE t.id = c.tag_id`)
  await client.query('ALTER TABLE tags ENABLE TRIGGER search_plans_tag_changed')
  // Each tag row's public date (migrations/pg/0011). It changes no tag: the search trigger of article_tags
  // would compare every row before and after for nothing, so it is off meanwhile, as in the migration.
  await client.query('ALTER TABLE article_tags DISABLE TRIGGER article_search_tags_au')
  await client.query(`UPDATE article_tags m SET public_at = a.published_at FROM articles a
    WHERE a.id = m.article_id AND a.status = 'published'`)
  await client.query('ALTER TABLE article_tags ENABLE TRIGGER article_search_tags_au')
  // The search index is built once from all the documents rather than kept up to date article by article:
  // it has no pending list (migrations/pg/0010), so the UPDATE would add each article's few hundred
  // entries to it one at a time. Rebuilt from its own definition, in this transaction.
  const { rows: [search] } = await client.query<{ def: string }>("SELECT pg_get_indexdef('articles_search_idx'::regclass) AS def")
  await client.query('DROP INDEX articles_search_idx')
  await client.query('UPDATE articles SET search = gazette_search_vector(title, summary, gazette_tag_ids(id), body)')
  await client.query("SET LOCAL maintenance_work_mem = '256MB'")
  await client.query(search!.def)
  await client.query(`INSERT INTO search_terms (term, docs)
    SELECT term, count(*)::integer FROM articles, unnest(gazette_words(search)) AS term GROUP BY term ORDER BY term`)
  // (search_terms' own trigger moved it too; the tags' did not.)
  await client.query('SELECT gazette_move_search_plans()')
}

/** Moves each identity past the largest copied key, so new rows never reuse one. */
async function advanceIdentities (client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ table_name: string, column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND is_identity = 'YES'`)
  for (const { table_name: table, column_name: column } of rows) {
    await client.query(`SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(${quote(column)}) FROM ${quote(table)}), 0) + 1, false)`,
      [quote(table), column])
  }
}

/** Counts, derived counts and sampled rows, PostgreSQL against SQLite; throws on the first difference. */
async function verify (client: pg.PoolClient, source: Database.Database, copied: Record<string, number>, sample: number): Promise<CopyReport['checked']> {
  for (const [table, n] of Object.entries(copied)) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quote(table)}`)
    if (Number(rows[0]?.n) !== n) throw new CopyError(`${table}: ${n} rows copied but PostgreSQL holds ${rows[0]?.n}`)
  }
  // What PostgreSQL's triggers computed from the copied rows must be what SQLite's computed from the same rows.
  const counts = (rows: Row[]) => new Map(rows.map((r) => [`${String(r.kind)}\u0000${String(r.key)}`, `${Number(r.total)}/${Number(r.published)}/${Number(r.visible)}`]))
  const theirs = counts(source.prepare('SELECT kind, key, total, published, visible FROM article_counts WHERE total > 0').all() as Row[])
  const ours = counts((await client.query('SELECT kind, key, total, published, visible FROM article_counts WHERE total > 0')).rows as Row[])
  let derivedCounts = 0
  for (const [key, value] of new Map([...theirs, ...ours])) {
    derivedCounts++
    if (theirs.get(key) !== ours.get(key)) throw new CopyError(`article counts ${key.replace('\u0000', ' ')}: SQLite ${theirs.get(key) ?? 'none'}, PostgreSQL ${ours.get(key) ?? 'none'} (${value})`)
  }
  const tagCounts = (rows: Row[]) => new Map(rows.map((r) => [Number(r.id), `${Number(r.article_count)}/${Number(r.published_count)}/${Number(r.visible_count)}`]))
  const tagsSql = 'SELECT id, article_count, published_count, visible_count FROM tags WHERE deleted_at IS NULL'
  const theirTags = tagCounts(source.prepare(tagsSql).all() as Row[])
  const ourTags = tagCounts((await client.query(tagsSql)).rows as Row[])
  for (const [id, value] of theirTags) {
    derivedCounts++
    if (ourTags.get(id) !== value) throw new CopyError(`tag ${id}'s counts: SQLite ${value}, PostgreSQL ${ourTags.get(id) ?? 'none'}`)
  }
  // Every tag row's public date is its article's while it is published (what the triggers of
  // migrations/pg/0011 keep).
  const { rows: [drift] } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM article_tags m JOIN articles a ON a.id = m.article_id
    WHERE m.public_at IS DISTINCT FROM (CASE WHEN a.status = 'published' THEN a.published_at END)`)
  if (Number(drift!.n) !== 0) throw new CopyError(`article_tags: ${drift!.n} rows whose public_at is not their article's public date`)
  // A sample of rows of the big tables, every copied column compared.
  let sampledRows = 0
  for (const { table, key } of [{ table: 'articles', key: 'id' }, { table: 'comments', key: 'id' }, { table: 'events', key: 'seq' }]) {
    const shared = sharedColumns(table, sqliteColumnsOf(source, table), await columnsOf(client, table))
    const list = shared.map((c) => quote(c.name)).join(', ')
    const picked = source.prepare(`SELECT ${list} FROM ${quote(table)} ORDER BY random() LIMIT ?`).all(sample) as Row[]
    for (const row of picked) {
      const { rows } = await client.query(`SELECT ${shared.map((c) => c.type === 'bytea' ? `encode(${quote(c.name)}, 'hex') AS ${quote(c.name)}` : c.type === 'bigint' || c.type === 'integer' ? `${quote(c.name)}::text AS ${quote(c.name)}` : quote(c.name)).join(', ')} FROM ${quote(table)} WHERE ${quote(key)} = $1`, [row[key]])
      const copy = rows[0] as Row | undefined
      if (copy === undefined) throw new CopyError(`${table} ${key} ${String(row[key])} is missing from PostgreSQL`)
      for (const c of shared) {
        if (comparable(row[c.name], c.type) !== (copy[c.name] ?? null)) {
          throw new CopyError(`${table} ${key} ${String(row[key])}: column ${c.name} differs after the copy`)
        }
      }
      sampledRows++
    }
  }
  return { derivedCounts, sampledRows }
}

/** The tables of a database that holds data (PostgreSQL's migrations leave only their own rows). */
async function holdsData (client: pg.PoolClient): Promise<string[]> {
  const found: string[] = []
  for (const { table, replace } of COPIED) {
    if (replace === true) continue
    const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM ${quote(table)}) AS any`)
    if (rows[0]?.any === true) found.push(table)
  }
  return found
}

/** The snapshots of the copies under way in this process (each as large as the database copied). */
const snapshots = new Set<string>()

/**
 * Removes the snapshots of the copies under way, at once: for a process stopped by a signal (src/cli/db-copy.ts),
 * which would otherwise leave a file as large as its database in the temporary folder. Its PostgreSQL
 * transaction needs nothing: the connection closes with the process, and PostgreSQL rolls it back.
 */
export function removeSnapshotsNow (): void {
  for (const dir of snapshots) rmSync(dir, { recursive: true, force: true })
  snapshots.clear()
}

/**
 * Copies the SQLite database at `from` into the PostgreSQL database at `to` (migrated here, and empty of
 * data), verifies it and returns what it did. On any error nothing is left in PostgreSQL.
 */
export async function copySqliteToPostgres (from: string, to: string, opts: { sample?: number, onProgress?: (message: string) => void } = {}): Promise<CopyReport> {
  const started = Date.now()
  const progress = opts.onProgress ?? (() => {})
  const dir = mkdtempSync(join(tmpdir(), 'gazette-copy-'))
  snapshots.add(dir)
  const snapshot = join(dir, 'snapshot.db')
  const pgDb = openPgDatabase(to, { poolSize: 1, applicationName: 'gazette-db-copy' })
  try {
    const live = new Database(from, { fileMustExist: true })
    try {
      live.pragma('busy_timeout = 5000')
      // All pages in one step: one read transaction, so one snapshot (as src/cli/backup.ts).
      await live.backup(snapshot, { progress: () => 0x7fffffff })
    } finally {
      live.close()
    }
    progress(`snapshot of ${from} taken in ${Date.now() - started} ms`)
    // The snapshot, brought to this build's schema (a database of an older Gazette copies as well).
    const source = openDatabase(snapshot).$client
    try {
      await migratePg(pgDb)
      const client = await pgDb.$client.connect()
      try {
        const busy = await holdsData(client)
        if (busy.length > 0) throw new CopyError(`the PostgreSQL database already holds data (${busy.join(', ')}); copy into a new, empty one`)
        await client.query('BEGIN')
        try {
          const rows: Record<string, number> = {}
          const triggers = await insertTriggers(client)
          const alter = (action: 'ENABLE' | 'DISABLE') => client.query(triggers.map((r) => `ALTER TABLE ${quote(r.table)} ${action} TRIGGER ${quote(r.trigger)}`).join('; '))
          await alter('DISABLE')
          for (const spec of COPIED) {
            const t0 = Date.now()
            rows[spec.table] = await copyTable(client, source, spec)
            progress(`${spec.table}: ${rows[spec.table]} rows in ${Date.now() - t0} ms`)
          }
          const t0 = Date.now()
          await derive(client)
          await alter('ENABLE')
          progress(`counts, search documents and term counts derived in ${Date.now() - t0} ms`)
          await advanceIdentities(client)
          const checked = await verify(client, source, rows, opts.sample ?? 200)
          await client.query('COMMIT')
          // Statistics for the planner, and the row versions the derived UPDATE left behind reclaimed, so the
          // first requests find a database as autovacuum would leave it (VACUUM cannot run in the transaction).
          const t1 = Date.now()
          await client.query('VACUUM (ANALYZE)')
          progress(`VACUUM (ANALYZE) in ${Date.now() - t1} ms`)
          return { rows, checked, ms: Date.now() - started }
        } catch (err) {
          await client.query('ROLLBACK')
          throw err
        }
      } finally {
        client.release()
      }
    } finally {
      source.close()
    }
  } finally {
    await pgDb.$client.end()
    rmSync(dir, { recursive: true, force: true })
    snapshots.delete(dir)
  }
}
