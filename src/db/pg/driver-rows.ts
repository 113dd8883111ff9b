// A Drizzle select, built with Drizzle, run on node-postgres itself with its rows as arrays, built into
// objects by ../row-builder.ts: for a page's many rows, where Drizzle's mapping (an `is()` check and a
// decoder lookup per field per row, more on a subquery's aliased fields) was a quarter of a comment
// thread's CPU (bench/README.md, "PostgreSQL: an article's tags by key, a thread's rows on the driver").
//
// The fields are table columns or SQL expressions, in the selection's order. Every result is checked
// against them: as many columns, each column field named as its column (a query whose columns came out in
// another order fails instead of mislabelling values); an expression's value is taken as the driver reads
// it, as Drizzle takes it without a decoder (an expression with `.mapWith()` is refused: its decoder is
// not Drizzle's public API). The values are pg's own (ints, booleans, json; int8 as
// numbers: ./connection.ts) but for the date and time types, which Drizzle's session takes as text for
// its column decoders to parse (AS_TEXT below); each then goes through its column's decoder, as Drizzle's
// mapping gives them (test/pg/driver-rows.test.ts).
//
// `built` keeps a query's text, built once, for any number of runs with other values: Drizzle's building
// (its `is()` checks on every chunk of every column) was a third of a list page's CPU in the PostgreSQL
// Gazette process (bench/README.md, "PostgreSQL: list pages built once per shape").
import { Column, fillPlaceholders, is, noopDecoder, type SQL } from 'drizzle-orm'
import pg from 'pg'
import { AS_READ, rowBuilder } from '../row-builder.js'

// Drizzle's node-postgres session leaves these as the text PostgreSQL sends (timestamptz, timestamp, date,
// interval and their arrays: drizzle-orm/node-postgres/session.js); so does this.
const AS_TEXT = new Set<number>([pg.types.builtins.TIMESTAMPTZ, pg.types.builtins.TIMESTAMP, pg.types.builtins.DATE, pg.types.builtins.INTERVAL,
  1231, 1115, 1185, 1187, 1182])
const types = {
  getTypeParser: (id: number, format?: 'text' | 'binary') => AS_TEXT.has(id) ? (value: string) => value : pg.types.getTypeParser(id, format)
}

/** What runs the statement: the pool, or a transaction's client. */
type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>
/** A Drizzle query, or anything that builds into text and parameters (placeholders among them). */
interface Buildable { toSQL: () => { sql: string, params: unknown[] } }

/** A query built once: its rows for these placeholder values, as a named prepared statement when it has a name. */
export type BuiltRows<T> = ((conn: Queryable, values?: Record<string, unknown>) => Promise<T[]>) & { text: string, params: (values?: Record<string, unknown>) => unknown[] }

export interface DriverRows<T> {
  (conn: Queryable, query: Buildable): Promise<T[]>
  /** The query built now, once; `name` (from its text) makes it a named prepared statement on every connection it runs on. */
  built: (query: Buildable, name?: (text: string) => string) => BuiltRows<T>
}

export function driverRows<T> (fields: Record<string, Column | SQL>): DriverRows<T> {
  const names = Object.keys(fields)
  const columns = names.map((name) => fields[name]!)
  const row = rowBuilder<T>(names, columns.map((c, i) => {
    if (is(c, Column)) return c
    if ((c as unknown as { decoder?: unknown }).decoder !== noopDecoder) throw new Error(`the field ${names[i]} has a decoder (mapWith), which rows on the driver do not apply`)
    return AS_READ
  }))
  async function exec (conn: Queryable, text: string, values: unknown[], name: string | undefined): Promise<T[]> {
    const result = await conn.query<unknown[]>({ name, text, values, rowMode: 'array', types: types as pg.CustomTypesConfig })
    const misplaced = result.fields.length !== columns.length
      ? `${result.fields.length} result columns for ${columns.length} fields`
      : result.fields.flatMap((f, i) => { const c = columns[i]!; return !is(c, Column) || f.name === c.name ? [] : [`${names[i]} is ${f.name}`] })
    if (misplaced.length > 0) throw new Error(`a driver statement's fields are not its selection: ${String(misplaced)}`)
    return result.rows.map(row)
  }
  const run = (async (conn, query) => {
    const { sql: text, params } = query.toSQL()
    return await exec(conn, text, params, undefined)
  }) as DriverRows<T>
  run.built = (query, nameOf) => {
    const { sql: text, params } = query.toSQL()
    const name = nameOf?.(text)
    const filled = (values: Record<string, unknown> = {}): unknown[] => fillPlaceholders(params, values)
    return Object.assign(async (conn: Queryable, values?: Record<string, unknown>) => await exec(conn, text, filled(values), name), { text, params: filled })
  }
  return run
}
