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
// - A public page by publication date with a tag (and no search) is one range of the smallest tag's
//   published rows in article_tags_public_idx (tag_id, public_at, article_id), started at the cursor: its
//   cost is the page's, however many articles the tag has (migrations/0017 keeps public_at). Other lists
//   with a tag or an author drive from a rare one's article ids, sorted, or walk the date index and check
//   each article (./drivers.ts).
// - `include=total` reads the stored counts (src/articles/counts.ts) when the list is all articles, one tag,
//   one section or one author; any other combination is counted, up to TOTAL_LIMIT articles (422 beyond),
//   and refused up front when the count would have to go through more than TOTAL_LIMIT articles of a tag or
//   an author, or of a search's matches.
import { and, eq, fillPlaceholders, getTableColumns, sql, type Placeholder } from 'drizzle-orm'
import { alias } from 'drizzle-orm/sqlite-core'
import type { Static } from 'typebox'
import type { Db } from '../../db/connection.js'
import { isInterrupted } from '../../db/native.js'
import { articles, articleTags } from '../../db/schema.js'
import { after, orderBy, type KeysetOrder } from '../../db/keyset.js'
import { invalid } from '../../http/errors.js'
import type { CursorKey } from '../../db/keyset.js'
import { tagReader } from '../../tags/article-tags.js'
import { articleCounts } from '../counts.js'
import type { ArticleSort as ArticleSortSchema } from '../schemas.js'
import type { SearchTerm } from '../search.js'
import type { ArticleStatus } from '../status.js'
import { RANK_LIMIT, searchPlanner, snippetReader, SearchRefused, type SearchPlan } from '../search-index.js'
import { chooseDrivers, smallestOf, LISTED_MATCHES, sourceOf, VISIBILITY_INDEX, weighsEverything } from './drivers.js'
import { HINT_STATUS, hintedBound, listFilters, memberSql, membershipsOf, type MemberSql, type Membership } from './filters.js'
import { keysetRanges, listOrder, nullableSort } from './keyset.js'
import { allMatches, RANKED_CANDIDATES, rankedPages } from './ranked.js'
import { countable, countedTotal, countedWithinBudget, storedTotals, tooManyToCount, TOTAL_LIMIT } from './totals.js'
import { StatementCache } from '../../db/statement-cache.js'
import { slot } from '../../db/placeholder.js'
import { onDriver, type DriverStatement } from '../../db/driver-statement.js'
import { SUMMARIES_SQL, type ListedSummary, type StoredRepresentations } from '../stored.js'
import { withSettledTags } from '../../tags/tag-refs.js'

export { LISTED_MATCHES, RARE_MEMBERSHIP } from './drivers.js'
export { RANKED_CANDIDATES } from './ranked.js'
export { TOTAL_LIMIT } from './totals.js'

export type ArticleRow = typeof articles.$inferSelect
export type ArticleSort = Static<typeof ArticleSortSchema>
/** A listed article: every column but the body (lists show summaries), with its rank when searched by relevance. */
export type ListedRow = Omit<ArticleRow, 'body' | 'bodyHtml'> & { rank: number | null }
/** What a page's cursor is made of, which every engine's listed article has. */
export type ListedKeys = Pick<ListedRow, 'id' | 'rank' | 'publishedAt' | 'updatedAt'>
/**
 * A listed article on SQLite: its stored summary, or (`missing`) its row to assemble one from, read in the
 * same snapshot as the page; with its rank.
 */
export type ListedSummaryRow = (Exclude<ListedSummary, { missing: true }> | (Extract<ListedSummary, { missing: true }> & { row: ListedRow })) & { rank: number | null }

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

/**
 * What the text of a list's statements depends on, on either engine, before what each engine adds: which
 * filters are present, the sort, what drives the page and the cursor's kind. Every value is a placeholder
 * bound per request.
 */
