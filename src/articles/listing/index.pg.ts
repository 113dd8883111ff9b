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
import { buildable, executePrepared, SNAPSHOT, type PgDb, type PgTx } from '../../db/pg/connection.js'
import { driverRows } from '../../db/pg/driver-rows.js'
import { StatementCache } from '../../db/statement-cache.js'
import { invalid } from '../../http/errors.js'
import { orderBy } from '../../db/pg/keyset.js'
import { alias } from 'drizzle-orm/pg-core'
import { articleTags, articles, tags } from '../../db/pg/schema.js'
import { articleCountsPg } from '../counts.pg.js'
import { RANK_LIMIT, SearchRefused, type SearchPlan } from '../search-index.js'
import { excerptColumns, excerptValues, rankOf, SEARCH_PLAN_VERSION, searchPageExtrasPg, searchPlannerPg, searchSnippets, tsquery, type ExcerptHeads } from '../search-index.pg.js'
import { namedTagsPg, shownTagIds, tagsOfArticlesNamedPg, TAG_REFS_VERSION } from '../../tags/tag-refs.pg.js'
import { tagRefsOf, withSettledTagsAsync } from '../../tags/tag-refs.js'
import type { TagRef } from '../../tags/schemas.js'
import type { SearchTerm } from '../search.js'
import type { CountKind } from '../counts.js'
import { LIST_SHAPES, listFailure, listShape, publicTagDriver, slottedParams, type ArticleListParams, type ListShape, type ArticleSort, type ListedRow } from './index.js'
import { keysetRanges, nullableSort } from './keyset.js'
import type { Membership } from './filters.js'
import { countedWithinBudget, tooManyToCount, TOTAL_LIMIT } from './totals.js'

const { body: _body, bodyHtml: _bodyHtml, search: _search, ...LISTED } = getTableColumns(articles)
const SELECTION = { ...LISTED, rank: sql<null>`NULL::real` }

/** The tag rows that drive a public page of a tag (article_tags_public_idx: ./index.pg.ts, statements). */
const driving = alias(articleTags, 'd')

/** A page as the list statement found it: its rows (one more than asked, when there is a next page), the shown rows' tags and, for a search, snippets. */
interface ListedPage { rows: ListedRow[], total?: number, snippets: Map<number, string>, tags: Map<number, TagRef[]> }

/**
 * What the text of a list's statements depends on, and nothing else: the key of its built statements
 * (./index.ts's ListShape; `driver` is the tag whose rows drive a public page by date), with, for a search,
 * whether it ranks (statements(), below). Every value (the time, the status, the section, the dates, the
 * tag ids and author, a search's query, the cursor, the limits) is a placeholder bound per request.
 */
type Shape = ListShape

/** A search plan whose query is the placeholder `fts`: what a search's statements are built with (statements(), below). */
const SLOTTED_SEARCH = { fts: sql.placeholder('fts') as unknown as string, estimate: 0, least: 0, tagSlugs: new Set<string>() } satisfies SearchPlan

/** A tag's or the author's filter, for its key (a value or a placeholder). */
const memberWhere = (kind: Membership['kind'], key: unknown): SQL => kind === 'tag'
  ? sql`EXISTS (SELECT 1 FROM article_tags m WHERE m.tag_id = ${key} AND m.article_id = ${articles.id})`
  : sql`EXISTS (SELECT 1 FROM article_authors m WHERE m.name = ${key} AND m.article_id = ${articles.id})`

/** A page's rows, on the driver (src/db/pg/driver-rows.ts); a search's rank as PostgreSQL gives it. */
const pageRows = driverRows<ListedRow>(SELECTION)
/**
 * A ranked page's rows, each with what its excerpts and tags are made of (excerptColumns; the tag ids in
 * the editor's order, shownTagIds, and the version of the tags they are named at: ../../tags/tag-refs.ts),
 * and the version of search plans (migrations/pg/0013), which tells whether a kept plan still holds.
 */
type ExcerptedRow = ListedRow & Omit<ExcerptHeads, 'tags'> & { excerptTags: number[], tagsVersion: number, planVersion: number }
const excerptedRows = driverRows<ExcerptedRow>({ ...SELECTION, titleExcerpt: sql``, summaryExcerpt: sql``, bodyHits: sql``, excerptTags: sql``, tagsVersion: sql``, planVersion: sql`` })

