// The article list's SQL: filters, sorts, keyset pages, totals and full-text search, written so that every
// page costs the same however deep it is, and no request's cost grows with the size of the archive
// (bench/query-plans.md shows each plan; test/articles/query-plan.test.ts guards them).
//
// Two planner hints matter:
// - A unary `+` on a bound of the sort column (`+published_at <= now`) keeps SQLite from using that bound
//   as the index range when the keyset condition is the better one (or when the order needs another index);
//   the bound is still applied, row by row.
// - CROSS JOIN fixes the join order: the full-text index, or a small tag's or author's article ids, drive
//   the query, instead of a walk of every article in date order that tests each one.
//
// Bounds:
// - A search is priced before it runs (src/articles/search-index.ts): refused (422) when it would rank more
//   than RANK_LIMIT matches by relevance, or check a phrase in too many articles. By relevance, the matches
//   are ranked from the full-text index alone and only then checked against the filters, through
//   articles_visibility_idx (id, status, published_at, section); the first try checks the best
//   RANKED_CANDIDATES(limit) matches, and when too few pass and more exist, the page is computed again
//   over every match, so it is always exact. Sorted by date, a search with very few matches drives the page
//   from them, sorted through the narrow index (a cost bounded by their number, wherever in time they lie);
//   up to LISTED_MATCHES, its matches are handed as a list to the walk along the date index (which costs at
//   most one pass over that index); more are checked row by row along the date index, where they are dense.
// - `include=total` reads the stored counts (src/articles/counts.ts) when the list is all articles, one tag,
//   one section or one author; any other combination is counted, up to TOTAL_LIMIT articles (422 beyond),
//   and refused up front when the count would have to go through more than TOTAL_LIMIT articles of a tag or
//   an author, or of a search's matches.
import { and, eq, getTableColumns, inArray, sql } from 'drizzle-orm'
import type { Static } from 'typebox'
import type { Db } from '../../db/connection.js'
import { isInterrupted } from '../../db/native.js'
import { articles } from '../../db/schema.js'
import { orderBy } from '../../db/keyset.js'
import { invalid } from '../../http/errors.js'
import type { CursorKey } from '../../db/keyset.js'
import { tagReader } from '../../tags/article-tags.js'
import { articleCounts } from '../counts.js'
import type { ArticleSort as ArticleSortSchema } from '../schemas.js'
import type { SearchTerm } from '../search.js'
import type { ArticleStatus } from '../status.js'
import { RANK_LIMIT, searchPlanner, snippetsOf, SearchRefused, type SearchPlan } from '../search-index.js'
import { chooseDrivers, sourceOf } from './drivers.js'
import { HINT_STATUS, listFilters, membershipsOf } from './filters.js'
import { keysetRanges, listOrder } from './keyset.js'
import { allMatches, rankedPages } from './ranked.js'
import { countedTotal, storedTotals, tooManyToCount, TOTAL_LIMIT } from './totals.js'

export { LISTED_MATCHES, RARE_MEMBERSHIP } from './drivers.js'
export { RANKED_CANDIDATES } from './ranked.js'
export { TOTAL_LIMIT } from './totals.js'

export type ArticleRow = typeof articles.$inferSelect
export type ArticleSort = Static<typeof ArticleSortSchema>
/** A listed article: every column but the body (lists show summaries), with its rank when searched by relevance. */
export type ListedRow = Omit<ArticleRow, 'body' | 'bodyHtml'> & { rank: number | null }

export interface ArticleListParams {
  limit: number
  after: CursorKey | undefined
  /** `visibleAt` for the public (published and due), null for editors. */
  visibility: { visibleAt: number } | null
  status: ArticleStatus | undefined
  tags: string[]
  section: string | undefined
  author: string | undefined
  publishedAfter: number | undefined
  publishedBefore: number | undefined
  search: SearchTerm[] | undefined
  sort: ArticleSort
  withTotal: boolean
}

