// A Drizzle select, built with Drizzle, run on node-postgres itself with its rows as arrays, built into
// objects by ../row-builder.ts: for a page's many rows, where Drizzle's mapping (an `is()` check and a
// decoder lookup per field per row, more on a subquery's aliased fields) was a quarter of a comment
// thread's CPU (bench/README.md, "PostgreSQL: an article's tags by key, a thread's rows on the driver").
//
// The fields are table columns, in the selection's order. Every result is checked against them: as many
// columns, each named as its field's column (a query whose columns came out in another order fails instead
// of mislabelling values). The values are pg's own (ints, booleans, json; int8 as numbers:
// ./connection.ts) but for the date and time types, which Drizzle's session takes as text for its column
// decoders to parse (AS_TEXT below); each then goes through its column's decoder, as Drizzle's mapping
// gives them (test/pg/driver-rows.test.ts).
import type { Column } from 'drizzle-orm'
import pg from 'pg'
import { rowBuilder } from '../row-builder.js'

// Drizzle's node-postgres session leaves these as the text PostgreSQL sends (timestamptz, timestamp, date,
// interval and their arrays: drizzle-orm/node-postgres/session.js); so does this.
const AS_TEXT = new Set<number>([pg.types.builtins.TIMESTAMPTZ, pg.types.builtins.TIMESTAMP, pg.types.builtins.DATE, pg.types.builtins.INTERVAL,
  1231, 1115, 1185, 1187, 1182])
const types = {
  getTypeParser: (id: number, format?: 'text' | 'binary') => AS_TEXT.has(id) ? (value: string) => value : pg.types.getTypeParser(id, format)
}

/** What runs the statement: the pool, or a transaction's client. */
type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>

export function driverRows<T> (fields: Record<string, Column>): (conn: Queryable, query: { toSQL: () => { sql: string, params: unknown[] } }) => Promise<T[]> {
  const names = Object.keys(fields)
  const columns = names.map((name) => fields[name]!)
  const row = rowBuilder<T>(names, columns)
  return async (conn, query) => {
    const { sql: text, params } = query.toSQL()
    const result = await conn.query<unknown[]>({ text, values: params, rowMode: 'array', types: types as pg.CustomTypesConfig })
    const misplaced = result.fields.length !== columns.length
      ? `${result.fields.length} result columns for ${columns.length} fields`
      : result.fields.flatMap((f, i) => f.name === columns[i]!.name ? [] : [`${names[i]} is ${f.name}`])
    if (misplaced.length > 0) throw new Error(`a driver statement's fields are not its selection: ${String(misplaced)}`)
    return result.rows.map(row)
  }
}
