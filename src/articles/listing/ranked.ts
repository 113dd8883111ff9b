// A search's matches as the statements' candidates: ranked best first (a page by relevance), or all of
// them (a page by date that they drive, a total).
import { and, eq, sql, type Placeholder, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/connection.js'
import { articles } from '../../db/schema.js'
import { articleSearch, RANK } from '../search-index.js'
import type { Source } from './drivers.js'
import type { ArticleListParams } from './index.js'

/**
 * How many of the best-ranked matches a relevance page checks against the filters at first: enough that a
 * public page (about 95% of articles are visible) almost never needs the second, exhaustive try.
 */
export const RANKED_CANDIDATES = (limit: number): number => Math.max(100, 4 * (limit + 1))

/** Every match's id, as the subquery `candidates` (the total needs no ranks). */
export const allMatches = (db: Db, fts: Placeholder) => db.select({ id: sql<number>`${articleSearch.rowid}`.as('match_id') }).from(articleSearch)
  .where(sql`${articleSearch} MATCH ${fts}`).as('candidates')

/**
 * A page by relevance: the matches, best first, after the cursor's rank, checked against the filters
 * (`where`) through the narrow index. With no filter beyond visibility (`filtered` false), the first try
 * ranks the best RANKED_CANDIDATES matches only (the placeholder `candidates`); `allRanked`, every match,
 * is the second, exhaustive try for a short first page, which filters that reject many of the best
 * matches go to at once. `p` holds placeholders (the cursor's rank and id, see ./index.ts, `build`).
 */
export function rankedPages (db: Db, p: ArticleListParams, fts: Placeholder, from: Source, where: SQL | undefined, filtered: boolean) {
  // The rank depends on the article and the query alone (search-index.ts), so the cursor carries it as it was.
  const rankedAfter = p.after !== undefined
    ? sql`(${RANK} > ${p.after[0]} OR (${RANK} = ${p.after[0]} AND ${articleSearch.rowid} < ${p.after[1]}))`
    : undefined
  // `limit` of the best matches after the cursor, or all. Aliases unlike any column of articles: drizzle
  // names a subquery's columns unqualified.
  const ranked = (limit: Placeholder | undefined) => {
    const q = db.select({ id: sql<number>`${articleSearch.rowid}`.as('match_id'), rank: RANK.as('match_rank') }).from(articleSearch)
      .where(and(sql`${articleSearch} MATCH ${fts}`, rankedAfter)).orderBy(sql`match_rank ASC, match_id DESC`).$dynamic()
    return (limit === undefined ? q : q.limit(limit)).as('candidates')
  }
  const rankedPage = (candidates: Placeholder | undefined) => {
    const c = ranked(candidates)
    return from({ id: c.id, rank: c.rank }, c).where(and(eq(articles.id, c.id), where))
      .orderBy(sql`${c.rank} ASC, ${c.id} DESC`).limit(sql.placeholder('limit'))
  }
  return {
    page: rankedPage(filtered ? undefined : sql.placeholder('candidates')),
    allRanked: filtered ? undefined : () => rankedPage(undefined)
  }
}