export function articleListing (db: Db) {
  const counts = articleCounts(db)
  const planner = searchPlanner(db)
  const memberships = membershipsOf(db, counts)
  const storedTotal = storedTotals(db, counts)
  const tagsOf = tagReader(db)

  /** The search's plan and how many articles it matches (exactly up to RANK_LIMIT, else a bound above it). */
  function priced (terms: SearchTerm[]): { plan: SearchPlan, matches: number } {
    let plan: SearchPlan
    try {
      plan = planner.plan(terms)
    } catch (err) {
      if (err instanceof SearchRefused) throw invalid('query', '/q', err.message)
      throw err
    }
    // Exact up to RANK_LIMIT: the bounds when they settle it, else the matches counted (lazily, at most RANK_LIMIT + 1).
    const matches = plan.estimate <= RANK_LIMIT ? plan.estimate : plan.least > RANK_LIMIT ? plan.least : planner.matchesUpTo(plan.fts, RANK_LIMIT)
    return { plan, matches }
  }

  /**
   * The statements a page needs, unexecuted: `page` (limit + 1 rows) and, with `withTotal` when no stored
   * count answers, `total`. `list` runs them; `explain` shows their plans. Undefined when nothing can match
   * (an unknown tag). Composed from ./filters.ts (the WHERE), ./drivers.ts (what drives the page),
   * ./keyset.ts (order and cursor), ./ranked.ts (a search's candidates) and ./totals.ts.
   */
  async function statements (p: ArticleListParams) {
    const members = await memberships(p)
    if (members === undefined) return undefined
    const relevance = p.sort === 'relevance' && p.search !== undefined
    const search = p.search === undefined ? undefined : priced(p.search)
    const fts = search?.plan.fts
    if (relevance && search!.matches > RANK_LIMIT) {
      throw invalid('query', '/q', `matches more than ${RANK_LIMIT.toLocaleString('en')} articles, too many to rank by relevance; add a word, or sort by date (sort=-publishedAt)`)
    }
    const { byDate, order } = listOrder(p)
    const everything = Math.max(1, (await counts.stored('all', '')).total)
    const { smallest, bySearch, byIds, driver } = chooseDrivers(p.limit, members, everything, relevance, search?.matches, order.nullable)
    // Bounds on published_at that should not become the index range: all of them when the page is
    // ordered by something else, and the ones on the keyset's side once a cursor is given.
    const paging = p.after !== undefined
    const other = relevance || bySearch || driver !== undefined || byDate !== articles.publishedAt
    const hints = { upper: other || (paging && order.descending), lower: other || (paging && !order.descending), status: HINT_STATUS }
    // A ranked search's matches come from its candidates, as do those of a search driving the page;
    // otherwise the filters check them.
    const filtersFor = listFilters(p, members, fts !== undefined && !relevance && !bySearch ? { fts, matches: search!.matches } : undefined)
    const where = filtersFor(hints, driver)
    const from = sourceOf(db, driver, byIds)
    // Without the body: a sort (rare tag) then handles small rows. A ranked search, and a page driven by a
    // tag's ids, sort only ids (and ranks), and list() loads the page's rows afterwards.
    const { body: _body, bodyHtml: _bodyHtml, ...listed } = getTableColumns(articles)
    const selection = { ...listed, rank: sql<null>`NULL` }
    const { keyset, rest } = keysetRanges(p, order, relevance)
    const ranked = relevance ? rankedPages(db, p, fts!, search!.matches, from, where) : undefined
    const searchPage = () => {
      const c = allMatches(db, fts!)
      return from({ id: sql<number>`${articles.id}`, rank: sql<null>`NULL` }, c).where(and(eq(articles.id, c.id), where, keyset))
        .orderBy(orderBy(order)).limit(p.limit + 1)
    }
    const page = ranked !== undefined
      ? ranked.page
      : bySearch
        ? searchPage()
        : byIds
          ? from({ id: sql<number>`${articles.id}`, rank: sql<null>`NULL` }).where(and(where, keyset)).orderBy(orderBy(order)).limit(p.limit + 1)
          : from(selection).where(and(where, keyset)).orderBy(orderBy(order)).limit(p.limit + 1)
    /** The start of the second range, to fill a page that the first one left short. */
    const more = rest === undefined ? undefined : (n: number) => from(selection).where(and(where, rest)).orderBy(orderBy(order)).limit(n)
    const { total, countable } = countedTotal(db, p, fts === undefined ? undefined : { fts, matches: search!.matches }, from, filtersFor, smallest)
    const load = () => db.select({ ...listed }).from(articles)
    return {
      page,
      allRanked: ranked?.allRanked,
      secondTry: ranked?.secondTry ?? false,
      more,
      total,
      countable,
      plan: search?.plan,
      relevance,
      byIds: byIds || bySearch,
      load
    }
  }

  async function run (p: ArticleListParams): Promise<{ rows: ListedRow[], total?: number, snippets: Map<number, string> }> {
    const s = await statements(p)
    if (s === undefined) return { rows: [], total: p.withTotal ? 0 : undefined, snippets: new Map() }
    let rows = s.page.all() as unknown as ListedRow[]
    // Too few of the best candidates passed the filters: if there were more matches than candidates,
    // the page is not known to be complete, and is computed over every match.
    if (s.secondTry && rows.length <= p.limit) rows = s.allRanked!().all() as unknown as ListedRow[]
    if (s.relevance || s.byIds) {
      const found = new Map(s.load().where(inArray(articles.id, rows.map((r) => r.id))).all().map((r) => [r.id, r]))
      rows = rows.flatMap((r) => { const row = found.get(r.id); return row === undefined ? [] : [{ ...row, rank: r.rank }] })
    }
    if (s.more !== undefined && rows.length <= p.limit) rows.push(...s.more(p.limit + 1 - rows.length).all() as unknown as ListedRow[])
    let total: number | undefined
    if (p.withTotal) {
      total = await storedTotal(p)
      if (total === undefined) {
        if (!s.countable) throw tooManyToCount()
        try {
          total = (s.total!.get() as unknown as { n: number }).n
        } catch (err) {
          if (isInterrupted(err)) throw tooManyToCount()
          throw err
        }
        if (s.plan === undefined && total > TOTAL_LIMIT) throw tooManyToCount()
      }
    }
    const shown = rows.slice(0, p.limit).map((r) => r.id)
    const snippets = s.plan !== undefined && shown.length > 0
      ? snippetsOf(db, s.plan, shown, tagsOf(shown))
      : new Map<number, string>()
    return { rows, total, snippets }
  }

  return {
    async list (p: ArticleListParams): Promise<{ rows: ListedRow[], total?: number, snippets: Map<number, string> }> {
      try {
        return await run(p)
      } catch (err) {
        // A search stopped by the query budget: the search is what costs too much.
        if (p.search !== undefined && isInterrupted(err)) throw invalid('query', '/q', 'took too long to search; add a word, or use longer prefixes')
        throw err
      }
    },
    /** EXPLAIN QUERY PLAN of each statement `list` would run for these parameters (for tests and docs). */
    async explain (p: ArticleListParams): Promise<{ name: string, sql: string, plan: string[] }[]> {
      const s = await statements(p)
      if (s === undefined) return []
      const named = [
        ['page', s.page],
        ['page (second range)', s.more?.(p.limit + 1)],
        ['page over every match (when the best candidates fall short)', s.allRanked?.()],
        ['rows of the page', s.relevance || s.byIds ? s.load().where(inArray(articles.id, [1, 2])) : undefined],
        ['total', p.withTotal && await storedTotal(p) === undefined ? s.total : undefined]
      ] as const
      return named.filter(([, q]) => q !== undefined).map(([name, q]) => {
        const { sql: text, params } = q!.toSQL()
        const plan = db.$client.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as { detail: string }[]
        return { name, sql: text, plan: plan.map((r) => r.detail) }
      })
    }
  }
}
