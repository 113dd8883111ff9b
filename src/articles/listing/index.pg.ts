// The article list (./index.ts) on PostgreSQL: the same filters, sorts, keyset pages and totals, written for
// PostgreSQL's planner, which needs no hints: the WHERE states the filters, ORDER BY the sort with SQLite's
// NULL order (src/db/pg/keyset.ts), and a page is one range of the matching index. An editors' list by
// publication date (drafts have none) is paged as two ranges, the dated rows and the NULL block
// (./keyset.ts's keysetRanges, whose SQL is the same on both engines). Totals come from the stored counts
// when the list is all articles, one tag, one section or one author, else they are counted up to
// TOTAL_LIMIT, as on SQLite.
//
// A search (`q`) is priced first (src/articles/search-index.pg.ts) and refused as on SQLite: by relevance
// beyond RANK_LIMIT matches, `include=total` beyond TOTAL_LIMIT. By relevance, a page is ordered by
// ts_rank (higher first; the cursor carries the rank, which depends on the article and the query alone);
// sorted by date, the match is one more filter.
import { createHash } from 'node:crypto'
import { and, eq, getTableColumns, gte, isNull, lte, sql, type SQL } from 'drizzle-orm'
import { SNAPSHOT, type PgDb, type PgTx } from '../../db/pg/connection.js'
import { invalid } from '../../http/errors.js'
import { orderBy } from '../../db/pg/keyset.js'
import { alias } from 'drizzle-orm/pg-core'
import { articleTags, articles, tags } from '../../db/pg/schema.js'
import { articleCountsPg } from '../counts.pg.js'
import { RANK_LIMIT, SearchRefused, type SearchPlan } from '../search-index.js'
import { rankOf, searchPlannerPg, snippetsOfPg, tsquery } from '../search-index.pg.js'
import { tagsOfArticlesPg } from '../../tags/article-tags.pg.js'
import type { TagRef } from '../../tags/schemas.js'
import type { SearchTerm } from '../search.js'
import type { CountKind } from '../counts.js'
import { listFailure, type ArticleListParams, type ListedRow } from './index.js'
import { keysetRanges } from './keyset.js'
import { countedWithinBudget, tooManyToCount, TOTAL_LIMIT } from './totals.js'

const { body: _body, bodyHtml: _bodyHtml, search: _search, ...LISTED } = getTableColumns(articles)
const SELECTION = { ...LISTED, rank: sql<null>`NULL::real` }

/** A tag filter or the author filter, with its size (every article, drafts included); a tag's id. */
interface Membership { where: SQL, size: number, tagId?: number }

/** The tag rows that drive a public page of a tag (article_tags_public_idx: ./index.pg.ts, statements). */
const driving = alias(articleTags, 'd')

/** A page as the list statement found it: its rows (one more than asked, when there is a next page), the shown rows' tags and, for a search, snippets. */
interface ListedPage { rows: ListedRow[], total?: number, snippets: Map<number, string>, tags: Map<number, TagRef[]> }

