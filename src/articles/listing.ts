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
import { and, count, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import type { Db } from '../db/connection.js'
import { isInterrupted } from '../db/native.js'
import { articleAuthors, articles, articleTags } from '../db/schema.js'
import { after, orderBy, type KeysetOrder } from '../db/keyset.js'
import { invalid } from '../http/errors.js'
import type { CursorKey } from '../http/pagination.js'
import { tagReader } from '../tags/store.js'
import { articleCounts, type CountKind } from './counts.js'
import type { SearchTerm } from './search.js'
import { articleSearch, RANK, RANK_LIMIT, searchPlanner, snippetsOf, SearchRefused, type SearchPlan } from './search-index.js'

export type ArticleRow = typeof articles.$inferSelect
export type ArticleSort = '-publishedAt' | 'publishedAt' | '-updatedAt' | 'relevance'
/** A listed article: every column but the body (lists show summaries), with its rank when searched by relevance. */
export type ListedRow = Omit<ArticleRow, 'body' | 'bodyHtml'> & { rank: number | null }

export interface ArticleListParams {
  limit: number
  after: CursorKey | undefined
  /** `visibleAt` for the public (published and due), null for editors. */
  visibility: { visibleAt: number } | null
  status: ArticleRow['status'] | undefined
  tags: string[]
  section: string | undefined
  author: string | undefined
  publishedAfter: number | undefined
  publishedBefore: number | undefined
  search: SearchTerm[] | undefined
  sort: ArticleSort
  withTotal: boolean
}

/** A tag or author with fewer articles than this drives the query from its own article ids. */
export const RARE_MEMBERSHIP = 1000
/**
 * How many of the best-ranked matches a relevance page checks against the filters at first: enough that a
 * public page (about 95% of articles are visible) almost never needs the second, exhaustive try.
 */
export const RANKED_CANDIDATES = (limit: number): number => Math.max(100, 4 * (limit + 1))
/** Most articles `include=total` counts when no stored count answers it (at most about 30 ms of seeks). */
export const TOTAL_LIMIT = 20_000
/**
 * A search sorted by date with at most this many matches hands them as a list to the walk along the date
 * index, or drives the page from them when they are very few; more are checked per row along the date index.
 * (`matches` is known up to RANK_LIMIT.)
 */
export const LISTED_MATCHES = RANK_LIMIT
/**
 * What driving a page from one match costs (a seek in the narrow index, then a place in the sort) in steps
 * of a walk along the date index that checks each article against the list of matches: 2.6 µs against about
 * 0.1 µs at a million articles.
 */
const DRIVE_TO_WALK = 25
/** A tag or author larger than this cannot drive a count of its intersection with other filters. */
const COUNT_DRIVER_LIMIT = TOTAL_LIMIT
/** Covers the filters a ranked search applies to each match (migrations/0004_search_visibility.sql). */
const VISIBILITY_INDEX = 'articles_visibility_idx'

// A tag or author filter checks each article in the (tag, article) or (author, article) index, not in the
// primary key (article, tag): the articles of one tag lie together there, so the pages a page's checks touch
// stay in SQLite's cache (at a million articles, 9,481 checks against a tag on 212,188 articles: 56 ms
// through the primary key, 3.5 ms through the tag's index). `sql(id)` checks the article whose id is `id`:
// when a tag or author drives the page, the others check its rows' article ids, so SQLite checks them
// before it seeks each article (the 212,188-article tag then keeps 1,644 of the 9,481 ids of the other).
type Membership = { sql: (id: SQL | SQLiteColumn) => SQL, size: number, drive: { table: typeof articleTags | typeof articleAuthors, id: SQLiteColumn, where: SQL } }

/** 422 for `include=total` when no stored count answers and more than TOTAL_LIMIT articles match. */
const tooManyToCount = () => invalid('query', '/include',
  `counts at most ${TOTAL_LIMIT.toLocaleString('en')} articles for this combination of filters (any number for all articles, one tag, one section or one author); narrow the filters, or leave out include=total`)

export function articleListing (db: Db) {
  const counts = articleCounts(db)
  const planner = searchPlanner(db)
  const tagsBySlug = db.$client.prepare<[string], { id: number, n: number }>('SELECT id, article_count AS n FROM tags WHERE slug = ? AND deleted_at IS NULL')
  const tagCounts = db.$client.prepare<[string], { id: number, total: number, published: number, visible: number }>(
    'SELECT id, article_count AS total, published_count AS published, visible_count AS visible FROM tags WHERE slug = ? AND deleted_at IS NULL')
  const tagsOf = tagReader(db)

  /** Tag and author filters with their sizes (every article, drafts included); undefined when a tag does not exist. */
  async function memberships (p: ArticleListParams): Promise<Membership[] | undefined> {
    const out: Membership[] = []
    for (const slug of new Set(p.tags)) {
      const tag = tagsBySlug.get(slug)
      if (tag === undefined) return undefined
      out.push({
        sql: (id) => sql`EXISTS (SELECT 1 FROM article_tags AS m INDEXED BY article_tags_tag_idx WHERE m.tag_id = ${tag.id} AND m.article_id = ${id})`,
        size: tag.n,
        drive: { table: articleTags, id: articleTags.articleId, where: and(eq(articleTags.tagId, tag.id), eq(articles.id, articleTags.articleId))! }
      })
    }
    if (p.author !== undefined) {
      out.push({
        sql: (id) => sql`EXISTS (SELECT 1 FROM article_authors AS m INDEXED BY article_authors_name_idx WHERE m.name = ${p.author} AND m.article_id = ${id})`,
        size: (await counts.stored('author', p.author)).total,
        drive: { table: articleAuthors, id: articleAuthors.articleId, where: and(eq(articleAuthors.name, p.author), eq(articles.id, articleAuthors.articleId))! }
      })
    }
    return out
  }

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

  /** `include=total` from the stored counts, when the list is one they hold. */
  async function storedTotal (p: ArticleListParams): Promise<number | undefined> {
    const dims = p.tags.length + (p.section === undefined ? 0 : 1) + (p.author === undefined ? 0 : 1)
    if (p.search !== undefined || p.publishedAfter !== undefined || p.publishedBefore !== undefined || dims > 1 || p.tags.length > 1) return undefined
    const column = p.visibility !== null ? 'visible' : p.status === undefined ? 'total' : p.status === 'published' ? 'published' : undefined
    if (column === undefined) return undefined
    const [kind, key]: [CountKind | 'tag', string] = p.tags.length === 1
      ? ['tag', p.tags[0]!]
      : p.section !== undefined ? ['section', p.section] : p.author !== undefined ? ['author', p.author] : ['all', '']
    const deltas = column === 'visible' ? await counts.deltas(p.visibility!.visibleAt) : undefined
    if (kind === 'tag') {
      const row = tagCounts.get(key)
      return row === undefined ? 0 : row[column] + (deltas?.tags.get(row.id) ?? 0)
    }
    const stored = await counts.stored(kind, key)
    return stored[column] + (deltas === undefined ? 0 : counts.keyDelta(deltas, kind, key))
  }

  /**
   * The statements a page needs, unexecuted: `page` (limit + 1 rows) and, with `withTotal` when no stored
   * count answers, `total`. `list` runs them; `explain` shows their plans. Undefined when nothing can match
   * (an unknown tag).
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
    const byDate = p.sort === '-updatedAt' ? articles.updatedAt : articles.publishedAt
    const order: KeysetOrder = {
      column: byDate,
      tie: articles.id,
      descending: p.sort !== 'publishedAt',
      nullable: p.sort !== '-updatedAt' && p.visibility === null && p.status !== 'published'
    }
    // The tag or author with the fewest articles drives the page from its own article ids instead of a walk
    // along the date index, when that walk would be longer: to find limit + 1 articles it passes about
    // (limit + 1) × articles ÷ matches of them, the matches estimated as if tags and authors were independent
    // (one tag on 9,000 of a million articles: 2,300 steps; two such tags together: 230,000). Driven, the ids
    // are sorted by date through the narrow index (id, status, published_at, section, updated_at), and only
    // the page's rows are read. Editors' lists by publication date (drafts have none) drive only from a rare
    // one, sorting whole rows.
    const smallest = members.slice().sort((a, b) => a.size - b.size)[0]
    const everything = Math.max(1, (await counts.stored('all', '')).total)
    const estimate = members.reduce((n, m) => n * m.size / everything, everything)
    const walk = (p.limit + 1) * everything / Math.max(estimate, 1)
    // A search sorted by date drives the page from its matches when that costs less than the walk along the
    // date index to the page's limit + 1 of them (m matches: m drives against (limit + 1) × articles ÷ m
    // steps), unless a tag or author has fewer articles. A word in no article costs nothing then, instead of
    // a whole walk.
    const bySearch = !relevance && search !== undefined && !order.nullable && search.matches <= LISTED_MATCHES &&
      search.matches * search.matches * DRIVE_TO_WALK < (p.limit + 1) * everything &&
      (smallest === undefined || search.matches <= smallest.size)
    const byIds = !relevance && !bySearch && smallest !== undefined && !order.nullable && walk > smallest.size
    const rare = !relevance && !bySearch && !byIds && smallest !== undefined && smallest.size < RARE_MEMBERSHIP ? smallest : undefined
    const driver = byIds ? smallest : rare
    // Bounds on published_at that should not become the index range: all of them when the page is
    // ordered by something else, and the ones on the keyset's side once a cursor is given. The count
    // (`include=total`) has no order and no cursor, so it takes no hints.
    const paging = p.after !== undefined
    const other = relevance || bySearch || driver !== undefined || byDate !== articles.publishedAt
    const hints = { upper: other || (paging && order.descending), lower: other || (paging && !order.descending) }
    // A section's pages and counts are served by its own indexes ((section, status, published_at, id) when
    // the status is given, (section, published_at, id) for editors' every status), which SQLite prefers.
    const hintStatus = false
    const filtersFor = (h: { upper: boolean, lower: boolean, status: boolean }, drives: Membership | undefined): SQL | undefined => {
      const bound = (op: '<=' | '>=', value: number, hint: boolean): SQL =>
        sql`${sql.raw(hint ? '+' : '')}${articles.publishedAt} ${sql.raw(op)} ${value}`
      const status = p.visibility !== null ? 'published' : p.status
      const filters: (SQL | undefined)[] = []
      if (status !== undefined) filters.push(sql`${sql.raw(h.status ? '+' : '')}${articles.status} = ${status}`)
      if (p.visibility !== null) filters.push(bound('<=', p.visibility.visibleAt, h.upper))
      if (p.section !== undefined) filters.push(eq(articles.section, p.section))
      if (p.publishedAfter !== undefined) filters.push(bound('>=', p.publishedAfter, h.lower))
      if (p.publishedBefore !== undefined) filters.push(bound('<=', p.publishedBefore, h.upper))
      for (const m of members) filters.push(m === drives ? m.drive.where : m.sql(drives?.drive.id ?? articles.id))
      // A ranked search's matches come from its candidates (`from`), as do those of a search driving the
      // page. Otherwise, up to LISTED_MATCHES are a list each article is checked against; more are checked
      // per article in the full-text index.
      if (fts !== undefined && !relevance && !bySearch) {
        filters.push(search!.matches <= LISTED_MATCHES
          // (`+id`: a list to check along the walk, never one to drive row by row from, sorting afterwards.)
          ? sql`+${articles.id} IN (SELECT ${articleSearch.rowid} FROM ${articleSearch} WHERE ${articleSearch} MATCH ${fts})`
          : sql`EXISTS (SELECT 1 FROM ${articleSearch} WHERE ${articleSearch} MATCH ${fts} AND ${articleSearch.rowid} = ${articles.id})`)
      }
      return and(...filters)
    }
    const where = filtersFor({ ...hints, status: hintStatus }, driver)

    // The matches of a ranked search, best first, after the cursor's rank; `limit` of them, or all. The rank
    // depends on the article and the query alone (search-index.ts), so the cursor carries it as it was.
    const rankedAfter = relevance && p.after !== undefined
      ? sql`(${RANK} > ${Number(p.after[0])} OR (${RANK} = ${Number(p.after[0])} AND ${articleSearch.rowid} < ${Number(p.after[1])}))`
      : undefined
    const ranked = (limit: number | undefined) => {
      // Aliases unlike any column of articles: drizzle names a subquery's columns unqualified.
      const q = db.select({ id: sql<number>`${articleSearch.rowid}`.as('match_id'), rank: RANK.as('match_rank') }).from(articleSearch)
        .where(and(sql`${articleSearch} MATCH ${fts}`, rankedAfter)).orderBy(sql`match_rank ASC, match_id DESC`).$dynamic()
      return (limit === undefined ? q : q.limit(limit)).as('candidates')
    }
    // The total needs no ranks: every match's id.
    const matches = () => db.select({ id: sql<number>`${articleSearch.rowid}`.as('match_id') }).from(articleSearch)
      .where(sql`${articleSearch} MATCH ${fts}`).as('candidates')
    type Candidates = ReturnType<typeof ranked> | ReturnType<typeof matches>
    const narrow = sql`${articles} INDEXED BY ${sql.identifier(VISIBILITY_INDEX)}`
    const from = <S extends Record<string, unknown>>(selection: S, candidates?: Candidates, by: Membership | undefined = driver, ids = byIds) => {
      const base = db.select(selection as never)
      // (The join condition, articles.id = candidates.id, is in the caller's WHERE.)
      if (candidates !== undefined) return base.from(candidates).crossJoin(narrow).$dynamic()
      if (by !== undefined) return base.from(by.drive.table).crossJoin(ids ? narrow : articles).$dynamic()
      return base.from(articles).$dynamic()
    }
    // Without the body: a sort (rare tag) then handles small rows. A ranked search, and a page driven by a
    // tag's ids, sort only ids (and ranks), and list() loads the page's rows afterwards.
    const { body: _body, bodyHtml: _bodyHtml, ...listed } = getTableColumns(articles)
    const selection = { ...listed, rank: sql<null>`NULL` }

    let keyset: SQL | undefined
    // A nullable sort column (editors' lists include drafts without publishedAt) is paged as two index
    // ranges, the dated rows and the NULL block, instead of one OR that no index can serve in order.
    let rest: SQL | undefined
    if (!relevance && order.nullable) {
      const [first, second] = order.descending
        ? [sql`${byDate} IS NOT NULL`, sql`${byDate} IS NULL`]
        : [sql`${byDate} IS NULL`, sql`${byDate} IS NOT NULL`]
      const inNull = p.after !== undefined && p.after[0] === null
      const inFirst = p.after === undefined || inNull !== order.descending
      const strict = p.after === undefined
        ? undefined
        : inNull
          ? sql`${articles.id} ${sql.raw(order.descending ? '<' : '>')} ${p.after[1] ?? null}`
          : after({ ...order, nullable: false }, p.after[0] ?? null, p.after[1] ?? null)
      keyset = and(inFirst ? first : second, strict)
      rest = inFirst ? second : undefined
    } else if (p.after !== undefined && !relevance) {
      keyset = after(order, p.after[0] ?? null, p.after[1] ?? null)
    }
    /** A ranked page from the best `candidates` matches (all of them when undefined). */
    const rankedPage = (candidates: number | undefined) => {
      const c = ranked(candidates)
      return from({ id: c.id, rank: c.rank }, c).where(and(eq(articles.id, c.id), where))
        .orderBy(sql`${c.rank} ASC, ${c.id} DESC`).limit(p.limit + 1)
    }
    // Filters beyond visibility reject many of the best matches: go straight to ranking every match.
    const filtered = p.tags.length > 0 || p.section !== undefined || p.author !== undefined ||
      p.publishedAfter !== undefined || p.publishedBefore !== undefined || (p.visibility === null && p.status !== undefined)
    const candidates = relevance && !filtered ? RANKED_CANDIDATES(p.limit) : undefined
    const searchPage = () => {
      const c = matches()
      return from({ id: sql<number>`${articles.id}`, rank: sql<null>`NULL` }, c).where(and(eq(articles.id, c.id), where, keyset))
        .orderBy(orderBy(order)).limit(p.limit + 1)
    }
    const page = relevance
      ? rankedPage(candidates)
      : bySearch
        ? searchPage()
        : byIds
          ? from({ id: sql<number>`${articles.id}`, rank: sql<null>`NULL` }).where(and(where, keyset)).orderBy(orderBy(order)).limit(p.limit + 1)
          : from(selection).where(and(where, keyset)).orderBy(orderBy(order)).limit(p.limit + 1)
    /** Every match, for a ranked page that its best candidates left short while more matches exist. */
    const allRanked = relevance && candidates !== undefined ? () => rankedPage(undefined) : undefined
    /** Whether a short first try must be followed by the exhaustive one (more matches than candidates). */
    const secondTry = candidates !== undefined && search!.matches > candidates
    /** The start of the second range, to fill a page that the first one left short. */
    const more = rest === undefined ? undefined : (n: number) => from(selection).where(and(where, rest)).orderBy(orderBy(order)).limit(n)
    // The count, when no stored count answers. A search's: every visible match (at most TOTAL_LIMIT, else
    // refused). Otherwise driven by the smallest tag or author, or an index of articles, and capped at
    // TOTAL_LIMIT + 1 (refused beyond), so it stops early however many articles pass.
    const counted = (q: { as: (alias: string) => unknown }) => db.select({ n: count() }).from(q.as('counted') as never)
    const total = !p.withTotal
      ? undefined
      : fts !== undefined
        ? (() => { const all = matches(); return from({ n: count() }, all).where(and(eq(articles.id, all.id), filtersFor({ upper: true, lower: true, status: hintStatus }, undefined))) })()
        // Without a tag or author to drive it, the count walks the index range of the dates asked for.
        : counted(from({ one: sql`1` }, undefined, smallest, true)
          .where(filtersFor({ upper: smallest !== undefined, lower: smallest !== undefined, status: hintStatus }, smallest)).limit(TOTAL_LIMIT + 1))
    const load = () => db.select({ ...listed }).from(articles)
    const countable = fts !== undefined ? search!.matches <= TOTAL_LIMIT : smallest === undefined || smallest.size <= COUNT_DRIVER_LIMIT
    return { page, allRanked, secondTry, more, total, countable, plan: search?.plan, relevance, byIds: byIds || bySearch, load }
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
