// Keyset pagination on PostgreSQL, in SQLite's order: NULLs first ascending and last descending
// (src/db/keyset.ts). PostgreSQL's default is the opposite, so the order says NULLS FIRST / LAST, and the
// indexes whose sort column may be NULL are declared NULLS FIRST (src/db/pg/schema.ts): read forwards they
// give the ascending order, backwards the descending one, and a page stays one index range either way.
// "Rows after this key" is the same SQL on both engines.
import { sql, type SQL } from 'drizzle-orm'
import type { KeysetOrder } from '../keyset.js'

export { after, type KeysetOrder } from '../keyset.js'

export function orderBy (o: KeysetOrder): SQL {
  return o.descending
    ? sql`${o.column} DESC NULLS LAST, ${o.tie} DESC`
    : sql`${o.column} ASC NULLS FIRST, ${o.tie} ASC`
}