/** The ranked searches' plans a process keeps (priced, below); beyond, the least recently used goes. */
export const KEPT_PLANS = 1000
/** The longest query a kept plan may have (tags named by the words add to it): a plan's size is bounded as well as their number. */
const KEPT_QUERY_CHARS = 2000
const countRows = driverRows<{ n: number }>({ n: sql<number>`count(*)` })

export function articleListingPg (db: PgDb) {
  const counts = articleCountsPg(db)
  const planner = searchPlannerPg(db)
  const shapes = new StatementCache<ReturnType<typeof build>>(LIST_SHAPES)

  /**
   * The plans of ranked searches, by their terms, each with the version of search plans it was made at
   * (migrations/pg/0013), most recently used last. A plan's statement (the terms' words, their counts, the
   * tags they name) was a round trip of every search, and on the bench cost more than a fifth of a search's
   * CPU, this process's and PostgreSQL's (bench/README.md, "Search plans kept"). A ranked page's statement
   * reads the version in its own snapshot, and a plan made at another one is made again, with the page
   * (run, below): the version moves in the transaction of every change a plan is made of, so a plan at the
   * version of the page's snapshot is the plan that snapshot would make. A plan kept never refuses a search:
   * a search it would refuse has its plan made again first, and a plan that refuses is not kept.
   */
  const kept = new Map<string, { plan: SearchPlan, version: number }>()

  /**
   * Drops the kept plans made before version `now` (the version only goes up), or all of them if one was
   * made after it (a database restored to an older state: migrations/pg/0013).
   */
  function forgetBefore (now: number): void {
    const later = [...kept.values()].some((k) => k.version > now)
    for (const [key, k] of kept) if (later || k.version < now) kept.delete(key)
  }

  /** A page's built statements and the values to run them with (statements, below); for a search, its plan, and the version of a kept one. */
  interface Statements { s: ReturnType<typeof build>, values: Record<string, unknown>, countable: boolean, plan: SearchPlan | undefined, keptAt: number | undefined }

  /**
   * The search's plan and how many articles it matches (exactly up to RANK_LIMIT, else a bound above it).
   * With `keep` (a ranked page, refused beyond RANK_LIMIT matches), a plan made now is kept unless it
   * refuses, and unless `fresh`, the plan kept for these terms is taken if there is one and does not refuse
   * (`keptAt`, its version: the caller checks it); one that would refuse is made again.
   */
  async function priced (terms: SearchTerm[], keep: boolean, fresh: boolean): Promise<{ plan: SearchPlan, matches: number, keptAt?: number }> {
    const key = JSON.stringify(terms)
    const hit = keep && !fresh ? kept.get(key) : undefined
    if (hit !== undefined) {
      const matches = await matchesOf(hit.plan)
      if (matches > RANK_LIMIT) {
        // It would refuse now: forgotten (unless another search kept a plan since), so that a search refused
        // again does not count on this plan before making its own.
        if (kept.get(key) === hit) kept.delete(key)
        return await priced(terms, keep, true)
      }
      kept.delete(key)
      kept.set(key, hit)
      return { plan: hit.plan, matches, keptAt: hit.version }
    }
    let made: { plan: SearchPlan, version: number | undefined }
    try {
      made = await planner.planAt(terms)
    } catch (err) {
      if (err instanceof SearchRefused) throw invalid('query', '/q', err.message)
      throw err
    }
    const { plan, version } = made
    const matches = await matchesOf(plan)
    // Not over a plan made at a later version (a search that read its terms before this one did).
    const held = kept.get(key)
    if (keep && matches <= RANK_LIMIT && version !== undefined && plan.fts.length <= KEPT_QUERY_CHARS && (held === undefined || held.version <= version)) {
      kept.delete(key)
      kept.set(key, { plan, version })
      if (kept.size > KEPT_PLANS) kept.delete(kept.keys().next().value!)
    }
    return { plan, matches }
  }

  /** How many articles a plan matches: exactly up to RANK_LIMIT, else a bound above it. */
  const matchesOf = async (plan: SearchPlan): Promise<number> =>
    plan.estimate <= RANK_LIMIT ? plan.estimate : plan.least > RANK_LIMIT ? plan.least : await planner.matchesUpTo(plan, RANK_LIMIT)

  /** Tag and author filters; undefined when a tag does not exist (nothing can match). */
  async function memberships (p: ArticleListParams): Promise<Membership[] | undefined> {
    const out: Membership[] = []
    for (const slug of new Set(p.tags)) {
      const { rows: [tag] } = await executePrepared<{ id: number, n: number }>(db, sql`SELECT id, article_count AS n FROM tags WHERE slug = ${slug} AND deleted_at IS NULL`)
      if (tag === undefined) return undefined
      out.push({ kind: 'tag', key: tag.id, size: tag.n })
    }
    if (p.author !== undefined) out.push({ kind: 'author', key: p.author, size: (await counts.stored('author', p.author)).total })
    return out
  }

  /** The order of a list (as ./keyset.ts's listOrder, over this engine's columns). */
  function listOrder (sort: ArticleSort, nullable: boolean) {
    return { column: sort === '-updatedAt' ? articles.updatedAt : articles.publishedAt, tie: articles.id, descending: sort !== 'publishedAt', nullable }
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

  /**
   * The statements of a page, built now: `page` (`limit` rows), `more` (the start of the second range, `more`
   * rows, to fill a page that the first one left short) and `total` (the count when no stored count
   * answers, lazily). Built once per shape: `p`'s values, the members' keys and a search's query are
   * placeholders, bound per request by statements().
   */
  function build (p: ArticleListParams, members: { kind: Membership['kind'], key: unknown }[], driver: number, nullable: boolean, search: SearchPlan | undefined, relevance: boolean, named: boolean) {
    // A public page of a tag by date: that tag's rows in article_tags_public_idx drive it, one range in the
    // page's order (their public_at is the article's published_at while it is published, kept by the
    // triggers of migrations/pg/0011). Walking the published articles by date and probing each for the tag
    // read 910 to find 21 (bench/README.md, "PostgreSQL: a tag's page from its own index").
    const byTag = driver === -1 ? undefined : members[driver]!
    const filters: (SQL | undefined)[] = []
    // The public's articles: published, and due. A ranked page's matches come from the full-text index
    // alone, the time compared as `+ 0` (no index's key): the plain ranked page is named, and its generic
    // plan, which cannot know that the time (now) keeps nearly every article, ANDed the matches with a
    // range of articles_published_idx over all of them (test/pg/search-plan.test.ts). The other ranked
    // pages (a section, dates, a tag or an author besides the search) are planned with their values and
    // read their matches from that index too; the same comparison keeps them to it.
    if (p.visibility !== null) {
      filters.push(sql`${articles.status} = 'published'`, relevance
        ? sql`${articles.publishedAt} + 0 <= ${p.visibility.visibleAt}`
        : lte(articles.publishedAt, p.visibility.visibleAt))
    } else if (p.status !== undefined) filters.push(eq(articles.status, p.status))
    if (p.section !== undefined) filters.push(eq(articles.section, p.section))
    if (p.publishedAfter !== undefined) filters.push(gte(articles.publishedAt, p.publishedAfter))
    if (p.publishedBefore !== undefined) filters.push(lte(articles.publishedAt, p.publishedBefore))
    for (const [i, m] of members.entries()) if (i !== driver) filters.push(memberWhere(m.kind, m.key))
    if (search !== undefined) filters.push(sql`${articles.search} @@ ${tsquery(search)}`)
    // The driving tag's range: its published rows up to now, within the dates asked for.
    const drivingRange = byTag === undefined
      ? undefined
      : and(sql`${driving.tagId} = ${byTag.key}`, lte(driving.publicAt, p.visibility!.visibleAt),
        p.publishedAfter === undefined ? undefined : gte(driving.publicAt, p.publishedAfter),
        p.publishedBefore === undefined ? undefined : lte(driving.publicAt, p.publishedBefore))
    const where = and(...filters)
    // Keyed on the driving rows' columns, which equal the article's date and id on every row they join.
    const order = byTag === undefined ? listOrder(p.sort, nullable) : { ...listOrder(p.sort, nullable), column: driving.publicAt, tie: driving.articleId }
    const { keyset, rest } = keysetRanges(p, order, relevance)
    const from = () => byTag === undefined
      ? db.select(SELECTION).from(articles)
      : db.select(SELECTION).from(driving).innerJoin(articles, eq(articles.id, driving.articleId))
    const limit = sql.placeholder('limit')
    let excerpted: SQL | undefined
    if (relevance) {
      const rank = rankOf(sql`${articles.search}`, search!)
      const matches = db.select({ ...LISTED, rank: sql<number>`${rank} AS "rank"` }).from(articles).where(where)
      // Ordered by the output column: ts_rank reads the whole search document (out of line, in TOAST), and
      // the same expression in ORDER BY, with its own placeholders, was a second reading of every match
      // (658 buffer reads instead of 360 for a word in 85 articles; bench/README.md). A later page compares
      // its cursor (rank and id, as numbers: statements() binds them so) with that column too, outside a
      // subquery that `OFFSET 0` keeps whole: written in the WHERE, ts_rank ranked every match there and
      // again in the output (test/pg/generic-plans.test.ts counts them in the plan).
      const ranked = p.after === undefined
        ? sql`${matches.orderBy(sql`"rank" DESC, ${articles.id} DESC`).limit(limit)}`
        : sql`(SELECT * FROM (${matches} OFFSET 0) AS m WHERE m."rank" < ${p.after[0]}::float8 OR (m."rank" = ${p.after[0]}::float8 AND m.id < ${p.after[1]})
          ORDER BY m."rank" DESC, m.id DESC LIMIT ${limit})`
      // The page's rows with their excerpts' makings and tags, in one statement: a round trip fewer for
      // every ranked search. The shown rows only: the row past the page, there to tell whether one follows,
      // has neither (its excerpts' makings are nulls and its tags '[]', never read).
      // The excerpts' columns are the article row's own (`a`), so that nothing of them is made before the
      // row is found: the row past the page has none.
      const columns = excerptColumns({ title: sql`a.title`, summary: sql`a.summary`, search: sql`a.search` })
      // The tags are aggregated once, in a CTE of their own: joined as a subquery, the generic plan ran the
      // aggregate again for every row of the page (a helper's review measured 38 ms against 25 at 100 rows).
      // Their ids only, with the version that the process's dictionary names them at (../../tags/tag-refs.ts).
      // The excerpts' subquery is kept whole (OFFSET 0), made once a row of the page: pulled up into the
      // joins, a generic plan made the title's excerpt for every pair of a page's row and a shown row (420
      // for a page of 20: test/pg/generic-plans.test.ts).
      excerpted = sql`WITH p AS MATERIALIZED ${ranked},
        shown AS MATERIALIZED (SELECT id FROM p ORDER BY "rank" DESC, id DESC LIMIT ${sql.placeholder('shown')}),
        pt AS MATERIALIZED (${shownTagIds(sql`at.article_id = ANY(ARRAY(SELECT id FROM shown))`)})
        SELECT p.*, e.*, coalesce(pt.tags, '{}') AS "excerptTags", ${TAG_REFS_VERSION} AS "tagsVersion", ${SEARCH_PLAN_VERSION} AS "planVersion"
        FROM p LEFT JOIN shown ON shown.id = p.id
          LEFT JOIN LATERAL (
            SELECT ${columns.titleExcerpt} AS "titleExcerpt", ${columns.summaryExcerpt} AS "summaryExcerpt", ${columns.bodyHits} AS "bodyHits"
            FROM articles a ${columns.titleHead} WHERE a.id = shown.id OFFSET 0) e ON true
          LEFT JOIN pt ON pt.article_id = p.id
        ORDER BY p."rank" DESC, p.id DESC`
    }
    // A named statement is planned once per connection; its name is its text's.
    const name = named ? (text: string) => `gz_list_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}` : undefined
    const once = <T>(make: () => T): () => T => { let made: T | undefined; return () => (made ??= make()) }
    return {
      page: excerpted === undefined
        ? pageRows.built(from().where(and(drivingRange, where, keyset)).orderBy(orderBy(order)).limit(limit), name)
        : excerptedRows.built(buildable(db, excerpted), name),
      /** Whether the page's rows come with their excerpts' makings and tags (ExcerptedRow). */
      excerpted: excerpted !== undefined,
      more: rest === undefined ? undefined : once(() => pageRows.built(from().where(and(drivingRange, where, rest)).orderBy(orderBy(order)).limit(sql.placeholder('more')), name)),
      // Counted up to TOTAL_LIMIT + 1 (the caller refuses beyond).
      total: once(() => countRows.built(db.select({ n: sql<number>`count(*)` })
        .from(db.select({ one: sql`1` }).from(articles).where(and(where, byTag === undefined ? undefined : memberWhere('tag', byTag.key))).limit(TOTAL_LIMIT + 1).as('counted'))))
    }
  }

  /**
   * A page's statements and the values to run them with; undefined when nothing can match (an unknown tag).
   * A list is built once per shape (Drizzle's building was a third of a list's CPU in this process), a
   * search's too (its query a placeholder).
   */
  async function statements (p: ArticleListParams, fresh = false): Promise<Statements | undefined> {
    const members = await memberships(p)
    if (members === undefined) return undefined
    const relevance = p.sort === 'relevance' && p.search !== undefined
    // A ranked page reads the version of search plans (its statement is `excerpted`, in build), so its plan may be a kept one.
    const search = p.search === undefined ? undefined : await priced(p.search, relevance, fresh)
    if (relevance && search!.matches > RANK_LIMIT) {
      throw invalid('query', '/q', `matches more than ${RANK_LIMIT.toLocaleString('en')} articles, too many to rank by relevance; add a word, or sort by date (sort=-publishedAt)`)
    }
    // The smallest tag drives a public page by date without a search.
    const byTag = publicTagDriver(p, members)
    const driver = byTag === undefined ? -1 : members.indexOf(byTag)
    const nullable = nullableSort(p)
    // Refused up front when the smallest tag or author would have to be gone through beyond TOTAL_LIMIT of
    // its articles (as on SQLite).
    const smallest = Math.min(...members.map((m) => m.size))
    const countable = search !== undefined ? search.matches <= TOTAL_LIMIT : members.length === 0 || smallest <= TOTAL_LIMIT
    // Only the values the request has: a statement with a placeholder the request cannot fill is then
    // refused (Drizzle's "No value for placeholder"), not run with NULL in its place.
    const values: Record<string, unknown> = { limit: p.limit + 1 }
    if (p.visibility !== null) values.visibleAt = p.visibility.visibleAt
    if (p.status !== undefined) values.status = p.status
    if (p.section !== undefined) values.section = p.section
    if (p.publishedAfter !== undefined) values.publishedAfter = p.publishedAfter
    if (p.publishedBefore !== undefined) values.publishedBefore = p.publishedBefore
    if (p.after !== undefined) Object.assign(values, { after0: p.after[0] ?? null, after1: p.after[1] ?? null })
    members.forEach((m, i) => { values[`member${i}`] = m.key })
    const shape: Shape = listShape(p, members, driver, nullable)
    const slottedMembers = () => shape.members.map((kind, i) => ({ kind, key: sql.placeholder(`member${i}`) }))
    if (search !== undefined) {
      // A search's statements are built once per shape too, its query (the tsquery) one more placeholder.
      // Sorted by date they stay unnamed, planned with each search's values: a generic plan could not know
      // how many articles the words match, and might walk the articles by date looking for a rare word. A
      // ranked page of nothing but a search is named: it ranks every match whatever their number, so its
      // plan is the index's matches whatever the words (test/pg/search-plan.test.ts checks the generic
      // plan). PostgreSQL parses it once per connection and may keep its generic plan (0.2 ms of its time
      // a search): it does when the words are not rare (on the bench's copy, for a word in 84 articles:
      // bench/statement-cpu.ts prints the counts); for a rarer word the plans made with it may cost less,
      // and it goes on making them.
      const named = relevance && !shape.section && !shape.publishedAfter && !shape.publishedBefore && shape.members.length === 0
      values.fts = search.plan.fts
      if (relevance && p.after !== undefined) Object.assign(values, { after0: Number(p.after[0]), after1: Number(p.after[1]) })
      if (relevance) Object.assign(values, excerptValues(search.plan), { shown: p.limit })
      const s = shapes.get(JSON.stringify({ ...shape, search: relevance ? 'relevance' : 'filter' }),
        () => build(slottedParams(shape), slottedMembers(), driver, nullable, SLOTTED_SEARCH, relevance, named))
      return { s, values, countable, plan: search.plan, keptAt: search.keptAt }
    }
    const s = shapes.get(JSON.stringify(shape), () => build(slottedParams(shape), slottedMembers(), shape.driver, shape.nullable, undefined, false,
    // A page of one tag, or of every article, and nothing else is a named statement, parsed once per
    // connection. A tag's page is also planned once: after five runs PostgreSQL may keep its generic plan
    // (on the bench database it did, 7 of 12 runs), and that plan is the tag's index range whatever the tag
    // and the time (test/pg/tag-page-plan.test.ts forces it and checks; test/pg/generic-plans.test.ts
    // past the first page). Planned afresh, that page cost PostgreSQL 0.25–0.3 ms of its ~1.25 ms a request
    // (bench/README.md, "PostgreSQL: a tag's page from its own index"). The front page's generic plan never
    // costs less than the plans made with its values (pg_prepared_statements counts only custom plans), so
    // PostgreSQL goes on planning it and the name saves the parse alone; were it kept, it is the same index
    // range (test/pg/generic-plans.test.ts). With other filters a generic plan could take the wrong range,
    // so those pages stay unnamed.
      shape.public && !shape.section && !shape.publishedAfter && !shape.publishedBefore &&
      (shape.members.length === 0 || (shape.members.length === 1 && shape.driver === 0))))
    return { s, values, countable, plan: undefined, keptAt: undefined }
  }

  /** One page, its total, its tags and its snippets (list, below, says what a search stopped by the budget means). */
  async function run (p: ArticleListParams, fresh = false): Promise<ListedPage> {
    const d = await statements(p, fresh)
    if (d === undefined) return { rows: [], total: p.withTotal ? 0 : undefined, snippets: new Map(), tags: new Map() }
    const { s, values } = d
    let rows: ListedRow[]
    try {
      rows = await s.page(db.$client, values)
    } catch (err) {
      // A kept plan's page that failed (the query budget ran out) is made again if the plan no longer holds:
      // a plan made now might have been refused, or answered.
      if (d.keptAt === undefined) throw err
      const now = await planner.version()
      if (now === d.keptAt) throw err
      forgetBefore(now)
      return await run(p, true)
    }
    if (d.keptAt !== undefined) {
      // The plan was kept: it holds if the version of search plans, read in the page's snapshot, is the one it
      // was made at (a page of no rows read none). Else it is made again (and kept), with the page.
      const now = rows.length > 0 ? (rows[0] as ExcerptedRow).planVersion : await planner.version()
      if (now !== d.keptAt) {
        forgetBefore(now)
        return await run(p, true)
      }
    }
    if (s.more !== undefined && rows.length <= p.limit) rows.push(...await s.more()(db.$client, { ...values, more: p.limit + 1 - rows.length }))
    let total: number | undefined
    if (p.withTotal) {
      total = await storedTotal(p)
      if (total === undefined) {
        if (!d.countable) throw tooManyToCount()
        total = await countedWithinBudget(async () => (await s.total()(db.$client, values))[0]!.n)
        if (d.plan === undefined && total > TOTAL_LIMIT) throw tooManyToCount()
      }
    }
    // The shown articles' tags (the page's summaries show them) and, for a search, their snippets, which
    // may be made of the tags: one statement gives both.
    const shown = rows.slice(0, p.limit).map((r) => r.id)
    if (d.plan !== undefined && shown.length > 0) {
      if (!s.excerpted) return { rows, total, ...await searchPageExtrasPg(db, d.plan, shown) }
      const page = rows.slice(0, p.limit) as ExcerptedRow[]
      const named = await namedTagsPg(db, tagRefsOf(db), page[0]!.tagsVersion, new Map(page.map((r) => [r.id, r.excerptTags])))
      const heads = page.map((r) => ({ ...r, tags: named.get(r.id)! }))
      return { rows, total, ...await searchSnippets(db, d.plan, shown, heads) }
    }
    return { rows, total, snippets: new Map<number, string>(), tags: await tagsOfArticlesNamedPg(db, shown) }
  }

  /** How many shapes' statements are held (at most LIST_SHAPES) and built (for tests). */
  const statementStats = () => shapes.stats

  return {
    async list (p: ArticleListParams): Promise<ListedPage> {
      try {
        // Again when the tags moved between the page's statement and the look-up of names (../../tags/tag-refs.ts).
        return await withSettledTagsAsync(async () => await run(p))
      } catch (err) {
        // A search stopped by the query budget (statement_timeout) is a 422, as on SQLite.
        throw listFailure(p, err)
      }
    },

    /** EXPLAIN of each statement `list` would run for these parameters (for tests and docs). */
    async explain (p: ArticleListParams): Promise<{ name: string, sql: string, plan: string[] }[]> {
      const d = await statements(p, true)
      if (d === undefined) return []
      const { s, values } = d
      const named = [
        ['page', s.page, values],
        ['page (second range)', s.more?.(), { ...values, more: p.limit + 1 }],
        ['total', p.withTotal && await storedTotal(p) === undefined ? s.total() : undefined, values]
      ] as const
      const out: { name: string, sql: string, plan: string[] }[] = []
      for (const [name, q, v] of named) {
        if (q === undefined) continue
        const { rows } = await db.$client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${q.text}`, q.params(v))
        out.push({ name, sql: q.text, plan: rows.map((r) => r['QUERY PLAN']) })
      }
      return out
    },

    get statementStats () { return statementStats() }
  }
}
