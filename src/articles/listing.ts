// The article list's SQL: filters, sorts, keyset pages and full-text search, written so that every
// page is an index range however deep it is (bench/query-plans.md shows each plan; a test guards them).
//
// Two planner hints matter:
// - A unary `+` on a bound of the sort column (`+published_at <= now`) keeps SQLite from using that bound
//   as the index range when the keyset condition is the better one (or when the order needs another index);
//   the bound is still applied, row by row.
// - CROSS JOIN fixes the join order: the full-text index, or a rare tag's or author's article ids, drive
//   the query, instead of a walk of every article in date order that tests each one.
//
// A search by relevance ranks the matches first (the full-text index alone, no article rows) and only
// then checks the best of them against the filters, through articles_visibility_idx (id, status,
// published_at, section): in the articles row those columns come after the body, in overflow pages, and
// checking every match there was most of a search's time at a million articles (47 of 58 ms for 8,500
// matches). The first try checks the best RANKED_CANDIDATES(limit) matches; when too few of them pass the
// filters and more matches exist, the page is computed again over every match, so the answer is always
// exact (see `list`).
import { and, count, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { articleAuthors, articles, articleTags, tags } from '../db/schema.js'
import { after, orderBy, type KeysetOrder } from '../db/keyset.js'
import type { CursorKey } from '../http/pagination.js'
import type { SearchTerm } from './search.js'
import { articleSearch, ftsQuery, RANK, snippetsOf } from './search-index.js'

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
/** Covers the filters a ranked search applies to each match (migrations/0004_search_visibility.sql). */
const VISIBILITY_INDEX = 'articles_visibility_idx'

type Membership = { sql: SQL, size: number, drive: { table: typeof articleTags | typeof articleAuthors, where: SQL } }

export function articleListing (db: Db) {
  const tagSize = db.$client.prepare('SELECT count(*) FROM (SELECT 1 FROM article_tags WHERE tag_id = ? LIMIT ?)').pluck()
  const authorSize = db.$client.prepare('SELECT count(*) FROM (SELECT 1 FROM article_authors WHERE name = ? LIMIT ?)').pluck()
  const rankOfQuery = db.select({ rank: RANK }).from(articleSearch)
    // `+rowid`: FTS5 answers a rowid lookup with bm25 statistics that differ from the full query's, so the
    // article is found among the matches instead, where its rank is the one the page query computes.
    .where(and(sql`${articleSearch} MATCH ${sql.placeholder('fts')}`, sql`+${articleSearch.rowid} = ${sql.placeholder('id')}`))
  const rankOf = rankOfQuery.prepare()

  /** Tag and author filters with their sizes (capped at RARE_MEMBERSHIP); undefined when a tag does not exist. */
  function memberships (p: ArticleListParams): Membership[] | undefined {
    const out: Membership[] = []
    const found = p.tags.length === 0 ? [] : db.select({ id: tags.id }).from(tags).where(inArray(tags.slug, p.tags)).all()
    if (found.length < new Set(p.tags).size) return undefined
    for (const { id } of found) {
      out.push({
        sql: sql`EXISTS (SELECT 1 FROM ${articleTags} WHERE ${articleTags.articleId} = ${articles.id} AND ${articleTags.tagId} = ${id})`,
        size: tagSize.get(id, RARE_MEMBERSHIP) as number,
        drive: { table: articleTags, where: and(eq(articleTags.tagId, id), eq(articles.id, articleTags.articleId))! }
      })
    }
    if (p.author !== undefined) {
      out.push({
        sql: sql`EXISTS (SELECT 1 FROM ${articleAuthors} WHERE ${articleAuthors.articleId} = ${articles.id} AND ${articleAuthors.name} = ${p.author})`,
        size: authorSize.get(p.author, RARE_MEMBERSHIP) as number,
        drive: { table: articleAuthors, where: and(eq(articleAuthors.name, p.author), eq(articles.id, articleAuthors.articleId))! }
      })
    }
    return out
  }

  /**
   * The statements a page needs, unexecuted: `page` (limit + 1 rows) and, with `withTotal`, `total`.
   * `list` runs them; `explain` shows their plans. Undefined when nothing can match (an unknown tag).
   */
  function statements (p: ArticleListParams) {
    const members = memberships(p)
    if (members === undefined) return undefined
    const relevance = p.sort === 'relevance' && p.search !== undefined
    const fts = p.search === undefined ? undefined : ftsQuery(p.search)
    const rare = relevance ? undefined : members.filter((m) => m.size < RARE_MEMBERSHIP).sort((a, b) => a.size - b.size)[0]

    const byDate = p.sort === '-updatedAt' ? articles.updatedAt : articles.publishedAt
    const order: KeysetOrder = {
      column: byDate,
      tie: articles.id,
      descending: p.sort !== 'publishedAt',
      nullable: p.sort !== '-updatedAt' && p.visibility === null && p.status !== 'published'
    }
    // Bounds on published_at that should not become the index range: all of them when the page is
    // ordered by something else, and the ones on the keyset's side once a cursor is given. The count
    // (`include=total`) has no order and no cursor, so it takes no hints.
    const paging = p.after !== undefined
    const other = relevance || rare !== undefined || byDate !== articles.publishedAt
    const hints = { upper: other || (paging && order.descending), lower: other || (paging && !order.descending) }
    // A section's own index (section, published_at, id) beats the status index for its date order.
    const hintStatus = p.section !== undefined && byDate === articles.publishedAt
    const filtersFor = (h: { upper: boolean, lower: boolean, status: boolean }): SQL | undefined => {
      const bound = (op: '<=' | '>=', value: number, hint: boolean): SQL =>
        sql`${sql.raw(hint ? '+' : '')}${articles.publishedAt} ${sql.raw(op)} ${value}`
      const status = p.visibility !== null ? 'published' : p.status
      const filters: (SQL | undefined)[] = []
      if (status !== undefined) filters.push(sql`${sql.raw(h.status ? '+' : '')}${articles.status} = ${status}`)
      if (p.visibility !== null) filters.push(bound('<=', p.visibility.visibleAt, h.upper))
      if (p.section !== undefined) filters.push(eq(articles.section, p.section))
      if (p.publishedAfter !== undefined) filters.push(bound('>=', p.publishedAfter, h.lower))
      if (p.publishedBefore !== undefined) filters.push(bound('<=', p.publishedBefore, h.upper))
      for (const m of members) filters.push(m === rare ? m.drive.where : m.sql)
      // A ranked search's matches come from its candidates (`from`); other orders test each row's id.
      if (fts !== undefined && !relevance) {
        filters.push(sql`${articles.id} IN (SELECT ${articleSearch.rowid} FROM ${articleSearch} WHERE ${articleSearch} MATCH ${fts})`)
      }
      return and(...filters)
    }
    const where = filtersFor({ ...hints, status: hintStatus })

    // The matches of a ranked search, best first, after the cursor's rank; `limit` of them, or all.
    let rankedAfter: SQL | undefined
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
    const from = <S extends Record<string, unknown>>(selection: S, candidates?: Candidates) => {
      const base = db.select(selection as never)
      // (The join condition, articles.id = candidates.id, is in the caller's WHERE.)
      if (candidates !== undefined) return base.from(candidates).crossJoin(sql`${articles} INDEXED BY ${sql.identifier(VISIBILITY_INDEX)}`).$dynamic()
      if (rare !== undefined) return base.from(rare.drive.table).crossJoin(articles).$dynamic()
      return base.from(articles).$dynamic()
    }
    // Without the body: a sort (rare tag) then handles small rows. A ranked search sorts only ids and ranks
    // (it may rank every match), and list() loads the page's rows afterwards.
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
    } else if (p.after !== undefined && relevance) {
      // The cursor article's rank now, when it still matches: ranks shift as the corpus changes, and
      // comparing with the cursor's current rank keeps the walk in step. Else the rank the cursor carries.
      const id = Number(p.after[1])
      const rank = rankOf.get({ fts, id })?.rank ?? Number(p.after[0])
      rankedAfter = sql`(${RANK} > ${rank} OR (${RANK} = ${rank} AND ${articleSearch.rowid} < ${id}))`
    } else if (p.after !== undefined) {
      keyset = after(order, p.after[0] ?? null, p.after[1] ?? null)
    }
    /** A ranked page from the best `candidates` matches (all of them when undefined). */
    const rankedPage = (candidates: number | undefined) => {
      const c = ranked(candidates)
      return from({ id: c.id, rank: c.rank }, c).where(and(eq(articles.id, c.id), where))
        .orderBy(sql`${c.rank} ASC, ${c.id} DESC`).limit(p.limit + 1)
    }
    const candidates = relevance ? RANKED_CANDIDATES(p.limit) : undefined
    const page = relevance
      ? rankedPage(candidates)
      : from(selection).where(and(where, keyset)).orderBy(orderBy(order)).limit(p.limit + 1)
    /** Every match, for a ranked page that its best candidates left short while more matches exist. */
    const allRanked = relevance ? () => rankedPage(undefined) : undefined
    /** How many articles match at all (no ranks, cheap): when no more than the candidates, the first try saw every one. */
    const matchCount = relevance ? db.select({ n: count() }).from(matches()) : undefined
    /** The start of the second range, to fill a page that the first one left short. */
    const more = rest === undefined ? undefined : (n: number) => from(selection).where(and(where, rest)).orderBy(orderBy(order)).limit(n)
    const filters = filtersFor({ upper: other, lower: other, status: hintStatus })
    const countRanked = () => { const all = matches(); return from({ n: count() }, all).where(and(eq(articles.id, all.id), filters)) }
    const total = !p.withTotal ? undefined : relevance ? countRanked() : from({ n: count() }).where(filters)
    const load = () => db.select({ ...listed }).from(articles)
    return { page, allRanked, matchCount, candidates, more, total, fts, relevance, load }
  }

  return {
    async list (p: ArticleListParams): Promise<{ rows: ListedRow[], total?: number, snippets: Map<number, string> }> {
      const s = statements(p)
      if (s === undefined) return { rows: [], total: p.withTotal ? 0 : undefined, snippets: new Map() }
      let rows = s.page.all() as unknown as ListedRow[]
      // Too few of the best candidates passed the filters: if there were more matches than candidates,
      // the page is not known to be complete, and is computed over every match.
      if (s.allRanked !== undefined && rows.length <= p.limit && (s.matchCount!.get() as unknown as { n: number }).n > s.candidates!) {
        rows = s.allRanked().all() as unknown as ListedRow[]
      }
      if (s.relevance) {
        const found = new Map(s.load().where(inArray(articles.id, rows.map((r) => r.id))).all().map((r) => [r.id, r]))
        rows = rows.flatMap((r) => { const row = found.get(r.id); return row === undefined ? [] : [{ ...row, rank: r.rank }] })
      }
      if (s.more !== undefined && rows.length <= p.limit) rows.push(...s.more(p.limit + 1 - rows.length).all() as unknown as ListedRow[])
      const total = s.total === undefined ? undefined : (s.total.get() as unknown as { n: number }).n
      const shown = rows.slice(0, p.limit).map((r) => r.id)
      const snippets = s.fts !== undefined && shown.length > 0 ? snippetsOf(db, s.fts, shown) : new Map<number, string>()
      return { rows, total, snippets }
    },

    /** EXPLAIN QUERY PLAN of each statement `list` would run for these parameters (for tests and docs). */
    async explain (p: ArticleListParams): Promise<{ name: string, sql: string, plan: string[] }[]> {
      const s = statements(p)
      if (s === undefined) return []
      const named = [
        ['page', s.page],
        ['page (second range)', s.more?.(p.limit + 1)],
        ['page over every match (when the best candidates fall short)', s.allRanked?.()],
        ['rows of the ranked page', s.relevance ? s.load().where(inArray(articles.id, [1, 2])) : undefined],
        ['total', s.total]
      ] as const
      const explained = (name: string, text: string, params: unknown[]) => {
        const plan = db.$client.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as { detail: string }[]
        return { name, sql: text, plan: plan.map((r) => r.detail) }
      }
      const out = named.filter(([, q]) => q !== undefined).map(([name, q]) => {
        const { sql: text, params } = q!.toSQL()
        return explained(name, text, params)
      })
      if (s.relevance && p.after !== undefined) out.splice(1, 0, explained('rank of the cursor article', rankOfQuery.toSQL().sql, [s.fts, p.after[1]]))
      return out
    }
  }
}
