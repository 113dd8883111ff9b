// `include=total`: from the stored counts when the list is one they hold, else counted, within bounds.
import { and, count, eq, isNull, sql, type Placeholder } from 'drizzle-orm'
import type { Db } from '../../db/connection.js'
import { articles, tags } from '../../db/schema.js'
import { invalid } from '../../http/errors.js'
import { isInterrupted } from '../../db/native.js'
import type { ArticleCounts, CountKind } from '../counts.js'
import { allMatches } from './ranked.js'
import type { Source } from './drivers.js'
import { HINT_STATUS, type Filters, type MemberSql, type Membership } from './filters.js'
import type { ArticleListParams } from './index.js'

/** Most articles `include=total` counts when no stored count answers it (at most about 30 ms of seeks). */
export const TOTAL_LIMIT = 20_000
/** A tag or author larger than this cannot drive a count of its intersection with other filters. */
const COUNT_DRIVER_LIMIT = TOTAL_LIMIT

/** 422 for `include=total` when no stored count answers and more than TOTAL_LIMIT articles match. */
export const tooManyToCount = () => invalid('query', '/include',
  `counts at most ${TOTAL_LIMIT.toLocaleString('en')} articles for this combination of filters (any number for all articles, one tag, one section or one author); narrow the filters, or leave out include=total`)

/** What `count` counts, on either engine; a count the query budget stopped is refused as too many to count. */
export async function countedWithinBudget (count: () => number | Promise<number>): Promise<number> {
  try {
    return await count()
  } catch (err) {
    if (isInterrupted(err)) throw tooManyToCount()
    throw err
  }
}

/** `include=total` from the stored counts, when the list is one they hold. */
export function storedTotals (db: Db, counts: ArticleCounts) {
  const tagCounts = db.select({ id: tags.id, total: tags.totalArticles, published: tags.publishedArticles, visible: tags.visibleArticles })
    .from(tags).where(and(eq(tags.slug, sql.placeholder('slug')), isNull(tags.deletedAt))).prepare()
  // The stored number at the settled time and what fell due since, in one snapshot (withDeltas).
  const read = counts.withDeltas((deltas, column: 'visible' | 'total' | 'published', kind: CountKind | 'tag', key: string): number => {
    if (kind === 'tag') {
      const row = tagCounts.get({ slug: key })
      return row === undefined ? 0 : row[column] + (deltas?.tags.get(row.id) ?? 0)
    }
    return counts.storedNow(kind, key)[column] + (deltas === undefined ? 0 : counts.keyDelta(deltas, kind, key))
  })
  return async (p: ArticleListParams): Promise<number | undefined> => {
    const dims = p.tags.length + (p.section === undefined ? 0 : 1) + (p.author === undefined ? 0 : 1)
    if (p.search !== undefined || p.publishedAfter !== undefined || p.publishedBefore !== undefined || dims > 1 || p.tags.length > 1) return undefined
    const column = p.visibility !== null ? 'visible' : p.status === undefined ? 'total' : p.status === 'published' ? 'published' : undefined
    if (column === undefined) return undefined
    const [kind, key]: [CountKind | 'tag', string] = p.tags.length === 1
      ? ['tag', p.tags[0]!]
      : p.section !== undefined ? ['section', p.section] : p.author !== undefined ? ['author', p.author] : ['all', '']
    return read(column === 'visible' ? p.visibility!.visibleAt : undefined, column, kind, key)
  }
}

/**
 * Whether a count may run when no stored count answers: a search's matches up to TOTAL_LIMIT; otherwise
 * when no tag or author larger than COUNT_DRIVER_LIMIT would have to drive it.
 */
export const countable = (searchMatches: number | undefined, smallest: Membership | undefined): boolean =>
  searchMatches !== undefined ? searchMatches <= TOTAL_LIMIT : smallest === undefined || smallest.size <= COUNT_DRIVER_LIMIT

/**
 * The count, when no stored count answers (unexecuted). A search's (`fts`): every visible match (at most
 * TOTAL_LIMIT, else refused). Otherwise driven by the smallest tag or author, or an index of articles,
 * and capped at TOTAL_LIMIT + 1 (refused beyond), so it stops early however many articles pass. The count
 * has no order and no cursor, so it takes no hints (but those of the driving membership).
 */
export function countedTotal (db: Db, fts: Placeholder | undefined, from: Source, filtersFor: Filters, smallest: MemberSql | undefined) {
  const counted = (q: { as: (alias: string) => unknown }) => db.select({ n: count() }).from(q.as('counted') as never)
  if (fts !== undefined) {
    const all = allMatches(db, fts)
    return from({ n: count() }, all).where(and(eq(articles.id, all.id), filtersFor({ upper: true, lower: true, status: HINT_STATUS }, undefined)))
  }
  // Without a tag or author to drive it, the count walks the index range of the dates asked for.
  return counted(from({ one: sql`1` }, undefined, smallest, true)
    .where(filtersFor({ upper: smallest !== undefined, lower: smallest !== undefined, status: HINT_STATUS }, smallest)).limit(TOTAL_LIMIT + 1))
}
