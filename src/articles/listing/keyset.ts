// The article list's order and keyset: the sort column with the id as tie-breaker, and where a page
// starts after its cursor.
import { and, sql, type SQL } from 'drizzle-orm'
import { articles } from '../../db/schema.js'
import { after, type KeysetOrder } from '../../db/keyset.js'
import type { ArticleListParams } from './index.js'

/** Whether a list's sort column may be NULL: when editors may list drafts by publication date. */
export const nullableSort = (p: ArticleListParams): boolean => p.sort !== '-updatedAt' && p.visibility === null && p.status !== 'published'

/** The order of a list: its date column, newest first unless `publishedAt`. */
export function listOrder (sort: ArticleListParams['sort'], nullable: boolean): { byDate: typeof articles.publishedAt | typeof articles.updatedAt, order: KeysetOrder } {
  const byDate = sort === '-updatedAt' ? articles.updatedAt : articles.publishedAt
  return { byDate, order: { column: byDate, tie: articles.id, descending: sort !== 'publishedAt', nullable } }
}

/**
 * The keyset condition of a page sorted by date (a ranked page has its own, in ./ranked.ts), and `rest`:
 * the second range to fill a page that the first one left short. A nullable sort column (editors' lists
 * include drafts without publishedAt) is paged as two index ranges, the dated rows and the NULL block,
 * instead of one OR that no index can serve in order.
 */
export function keysetRanges (p: ArticleListParams, order: KeysetOrder, relevance: boolean): { keyset: SQL | undefined, rest: SQL | undefined } {
  if (relevance) return { keyset: undefined, rest: undefined }
  if (!order.nullable) return { keyset: p.after === undefined ? undefined : after(order, p.after[0] ?? null, p.after[1] ?? null), rest: undefined }
  const [first, second] = order.descending
    ? [sql`${order.column} IS NOT NULL`, sql`${order.column} IS NULL`]
    : [sql`${order.column} IS NULL`, sql`${order.column} IS NOT NULL`]
  const inNull = p.after !== undefined && p.after[0] === null
  const inFirst = p.after === undefined || inNull !== order.descending
  const strict = p.after === undefined
    ? undefined
    : inNull
      ? sql`${articles.id} ${sql.raw(order.descending ? '<' : '>')} ${p.after[1] ?? null}`
      : after({ ...order, nullable: false }, p.after[0] ?? null, p.after[1] ?? null)
  return { keyset: and(inFirst ? first : second, strict), rest: inFirst ? second : undefined }
}
