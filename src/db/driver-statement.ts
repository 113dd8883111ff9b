// A Drizzle select, built with Drizzle, run on better-sqlite3 itself, its rows built by ./row-builder.ts:
// each field's column is looked up once, when the statement is prepared.
//
// The fields must be the query's selection, in the selection's order: table columns, or SQL expressions,
// whose values are taken as the driver reads them (a `mapWith` on one is not applied: its decoder is not
// part of Drizzle's public API). Checked against the statement's own result columns when it is prepared:
// their number, and each column field's table and column, so a query whose columns came out in another
// order fails at once instead of mislabelling values.
import { Column, fillPlaceholders, getTableName, is, SQL } from 'drizzle-orm'
import type { Db } from './connection.js'
import { AS_READ, rowBuilder } from './row-builder.js'

export interface DriverStatement<T> {
  all: (values: Record<string, unknown>) => T[]
  get: (values: Record<string, unknown>) => T | undefined
}

export function onDriver<T> (db: Pick<Db, '$client'>, query: { toSQL: () => { sql: string, params: unknown[] } },
  fields: Record<string, Column | SQL | SQL.Aliased>): DriverStatement<T> {
  const { sql: text, params } = query.toSQL()
  const statement = db.$client.prepare<unknown[], unknown[]>(text).raw()
  const names = Object.keys(fields)
  const decoders = names.map((name) => {
    const field = fields[name]!
    return is(field, Column) ? field : AS_READ
  })
  const result = statement.columns()
  const misplaced = result.length !== names.length
    ? `${result.length} result columns for ${names.length} fields`
    : result.flatMap((c, i) => {
      const field = fields[names[i]!]!
      return !is(field, Column) || (c.column === field.name && c.table === getTableName(field.table)) ? [] : [`${names[i]} is ${c.table}.${c.column}`]
    })
  if (misplaced.length > 0) throw new Error(`a driver statement's fields are not its selection: ${String(misplaced)}`)
  const row = rowBuilder<T>(names, decoders)
  return {
    all: (values) => statement.all(...fillPlaceholders(params, values)).map(row),
    get: (values) => {
      const found = statement.get(...fillPlaceholders(params, values))
      return found === undefined ? undefined : row(found)
    }
  }
}
