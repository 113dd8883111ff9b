// Any number of rows in one statement whose text does not depend on how many: each column's values are
// bound as one array and the rows are read back out of the arrays with unnest. Used where one statement
// writes what several requests asked for (src/comments/repository.pg.ts, a batch of comments, and
// src/events/outbox.pg.ts, their events), so that it is one prepared statement however large the batch.
import { getTableColumns, sql, type SQL } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import { slot } from '../placeholder.js'

type Columns<T extends PgTable> = T['_']['columns']
export type ColumnKey<T extends PgTable> = keyof Columns<T> & string

/**
 * Rows of `table` inserted by one statement whatever their number: `statement` is `INSERT INTO table (keys'
 * columns) SELECT … FROM unnest(one array per column) WITH ORDINALITY … ORDER BY ordinality`, the rows in
 * the arrays' order (so an identity column counts up in that order), the array of column `key` a placeholder
 * `${prefix}${key}`; `values(rows)` binds them, each element as the column's encoder gives it to the driver
 * (null stays null). A column left out takes its default.
 */
export function unnestInsert<T extends PgTable> (table: T, keys: readonly ColumnKey<T>[], prefix: string) {
  const columns = getTableColumns(table) as Record<string, PgColumn>
  const names = keys.map((key) => sql.identifier(columns[key]!.name))
  const arrays = keys.map((key) => sql`${slot(`${prefix}${key}`)}::${sql.raw(columns[key]!.getSQLType())}[]`)
  const aliases = keys.map((_, i) => sql.identifier(`c${i}`))
  const statement: SQL = sql`INSERT INTO ${table} (${sql.join(names, sql`, `)})
    SELECT ${sql.join(aliases, sql`, `)} FROM unnest(${sql.join(arrays, sql`, `)}) WITH ORDINALITY AS ${sql.identifier('u')}(${sql.join(aliases, sql`, `)}, ${sql.identifier('i')})
    ORDER BY ${sql.identifier('i')}`
  const values = (rows: readonly Record<string, unknown>[]): Record<string, unknown[]> => Object.fromEntries(keys.map((key) => {
    const column = columns[key]!
    return [`${prefix}${key}`, rows.map((row) => row[key] === null || row[key] === undefined ? null : column.mapToDriverValue(row[key]))]
  }))
  return { statement, values }
}