export interface ListShape {
  public: boolean
  status: boolean
  section: boolean
  publishedAfter: boolean
  publishedBefore: boolean
  /** The tag and author filters, in order (placeholders member0, member1…). */
  members: Membership['kind'][]
  /** Index in `members` of the one whose ids (SQLite) or tag rows (PostgreSQL) drive the page; -1: none. */
  driver: number
  sort: ArticleSort
  nullable: boolean
  cursor: 'none' | 'null' | 'value'
}

/**
 * What the text of a list's statements depends on on SQLite, and nothing else: the key of its prepared
 * statements. Every value (the time, the status, the section, the dates, the tag ids and author, the
 * search, the cursor, the limit) is a placeholder bound per request by `valuesOf`.
 */
interface Shape extends ListShape {
  /** Index in `members` of the smallest (which drives a count); -1: none. */
  smallest: number
  byIds: boolean
  bySearch: boolean
  relevance: boolean
  /** A search's matches checked by the filters as a list (`listed`) or per row (`checked`); or by candidates, or no search. */
  search: 'none' | 'candidates' | 'listed' | 'checked'
  /** Index in `members` of the tag whose rows in article_tags_public_idx drive a public page by date; -1: none. */
  publicTag: number
}

/** Most list shapes whose statements are kept prepared (a shape is a combination of a request's options). */
export const LIST_SHAPES = 64

/** A request's ListShape, with its members (tags and author, in order), the index of the one driving the page (-1: none) and whether its sort column may be NULL. */
export const listShape = (p: ArticleListParams, members: readonly Pick<Membership, 'kind'>[], driver: number, nullable: boolean): ListShape => ({
  public: p.visibility !== null,
  status: p.visibility === null && p.status !== undefined,
  section: p.section !== undefined,
  publishedAfter: p.publishedAfter !== undefined,
  publishedBefore: p.publishedBefore !== undefined,
  members: members.map((m) => m.kind),
  driver,
  sort: p.sort,
  nullable,
  // Whether there is a cursor, and whether its date is NULL: the keyset's SQL differs.
  cursor: p.after === undefined ? 'none' : (p.after[0] ?? null) === null ? 'null' : 'value'
})

/**
 * A request's parameters with a placeholder for each value a shape has (either engine's shape): what
 * the statement builders take to build a shape's text once. Tags and the author are the builders'
 * members, not parameters; a search's query is its own placeholder.
 */
export const slottedParams = (shape: ListShape): ArticleListParams => ({
  limit: 0,
  after: shape.cursor === 'none' ? undefined : [shape.cursor === 'null' ? null : slot('after0'), slot('after1')],
  visibility: shape.public ? { visibleAt: slot('visibleAt') } : null,
  status: shape.status ? slot('status') : undefined,
  tags: [],
  section: shape.section ? slot('section') : undefined,
  author: undefined,
  publishedAfter: shape.publishedAfter ? slot('publishedAfter') : undefined,
  publishedBefore: shape.publishedBefore ? slot('publishedBefore') : undefined,
  search: undefined,
  sort: shape.sort,
  withTotal: false
})

/**
 * What a list's failure means to the client, on either engine: a search stopped by the query budget is a
 * 422 on q (the search is what costs too much); anything else is passed on.
 */
export const listFailure = (p: ArticleListParams, err: unknown): unknown =>
  p.search !== undefined && isInterrupted(err) ? invalid('query', '/q', 'took too long to search; add a word, or use longer prefixes') : err

/** A page statement's row: an article on the page, and its rank for a ranked search. */
interface Found { id: number, rank: number | null }
/**
 * A page statement's selection: ids only (and ranks, NULL but in a ranked search). Every shape's page
 * statement then reads indexes alone, and the page's articles are read afterwards from their stored
 * summaries (./stored.ts), never from their rows, whose listed columns lie behind the body in overflow pages.
 */
const KEYS = { id: sql<number>`${articles.id}`, rank: sql<number | null>`NULL` }

