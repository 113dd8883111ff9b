// The PostgreSQL schema describes the same storage as the SQLite one: every table that holds data, with
// the same columns, so the adapters can share row types and db:copy can move rows across as they are.
import { test } from 'tap'
import { getTableConfig as sqliteTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core'
import { getTableConfig as pgTableConfig, PgTable } from 'drizzle-orm/pg-core'
import * as sqlite from '../../src/db/schema.js'
import * as pg from '../../src/db/pg/schema.js'

// What SQLite needs and PostgreSQL does without (src/db/pg/schema.ts says why).
const SQLITE_ONLY = new Set(['search_reindex_deferred', 'article_summaries'])
const SQLITE_ONLY_INDEXES = new Set(['articles_listed_idx'])
// Flood-control counters shared by processes on PostgreSQL, where each SQLite process counts in memory; the
// version of search plans, which SQLite makes in-process, reading its own file, for every search.
const PG_ONLY = new Set(['rate_limits', 'search_plan_version'])
// The search document, kept in the FTS5 index on SQLite.
const PG_ONLY_COLUMNS = new Set(['articles.search'])

const tablesOf = <T>(module: Record<string, unknown>, kind: abstract new (...args: never[]) => T): T[] =>
  Object.values(module).filter((v): v is T => v instanceof kind)

test('every SQLite table has a PostgreSQL table with the same columns, nullability and defaults', async (t) => {
  const pgTables = new Map(tablesOf(pg, PgTable).map((table) => [pgTableConfig(table).name, pgTableConfig(table)]))
  const sqliteTables = tablesOf(sqlite, SQLiteTable).map((table) => sqliteTableConfig(table))
  t.ok(sqliteTables.length > 15, 'found the SQLite tables')
  for (const table of sqliteTables) {
    if (SQLITE_ONLY.has(table.name)) continue
    const twin = pgTables.get(table.name)
    if (!twin) {
      t.fail(`no PostgreSQL table ${table.name}`)
      continue
    }
    // SQLite counts an INTEGER PRIMARY KEY (the rowid) as defaulted even without AUTOINCREMENT; the
    // single-row tables' ids (always 1) have no default on PostgreSQL, and ids are identities there.
    const defaulted = (c: typeof twin.columns[number] | typeof table.columns[number]) =>
      c.hasDefault && !('autoIncrement' in c && c.primary && !c.autoIncrement)
    const columns = (cols: typeof twin.columns | typeof table.columns) =>
      Object.fromEntries(cols.filter((c) => !PG_ONLY_COLUMNS.has(`${table.name}.${c.name}`))
        .map((c) => [c.name, { notNull: c.notNull, primary: c.primary, hasDefault: defaulted(c), enum: c.enumValues ?? null }]))
    t.same(columns(twin.columns), columns(table.columns), `${table.name}: columns`)
    t.same(twin.primaryKeys.map((k) => k.columns.map((c) => c.name)), table.primaryKeys.map((k) => k.columns.map((c) => c.name)), `${table.name}: primary key`)
    t.same(
      twin.foreignKeys.map((k) => k.reference()).map((r) => [r.columns.map((c) => c.name), pgTableConfig(r.foreignTable).name]),
      table.foreignKeys.map((k) => k.reference()).map((r) => [r.columns.map((c) => c.name), sqliteTableConfig(r.foreignTable).name]),
      `${table.name}: foreign keys`)
    // PostgreSQL's own: the GIN indexes of search, and the public thread's partial index its planner needs
    // (migrations/pg/0009; SQLite's takes comments_article_status_idx for a thread).
    const pgOnly: Record<string, string[]> = {
      articles: ['articles_search_idx'],
      tags: ['tags_search_idx'],
      comments: ['comments_thread_idx']
    }
    t.same(twin.indexes.map((i) => i.config.name).sort(),
      table.indexes.map((i) => i.config.name).filter((name) => !SQLITE_ONLY_INDEXES.has(name)).concat(pgOnly[table.name] ?? []).sort(),
      `${table.name}: indexes`)
  }
  t.same([...pgTables.keys()].filter((name) => !PG_ONLY.has(name) && !sqliteTables.some((s) => s.name === name)), [], 'no PostgreSQL table SQLite lacks')
})

test('the article statuses are the one list', async (t) => {
  t.same(pgTableConfig(pg.articles).columns.find((c) => c.name === 'status')?.enumValues, [...sqlite.ARTICLE_STATUSES])
})
