// A Drizzle select, built with Drizzle, run on better-sqlite3 itself. Drizzle's prepared statement maps
// every field of every row through `is()` checks and a decoder lookup: a page of 100 comments spent about
// a tenth of its CPU there (bench/README.md, "Page statements on the driver"). Here each field's column is
// looked up once, when the statement is prepared, and a row is one object literal compiled for the fields
// (so every row has one shape, which V8 keeps fast), each value through its column's own decoder (a
// boolean column's 0/1, a JSON column's text), as Drizzle does.
//
// The fields must be the query's selection, every one a table column, in the selection's order: checked
// against the statement's own result columns when it is prepared, so a query whose columns came out in
// another order fails at once instead of mislabelling values.
import { Column, fillPlaceholders, getTableName } from 'drizzle-orm'
import type { Db } from './connection.js'

export interface DriverStatement<T> {
  all: (values: Record<string, unknown>) => T[]
  get: (values: Record<string, unknown>) => T | undefined
}

export function onDriver<T> (db: Pick<Db, '$client'>, query: { toSQL: () => { sql: string, params: unknown[] } },
  fields: Record<string, Column>): DriverStatement<T> {
  const { sql: text, params } = query.toSQL()
  const statement = db.$client.prepare<unknown[], unknown[]>(text).raw()
  const names = Object.keys(fields)
  const columns = names.map((name) => fields[name]!)
  const result = statement.columns()
  const misplaced = result.length !== columns.length
    ? `${result.length} result columns for ${columns.length} fields`
    : result.flatMap((c, i) => c.column === columns[i]!.name && c.table === getTableName(columns[i]!.table) ? [] : [`${names[i]} is ${c.table}.${c.column}`])
  if (misplaced.length > 0) throw new Error(`a driver statement's fields are not its selection: ${String(misplaced)}`)
  // An object filled key by key in a loop measured no faster than Drizzle's mapping once its rows were
  // read and copied downstream; the literal was 0.8× (bench/README.md, "Page statements on the driver").
  // eslint-disable-next-line no-new-func -- the text is built from the fields' own names, JSON-quoted
  const build = new Function('c', 'v', `return { ${names.map((name, i) => `${JSON.stringify(name)}: v[${i}] === null ? null : c[${i}].mapFromDriverValue(v[${i}])`).join(', ')} }`) as (c: Column[], v: unknown[]) => T
  const row = (values: unknown[]): T => build(columns, values)
  return {
    all: (values) => statement.all(...fillPlaceholders(params, values)).map(row),
    get: (values) => {
      const found = statement.get(...fillPlaceholders(params, values))
      return found === undefined ? undefined : row(found)
    }
  }
}