/** A tag's rows as they drive a public page by date (publicTagPage), under the name the page's SQL gives them. */
const byTag = alias(articleTags, 'd')
const PUBLIC_TAG_INDEX = 'article_tags_public_idx'
/** KEYS of a page driven by a tag's rows: the article id is theirs. */
const TAG_KEYS = { id: sql<number>`${byTag.articleId}`, rank: sql<number | null>`NULL` }

/**
 * The tag whose published rows drive a public page by date, among the request's members (the smallest), when
 * the page is public, sorted by publication date and not a search; undefined otherwise.
 */
export function publicTagDriver<M extends Pick<Membership, 'kind' | 'size'>> (p: ArticleListParams, members: readonly M[]): M | undefined {
  if (p.visibility === null || p.search !== undefined || p.sort === '-updatedAt') return undefined
  return members.filter((m) => m.kind === 'tag').sort((a, b) => a.size - b.size)[0]
}

export function articleListing (db: Db, stored: StoredRepresentations) {
  const counts = articleCounts(db)
  const planner = searchPlanner(db)
  const memberships = membershipsOf(db, counts)
  const storedTotal = storedTotals(db, counts)
  const tagsOf = tagReader(db)
  const snippetsOf = snippetReader(db)
  const { body: _body, bodyHtml: _bodyHtml, ...listed } = getTableColumns(articles)
  // The rows of a page's articles that have no stored summary yet, to assemble theirs afresh.
  const rowsById = db.select({ ...listed }).from(articles)
    .where(sql`${articles.id} IN (SELECT value FROM json_each(${sql.placeholder('ids')}))`)
  const loadRows = rowsById.prepare()
  // Every statement of a page and the read of its summaries see one snapshot: an article unpublished
  // between them is not shown with its new, non-public summary.
  const snapshot = db.$client.transaction((read: () => ListedSummaryRow[]): ListedSummaryRow[] => read())
  const shapes = new StatementCache<ReturnType<typeof build>>(LIST_SHAPES)

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
   * What a request's page needs, before any statement: its shape, the values to bind, and the decisions
   * that are not SQL (whether a ranked page may need a second try, whether a count may run). Undefined when
   * nothing can match (an unknown tag). The choices: ./drivers.ts (what drives the page), ./keyset.ts
   * (order and cursor), ./ranked.ts (a search's candidates), ./totals.ts.
   */
  async function decide (p: ArticleListParams) {
    const members = await memberships(p)
    if (members === undefined) return undefined
    const relevance = p.sort === 'relevance' && p.search !== undefined
    const search = p.search === undefined ? undefined : priced(p.search)
    if (relevance && search!.matches > RANK_LIMIT) {
      throw invalid('query', '/q', `matches more than ${RANK_LIMIT.toLocaleString('en')} articles, too many to rank by relevance; add a word, or sort by date (sort=-publishedAt)`)
    }
    const nullable = nullableSort(p)
    // A public page by date with a tag and no search: the smallest tag's published rows, in date order in
    // article_tags_public_idx (migrations/0017), drive it as one range, whatever the tag's size; unless an
    // author has fewer articles, whose ids then drive it (chooseDrivers), as a walk of the tag's range would
    // check the author on each of the tag's rows.
    const tagRange = publicTagDriver(p, members)
    const publicTag = tagRange !== undefined && members.every((m) => m.kind === 'tag' || m.size >= tagRange.size) ? tagRange : undefined
    // Read only when chooseDrivers weighs it (a statement and a read transaction of its own, every request):
    // not for a public tag's page, which its tag's range drives whatever the number.
    const everything = publicTag === undefined && weighsEverything(members, relevance, search?.matches) ? Math.max(1, (await counts.stored('all', '')).total) : undefined
    const { smallest, bySearch, byIds, driver } = publicTag === undefined
      ? chooseDrivers(p.limit, members, everything, relevance, search?.matches, nullable)
      : { smallest: smallestOf(members), bySearch: false, byIds: false, driver: undefined }
    const shape: Shape = {
      ...listShape(p, members, driver === undefined ? -1 : members.indexOf(driver), nullable),
      smallest: smallest === undefined ? -1 : members.indexOf(smallest),
      byIds,
      bySearch,
      relevance,
      search: search === undefined ? 'none' : relevance || bySearch ? 'candidates' : search.matches <= LISTED_MATCHES ? 'listed' : 'checked',
      publicTag: publicTag === undefined ? -1 : members.indexOf(publicTag)
    }
    const values: Record<string, unknown> = {
      visibleAt: p.visibility?.visibleAt,
      status: p.status,
      section: p.section,
      publishedAfter: p.publishedAfter,
      publishedBefore: p.publishedBefore,
      fts: search?.plan.fts,
      limit: p.limit + 1,
      candidates: RANKED_CANDIDATES(p.limit),
      // A ranked page's cursor holds a rank and an id, a dated page's a date (or null) and an id.
      after0: p.after === undefined ? undefined : relevance ? Number(p.after[0]) : p.after[0] ?? null,
      after1: p.after === undefined ? undefined : relevance ? Number(p.after[1]) : p.after[1] ?? null
    }
    members.forEach((m, i) => { values[`member${i}`] = m.key })
    const filtered = p.tags.length > 0 || p.section !== undefined || p.author !== undefined ||
      p.publishedAfter !== undefined || p.publishedBefore !== undefined || (p.visibility === null && p.status !== undefined)
    return {
      shape,
      values,
      plan: search?.plan,
      matches: search?.matches,
      // Too few of the best candidates may pass the filters: if there were more matches than candidates, a
      // short page is computed again over every match.
      secondTry: relevance && !filtered && search!.matches > RANKED_CANDIDATES(p.limit),
      countable: countable(search?.matches, smallest)
    }
  }

  /**
   * The statements of a shape, unexecuted and unprepared: `page` (limit + 1 rows), `more` (the start of
   * the second range, to fill a page that the first one left short), `allRanked` (a ranked page over
   * every match) and `total` (the count when no stored count answers). Built from `shape` alone: the
   * values are placeholders, so one build serves every request of the shape.
   */
  function build (shape: Shape) {
    const p = slottedParams(shape)
    const fts = sql.placeholder('fts')
    const members = shape.members.map((kind, i) => memberSql(kind, i))
    const driver = members[shape.driver]
    const { byDate, order } = listOrder(shape.sort, shape.nullable)
    // Bounds on published_at that should not become the index range: all of them when the page is
    // ordered by something else, and the ones on the keyset's side once a cursor is given.
    const paging = shape.cursor !== 'none'
    const other = shape.relevance || shape.bySearch || driver !== undefined || byDate !== articles.publishedAt
    const hints = { upper: other || (paging && order.descending), lower: other || (paging && !order.descending), status: HINT_STATUS }
    // A ranked search's matches come from its candidates, as do those of a search driving the page;
    // otherwise the filters check them.
    const filtersFor = listFilters(p, members, shape.search === 'listed' || shape.search === 'checked' ? { fts, listed: shape.search === 'listed' } : undefined)
    const where = filtersFor(hints, driver)
    const from = sourceOf(db, driver, shape.byIds)
    const { keyset, rest } = keysetRanges(p, order, shape.relevance)
    const filtered = shape.members.length > 0 || shape.section || shape.publishedAfter || shape.publishedBefore || shape.status
    const ranked = shape.relevance ? rankedPages(db, p, fts, from, where, filtered) : undefined
    const limit = sql.placeholder('limit')
    const searchPage = () => {
      const c = allMatches(db, fts)
      return from(KEYS, c).where(and(eq(articles.id, c.id), where, keyset))
        .orderBy(orderBy(order)).limit(limit)
    }
    const page = shape.publicTag >= 0
      ? publicTagPage(shape, p, members, limit)
      : ranked !== undefined
        ? ranked.page
        : shape.bySearch
          ? searchPage()
          : from(KEYS).where(and(where, keyset)).orderBy(orderBy(order)).limit(limit)
    const more = rest === undefined ? undefined : () => from(KEYS).where(and(where, rest)).orderBy(orderBy(order)).limit(sql.placeholder('more'))
    const total = () => countedTotal(db, shape.search === 'none' ? undefined : fts, from, filtersFor, members[shape.smallest])
    // Prepared when first run: most shapes never need more than their page.
    const once = <T>(make: () => T): () => T => { let made: T | undefined; return () => (made ??= make()) }
    return {
      queries: { page, more, allRanked: ranked?.allRanked, total },
      page: keysOnly(page),
      more: more === undefined ? undefined : once(() => keysOnly(more())),
      allRanked: ranked?.allRanked === undefined ? undefined : once(() => keysOnly(ranked.allRanked!())),
      total: once(() => total().prepare())
    }
  }

  /**
   * A public page of the tag `shape.publicTag` by publication date: one range of its rows in
   * article_tags_public_idx (tag_id, public_at, article_id), public_at being the article's published_at
   * while it is published (the triggers of migrations/0017), bounded by the time, the dates asked for and
   * the cursor; the other tags and the author are checked on each row's article id, and a section through
   * the narrow index, joined only then. The page's cost is its rows', however many articles the tag has.
   */
  function publicTagPage (shape: Shape, p: ArticleListParams, members: MemberSql[], limit: Placeholder) {
    const order: KeysetOrder = { column: byTag.publicAt, tie: byTag.articleId, descending: shape.sort !== 'publishedAt', nullable: false }
    // With a cursor, the keyset is the range's start: the bounds on the side it starts from take the `+`
    // hint, so that SQLite does not start the range at one of them and walk to the cursor.
    const upper = p.after !== undefined && order.descending
    const lower = p.after !== undefined && !order.descending
    const where = and(
      eq(byTag.tagId, sql.placeholder(`member${shape.publicTag}`)),
      hintedBound(byTag.publicAt, '<=', p.visibility!.visibleAt, upper),
      p.publishedAfter === undefined ? undefined : hintedBound(byTag.publicAt, '>=', p.publishedAfter, lower),
      p.publishedBefore === undefined ? undefined : hintedBound(byTag.publicAt, '<=', p.publishedBefore, upper),
      ...members.flatMap((m, i) => i === shape.publicTag ? [] : [m.sql(byTag.articleId)]),
      p.section === undefined ? undefined : and(eq(articles.id, byTag.articleId), eq(articles.section, p.section)),
      p.after === undefined ? undefined : after(order, p.after[0] ?? null, p.after[1] ?? null))
    const source = db.select(TAG_KEYS).from(sql`${articleTags} AS ${sql.identifier('d')} INDEXED BY ${sql.identifier(PUBLIC_TAG_INDEX)}`).$dynamic()
    return (p.section === undefined ? source : source.crossJoin(sql`${articles} INDEXED BY ${sql.identifier(VISIBILITY_INDEX)}`))
      .where(where).orderBy(orderBy(order)).limit(limit)
  }

  const keyOf = (shape: Shape): string => JSON.stringify(shape)

  /**
   * A page statement (it selects an id and a rank, in that order) prepared on the driver itself: Drizzle's
   * prepared statement maps every row through its field decoders, which cost a list about as much as
   * running the statement (bench/README.md, "Page statements on the driver").
   */
  const keysOnly = (q: Parameters<typeof onDriver>[1]): DriverStatement<Found> => onDriver<Found>(db, q, KEYS)

  async function run (p: ArticleListParams): Promise<{ rows: ListedSummaryRow[], total?: number, snippets: Map<number, string> }> {
    const d = await decide(p)
    if (d === undefined) return { rows: [], total: p.withTotal ? 0 : undefined, snippets: new Map() }
    const s = shapes.get(keyOf(d.shape), () => build(d.shape))
    // Made again if naming the page's tags finds them moved (../../tags/tag-refs.ts). Inside one snapshot
    // they cannot move, so this is a guard: such a read would be made again, not answered with a 500.
    const rows = withSettledTags(() => snapshot(() => {
      let found = s.page.all(d.values)
      // Too few of the best candidates passed the filters: if there were more matches than candidates,
      // the page is not known to be complete, and is computed over every match.
      if (d.secondTry && found.length <= p.limit) found = s.allRanked!().all(d.values)
      if (s.more !== undefined && found.length <= p.limit) found.push(...s.more().all({ ...d.values, more: p.limit + 1 - found.length }))
      const ranks = new Map(found.map((r) => [r.id, r.rank]))
      const summaries = stored.summaries(found.map((r) => r.id))
      // Articles without a stored summary yet (a database from before them, a bulk load): their rows, to be
      // assembled afresh, from the same snapshot.
      const missing = summaries.filter((row) => 'missing' in row).map((row) => row.id)
      const rowsOf = missing.length === 0 ? new Map<number, ListedRow>() : new Map(loadRows.all({ ids: JSON.stringify(missing) }).map((row) => [row.id, { ...row, rank: null }]))
      return summaries.flatMap((row): ListedSummaryRow[] => {
        const rank = ranks.get(row.id) ?? null
        if (!('missing' in row)) return [{ ...row, rank }]
        const listed = rowsOf.get(row.id)
        return listed === undefined ? [] : [{ ...row, row: listed, rank }]
      })
    }))
    let total: number | undefined
    if (p.withTotal) {
      total = await storedTotal(p)
      if (total === undefined) {
        if (!d.countable) throw tooManyToCount()
        total = await countedWithinBudget(() => (s.total().get(d.values) as unknown as { n: number }).n)
        if (d.plan === undefined && total > TOTAL_LIMIT) throw tooManyToCount()
      }
    }
    const shown = rows.slice(0, p.limit).map((r) => r.id)
    const snippets = d.plan !== undefined && shown.length > 0
      ? snippetsOf(d.plan, d.matches!, shown, tagsOf)
      : new Map<number, string>()
    return { rows, total, snippets }
  }

  return {
    async list (p: ArticleListParams): Promise<{ rows: ListedSummaryRow[], total?: number, snippets: Map<number, string> }> {
      try {
        return await run(p)
      } catch (err) {
        throw listFailure(p, err)
      }
    },
    /** EXPLAIN QUERY PLAN of each statement `list` would run for these parameters (for tests and docs). */
    async explain (p: ArticleListParams): Promise<{ name: string, sql: string, plan: string[] }[]> {
      const d = await decide(p)
      if (d === undefined) return []
      const q = build(d.shape).queries
      const named = [
        ['page', q.page, d.values],
        ['page (second range)', q.more?.(), { ...d.values, more: p.limit + 1 }],
        ['page over every match (when the best candidates fall short)', q.allRanked?.(), d.values],
        ['the page\'s stored summaries', { toSQL: () => ({ sql: SUMMARIES_SQL, params: ['[1,2]'] }) }, {}],
        ['total', p.withTotal && await storedTotal(p) === undefined ? q.total() : undefined, d.values]
      ] as const
      return named.filter(([, q]) => q !== undefined).map(([name, q, values]) => {
        const { sql: text, params } = q!.toSQL()
        const plan = db.$client.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...fillPlaceholders(params, values)) as { detail: string }[]
        return { name, sql: text, plan: plan.map((r) => r.detail) }
      })
    },
    /** The prepared shapes: how many are held (at most LIST_SHAPES) and built (for tests). */
    get statementStats () { return shapes.stats }
  }
}
