// SQL for keyset pagination: "rows after this key" for an ORDER BY of one sort column plus a unique
// tie-breaker, both in the same direction. NULLs sort first ascending and last descending, as SQLite
// orders them, so a nullable sort column pages correctly too.
import { sql, type Placeholder, type SQL, type SQLWrapper } from 'drizzle-orm'

/** One part of a keyset cursor's key: a sort value or the tie-breaking id. */
export type KeyPart = string | number | null
/** The sort key of the last row of a page (src/http/cursor.ts encodes it in a cursor). */
export type CursorKey = KeyPart[]

export interface KeysetOrder {
  column: SQLWrapper
  tie: SQLWrapper
  descending: boolean
  /** Whether the sort column may hold NULL in the rows being paged. */
  nullable: boolean
}

export function orderBy (o: KeysetOrder): SQL {
  return o.descending ? sql`${o.column} DESC, ${o.tie} DESC` : sql`${o.column} ASC, ${o.tie} ASC`
}

/** Rows after the key (`value`, `tie`); either may be a placeholder of a prepared statement, `value` when not null. */
export function after (o: KeysetOrder, value: KeyPart | Placeholder, tie: KeyPart | Placeholder): SQL {
  const cmp = o.descending ? sql.raw('<') : sql.raw('>')
  if (value === null) {
    // Descending: the NULL block comes last, so only later NULLs follow. Ascending: NULLs come first.
    return o.descending
      ? sql`(${o.column} IS NULL AND ${o.tie} ${cmp} ${tie})`
      : sql`((${o.column} IS NULL AND ${o.tie} ${cmp} ${tie}) OR ${o.column} IS NOT NULL)`
  }
  const strict = sql`((${o.column}, ${o.tie}) ${cmp} (${value}, ${tie}))`
  return o.nullable && o.descending ? sql`(${strict} OR ${o.column} IS NULL)` : strict
}