export function articleListingPg (db: PgDb) {
  const counts = articleCountsPg(db)
  const planner = searchPlannerPg(db)

  /** The search's plan and how many articles it matches (exactly up to RANK_LIMIT, else a bound above it). */
  async function priced (terms: SearchTerm[]): Promise<{ plan: SearchPlan, matches: number }> {
    let plan: SearchPlan
    try {
      plan = await planner.plan(terms)
    } catch (err) {
      if (err instanceof SearchRefused) throw invalid('query', '/q', err.message)
      throw err
    }
    const matches = plan.estimate <= RANK_LIMIT ? plan.estimate : plan.least > RANK_LIMIT ? plan.least : await planner.matchesUpTo(plan, RANK_LIMIT)
    return { plan, matches }
  }

  /** Tag and author filters; undefined when a tag does not exist (nothing can match). */
  async function memberships (p: ArticleListParams): Promise<Membership[] | undefined> {
    const out: Membership[] = []
    for (const slug of new Set(p.tags)) {
      const [tag] = await db.select({ id: tags.id, n: tags.totalArticles }).from(tags).where(and(eq(tags.slug, slug), isNull(tags.deletedAt)))
      if (tag === undefined) return undefined
      out.push({ where: sql`EXISTS (SELECT 1 FROM article_tags m WHERE m.tag_id = ${tag.id} AND m.article_id = ${articles.id})`, size: tag.n, tagId: tag.id })
    }
    if (p.author !== undefined) {
      out.push({
        where: sql`EXISTS (SELECT 1 FROM article_authors m WHERE m.name = ${p.author} AND m.article_id = ${articles.id})`,
        size: (await counts.stored('author', p.author)).total
      })
    }
    return out
  }

  /** The order of a list (as ./keyset.ts's listOrder, over this engine's columns). */
  function listOrder (p: ArticleListParams) {
    return {
      column: p.sort === '-updatedAt' ? articles.updatedAt : articles.publishedAt,
      tie: articles.id,
      descending: p.sort !== 'publishedAt',
      nullable: p.sort !== '-updatedAt' && p.visibility === null && p.status !== 'published'
    }
  }

  /** `include=total` from the stored counts when the list is one they hold (as ./totals.ts's storedTotals). */
  async function storedTotal (p: ArticleListParams): Promise<number | undefined> {
    const dims = p.tags.length + (p.section === undefined ? 0 : 1) + (p.author === undefined ? 0 : 1)
    if (p.search !== undefined || p.publishedAfter !== undefined || p.publishedBefore !== undefined || dims > 1 || p.tags.length > 1) return undefined
    const column = p.visibility !== null ? 'visible' : p.status === undefined ? 'total' : p.status === 'published' ? 'published' : undefined
    if (column === undefined) return undefined
    const read = async (tx: PgDb | PgTx): Promise<number> => {
      const deltas = column === 'visible' ? await counts.deltas(p.visibility!.visibleAt, tx) : undefined
      if (p.tags.length === 1) {
        const [row] = await tx.select({ id: tags.id, total: tags.totalArticles, published: tags.publishedArticles, visible: tags.visibleArticles })
          .from(tags).where(and(eq(tags.slug, p.tags[0]!), isNull(tags.deletedAt)))
        return row === undefined ? 0 : row[column] + (deltas?.tags.get(row.id) ?? 0)
      }
      const [kind, key]: [CountKind, string] = p.section !== undefined ? ['section', p.section] : p.author !== undefined ? ['author', p.author] : ['all', '']
      const stored = await counts.stored(kind, key, tx)
      return stored[column] + (deltas === undefined ? 0 : counts.keyDelta(deltas, kind, key))
    }
    // The public's total is the stored number at the settled time plus what fell due since: both read in
    // one snapshot, or a settle (any process's upkeep) committing between them counts its articles twice or
    // not at all (test/pg/totals-settle.test.ts).
    return column === 'visible' ? await db.transaction(read, SNAPSHOT) : await read(db)
  }

  /** The statements of a page, unexecuted; undefined when nothing can match (an unknown tag). */
  async function statements (p: ArticleListParams) {
    const members = await memberships(p)
    if (members === undefined) return undefined
    const relevance = p.sort === 'relevance' && p.search !== undefined
    const search = p.search === undefined ? undefined : await priced(p.search)
    if (relevance && search!.matches > RANK_LIMIT) {
      throw invalid('query', '/q', `matches more than ${RANK_LIMIT.toLocaleString('en')} articles, too many to rank by relevance; add a word, or sort by date (sort=-publishedAt)`)
    }
    // A public page of a tag by date: the smallest tag's rows in article_tags_public_idx drive it, one range
    // in the page's order (their public_at is the article's published_at while it is published, kept by the
    // triggers of migrations/pg/0011). Walking the published articles by date and probing each for the tag
    // read 910 to find 21 (bench/README.md, "PostgreSQL: a tag's page from its own index").
    const byTag = p.visibility !== null && search === undefined && p.sort !== '-updatedAt'
      ? members.filter((m) => m.tagId !== undefined).sort((a, b) => a.size - b.size)[0]
      : undefined
    const filters: (SQL | undefined)[] = []
    if (p.visibility !== null) filters.push(sql`${articles.status} = 'published'`, lte(articles.publishedAt, p.visibility.visibleAt))
    else if (p.status !== undefined) filters.push(eq(articles.status, p.status))
    if (p.section !== undefined) filters.push(eq(articles.section, p.section))
    if (p.publishedAfter !== undefined) filters.push(gte(articles.publishedAt, p.publishedAfter))
    if (p.publishedBefore !== undefined) filters.push(lte(articles.publishedAt, p.publishedBefore))
    for (const m of members) if (m !== byTag) filters.push(m.where)
    if (search !== undefined) filters.push(sql`${articles.search} @@ ${tsquery(search.plan)}`)
    // The driving tag's range: its published rows up to now, within the dates asked for.
    const drivingRange = byTag === undefined
      ? undefined
      : and(eq(driving.tagId, byTag.tagId!), lte(driving.publicAt, p.visibility!.visibleAt),
        p.publishedAfter === undefined ? undefined : gte(driving.publicAt, p.publishedAfter),
        p.publishedBefore === undefined ? undefined : lte(driving.publicAt, p.publishedBefore))
    const where = and(...filters)
    // Keyed on the driving rows' columns, which equal the article's date and id on every row they join.
    const order = byTag === undefined ? listOrder(p) : { ...listOrder(p), column: driving.publicAt, tie: driving.articleId }
    const { keyset, rest } = keysetRanges(p, order, relevance)
    const from = () => byTag === undefined
      ? db.select(SELECTION).from(articles)
      : db.select(SELECTION).from(driving).innerJoin(articles, eq(articles.id, driving.articleId))
    let page
    if (relevance) {
      const rank = rankOf(sql`${articles.search}`, search!.plan)
      const after = p.after === undefined
        ? undefined
        : sql`(${rank} < ${Number(p.after[0])}::float8 OR (${rank} = ${Number(p.after[0])}::float8 AND ${articles.id} < ${Number(p.after[1])}))`
      page = db.select({ ...LISTED, rank }).from(articles).where(and(where, after)).orderBy(sql`${rank} DESC, ${articles.id} DESC`).limit(p.limit + 1)
    } else {
      page = from().where(and(drivingRange, where, keyset)).orderBy(orderBy(order)).limit(p.limit + 1)
    }
    const more = rest === undefined ? undefined : (n: number) => from().where(and(drivingRange, where, rest)).orderBy(orderBy(order)).limit(n)
    // Counted up to TOTAL_LIMIT + 1 (refused beyond), and refused up front when the smallest tag or author
    // would have to be gone through beyond TOTAL_LIMIT of its articles (as on SQLite).
    const smallest = Math.min(...members.map((m) => m.size))
    const countable = search !== undefined ? search.matches <= TOTAL_LIMIT : members.length === 0 || smallest <= TOTAL_LIMIT
    const total = db.select({ n: sql<number>`count(*)` })
      .from(db.select({ one: sql`1` }).from(articles).where(and(where, byTag?.where)).limit(TOTAL_LIMIT + 1).as('counted'))
    // A page of one tag and nothing else is planned once per connection: a named statement, whose generic plan
    // is that tag's index range whatever the tag. Planned afresh, the page cost PostgreSQL 0.25–0.3 ms of
    // its ~1.25 ms a request (bench/README.md, "PostgreSQL: a tag's page from its own index"). With other
    // filters beside the tag a generic plan could take the wrong range, so those stay unnamed.
    const named = byTag !== undefined && members.length === 1 && p.section === undefined &&
      p.publishedAfter === undefined && p.publishedBefore === undefined
    return { page, more, total, countable, plan: search?.plan, named }
  }

  /** One page, its total, its tags and its snippets (list, below, says what a search stopped by the budget means). */
  async function run (p: ArticleListParams): Promise<ListedPage> {
    const s = await statements(p)
    if (s === undefined) return { rows: [], total: p.withTotal ? 0 : undefined, snippets: new Map(), tags: new Map() }
    const rows = (s.named
      ? await s.page.prepare(`gz_tag_page_${createHash('sha256').update(s.page.toSQL().sql).digest('base64url').slice(0, 24)}`).execute()
      : await s.page) as ListedRow[]
    if (s.more !== undefined && rows.length <= p.limit) rows.push(...await s.more(p.limit + 1 - rows.length) as ListedRow[])
    let total: number | undefined
    if (p.withTotal) {
      total = await storedTotal(p)
      if (total === undefined) {
        if (!s.countable) throw tooManyToCount()
        total = await countedWithinBudget(async () => (await s.total)[0]!.n)
        if (s.plan === undefined && total > TOTAL_LIMIT) throw tooManyToCount()
      }
    }
    // The shown articles' tags: the page's summaries show them, and a search's snippets may be made of them.
    const shown = rows.slice(0, p.limit).map((r) => r.id)
    const tags = await tagsOfArticlesPg(db, shown)
    const snippets = s.plan !== undefined && shown.length > 0
      ? await snippetsOfPg(db, s.plan, shown, tags)
      : new Map<number, string>()
    return { rows, total, snippets, tags }
  }

  return {
    async list (p: ArticleListParams): Promise<ListedPage> {
      try {
        return await run(p)
      } catch (err) {
        // A search stopped by the query budget (statement_timeout) is a 422, as on SQLite.
        throw listFailure(p, err)
      }
    },

    /** EXPLAIN of each statement `list` would run for these parameters (for tests and docs). */
    async explain (p: ArticleListParams): Promise<{ name: string, sql: string, plan: string[] }[]> {
      const s = await statements(p)
      if (s === undefined) return []
      const named = [
        ['page', s.page],
        ['page (second range)', s.more?.(p.limit + 1)],
        ['total', p.withTotal && await storedTotal(p) === undefined ? s.total : undefined]
      ] as const
      const out: { name: string, sql: string, plan: string[] }[] = []
      for (const [name, q] of named) {
        if (q === undefined) continue
        const query = q.toSQL()
        const { rows } = await db.$client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query.sql}`, query.params)
        out.push({ name, sql: query.sql, plan: rows.map((r) => r['QUERY PLAN']) })
      }
      return out
    }
  }
}
