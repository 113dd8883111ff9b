// The article list prepares its statements once per shape and binds each request's values
// (src/articles/listing/index.ts; on PostgreSQL, index.pg.ts builds each shape's text once, searches
// aside). Every shape must return what a naive reading of the rules returns (an oracle over every row,
// here, in JavaScript), page after page through its cursors: each later page runs the shape's statement
// again with other values, and so does each tag, author, section and search of the same shape. And the
// prepared shapes stay bounded. On both engines (searches on SQLite only: the oracle ranks with FTS5).
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import { articleListing, LIST_SHAPES, type ArticleListParams } from '../../src/articles/listing/index.js'
import { articleListingPg } from '../../src/articles/listing/index.pg.js'
import { storedRepresentations } from '../../src/articles/stored.js'
import { parseSearch } from '../../src/articles/search.js'
import { articleSearch, RANK, searchPlanner } from '../../src/articles/search-index.js'
import { build, createArticle, type TestApp } from '../helper.js'

const DAY = 86_400_000
const SECTIONS = ['Sport', 'World', null]
const TAGS = ['Navy', 'Harbour', 'Rare', 'Weather']
const AUTHORS = ['Ann Lee', 'Bob Roy', 'Cy Dee']
const WORDS = ['harbour', 'fleet', 'budget', 'weather']

interface Row { id: number, slug: string, status: string, publishedAt: number | null, updatedAt: number, section: string | null, tags: string[], authors: string[] }

async function archive (t: Test) {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 })
  // Deterministic variety: statuses (drafts without a date, scheduled articles in the future), sections,
  // tags (one rare), authors, dates (some equal, to exercise the id tie-break) and words to search.
  for (let i = 0; i < 70; i++) {
    const status = i % 9 === 4 ? 'draft' : 'published'
    const publishedAt = status === 'draft' && i % 2 === 0 ? null : a.clock.now + (i % 11 === 3 ? 5 * DAY : -Math.floor(i / 2) * DAY)
    await createArticle(a, {
      title: `Story ${i} ${WORDS[i % 4]}${i % 5 === 0 ? ' harbour' : ''}`,
      body: `Text of ${i}. ${WORDS[(i + 1) % 4]} and more.`,
      status,
      publishedAt: publishedAt === null ? null : new Date(publishedAt).toISOString(),
      section: SECTIONS[i % 3],
      tags: TAGS.filter((_, k) => (k === 2 ? i % 13 === 0 : (i + k) % (k + 2) === 0)),
      authors: AUTHORS.filter((_, k) => (i + k) % (k + 2) === 0)
    })
    a.clock.advance(i % 7 === 0 ? 0 : 1000)
  }
  return a
}

async function rowsOf (a: TestApp): Promise<Row[]> {
  if (a.pg !== undefined) {
    const { rows } = await a.pg.db.$client.query<Row>(`SELECT a.id, a.slug, a.status, a.published_at AS "publishedAt", a.updated_at AS "updatedAt", a.section,
        ARRAY(SELECT t.slug FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = a.id) AS tags,
        ARRAY(SELECT name FROM article_authors m WHERE m.article_id = a.id) AS authors
      FROM articles a`)
    return rows
  }
  const sqlite = a.app.db.$client
  const rows = sqlite.prepare('SELECT id, slug, status, published_at AS publishedAt, updated_at AS updatedAt, section FROM articles').all() as Row[]
  const tagsOf = sqlite.prepare('SELECT t.slug FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = ?').pluck()
  const authorsOf = sqlite.prepare('SELECT name FROM article_authors WHERE article_id = ?').pluck()
  return rows.map((r) => ({ ...r, tags: tagsOf.all(r.id) as string[], authors: authorsOf.all(r.id) as string[] }))
}

/** The list by the rules, naively: every row filtered and sorted in JavaScript. */
function oracle (a: TestApp, rows: Row[], p: Omit<ArticleListParams, 'limit' | 'after' | 'withTotal'>): string[] {
  let ranks: Map<number, number> | undefined
  if (p.search !== undefined) {
    const fts = searchPlanner(a.app.db).plan(p.search).fts
    const matches = a.app.db.select({ id: articleSearch.rowid, rank: RANK }).from(articleSearch).where(sql`${articleSearch} MATCH ${fts}`).all()
    ranks = new Map(matches.map((r) => [r.id, r.rank]))
  }
  // SQLite sorts NULL first ascending, last descending.
  const nulls = (x: number | null) => x ?? -Infinity
  const kept = rows.filter((r) =>
    (p.visibility === null
      ? p.status === undefined || r.status === p.status
      : r.status === 'published' && r.publishedAt !== null && r.publishedAt <= p.visibility.visibleAt) &&
    (p.section === undefined || r.section === p.section) &&
    (p.publishedAfter === undefined || (r.publishedAt !== null && r.publishedAt >= p.publishedAfter)) &&
    (p.publishedBefore === undefined || (r.publishedAt !== null && r.publishedAt <= p.publishedBefore)) &&
    p.tags.every((tag) => r.tags.includes(tag)) &&
    (p.author === undefined || r.authors.includes(p.author)) &&
    (ranks === undefined || ranks.has(r.id)))
  const key = (r: Row): [number, number] => p.sort === 'relevance'
    ? [ranks!.get(r.id)!, -r.id]
    : p.sort === '-updatedAt' ? [-r.updatedAt, -r.id] : p.sort === 'publishedAt' ? [nulls(r.publishedAt), r.id] : [-nulls(r.publishedAt), -r.id]
  return kept.sort((x, y) => { const [a1, a2] = key(x); const [b1, b2] = key(y); return a1 - b1 || a2 - b2 }).map((r) => r.slug)
}

/** Every page of a list through the API, following its cursors; and the total it reports. */
async function walk (a: TestApp, query: string, editor: boolean): Promise<{ slugs: string[], total: number | undefined }> {
  const slugs: string[] = []
  let total: number | undefined
  let url: string | undefined = `/v1/articles?${query}`
  for (let pages = 0; url !== undefined && pages < 100; pages++) {
    const res = editor ? await a.as('editor', { method: 'GET', url }) : await a.inject({ method: 'GET', url })
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    const body = res.json() as { data: { slug: string }[], page: { nextCursor: string | null, total?: number } }
    slugs.push(...body.data.map((x) => x.slug))
    total ??= body.page.total
    url = body.page.nextCursor === null ? undefined : `/v1/articles?${query}&cursor=${encodeURIComponent(body.page.nextCursor)}`
  }
  return { slugs, total }
}

t.test('every list shape, page after page, returns what the rules say', async (t) => {
  const a = await archive(t)
  const rows = await rowsOf(a)
  const searches = a.pg === undefined
  const now = a.clock.now
  const iso = (ms: number) => new Date(ms).toISOString()
  type Query = Record<string, string | string[] | undefined>
  type Case = { query: Query, editor: boolean }
  const cases: Case[] = []
  for (const editor of [false, true]) {
    for (const sort of ['-publishedAt', 'publishedAt', '-updatedAt']) {
      for (const filter of <Query[]>[{}, { section: 'Sport' }, { section: 'World' }, { tag: 'navy' }, { tag: 'harbour' }, { tag: 'rare' }, { tag: ['navy', 'weather'] },
        { author: 'Ann Lee' }, { author: 'Cy Dee' }, { tag: 'rare', author: 'Ann Lee' }, { publishedAfter: iso(now - 20 * DAY), publishedBefore: iso(now - 5 * DAY) },
        ...(searches ? [{ q: 'harbour' }, { q: 'fleet' }, { q: 'budget', tag: 'navy' }] : []), ...(editor ? [{ status: 'draft' }, { status: 'published' }, { status: 'draft', section: 'World' }] : [])]) {
        cases.push({ query: { sort, ...filter }, editor })
      }
    }
    for (const filter of <Query[]>(searches ? [{ q: 'harbour' }, { q: 'fleet' }, { q: 'harbour', section: 'Sport' }, { q: 'weather', tag: 'harbour' }, { q: 'budget OR nothing' }] : [])) {
      cases.push({ query: { sort: 'relevance', ...filter }, editor })
    }
  }
  let pages = 0
  for (const c of cases) {
    const q = c.query
    const list = (x: string | string[] | undefined) => x === undefined ? [] : Array.isArray(x) ? x : [x]
    const expected = oracle(a, rows, {
      visibility: c.editor ? null : { visibleAt: now },
      status: c.editor ? q.status as ArticleListParams['status'] : 'published',
      tags: list(q.tag),
      section: q.section as string | undefined,
      author: q.author as string | undefined,
      publishedAfter: q.publishedAfter === undefined ? undefined : Date.parse(q.publishedAfter as string),
      publishedBefore: q.publishedBefore === undefined ? undefined : Date.parse(q.publishedBefore as string),
      search: q.q === undefined ? undefined : parseSearch(q.q as string),
      sort: q.sort as ArticleListParams['sort']
    })
    for (const limit of [4]) {
      const query = new URLSearchParams(Object.entries({ ...q, limit: String(limit), include: 'total' }).flatMap(([k, v]) => list(v).map((x): [string, string] => [k, x])))
      const got = await walk(a, query.toString(), c.editor)
      pages += Math.ceil(Math.max(1, got.slugs.length) / limit)
      t.same(got.slugs, expected, `${c.editor ? 'editor' : 'public'} ${query}`)
      t.equal(got.total, expected.length, `${query}: total`)
    }
  }
  t.ok(pages > (searches ? 200 : 150), `${pages} pages walked`)
})

t.test('the prepared shapes stay bounded, and a shape prepared again answers the same', async (t) => {
  const a = await archive(t)
  const listing = a.pg === undefined ? articleListing(a.app.db, storedRepresentations(a.app.db)) : articleListingPg(a.pg.db)
  const base: ArticleListParams = {
    limit: 5,
    after: undefined,
    visibility: { visibleAt: a.clock.now },
    status: 'published',
    tags: [],
    section: undefined,
    author: undefined,
    publishedAfter: undefined,
    publishedBefore: undefined,
    search: undefined,
    sort: '-publishedAt',
    withTotal: false
  }
  // Many distinct shapes: subsets of filters × sorts × who asks.
  const variants: ArticleListParams[] = []
  for (const sort of ['-publishedAt', 'publishedAt', '-updatedAt'] as const) {
    for (let mask = 0; mask < 32; mask++) {
      for (const editor of [false, true]) {
        variants.push({
          ...base,
          sort,
          visibility: editor ? null : base.visibility,
          status: editor ? undefined : 'published',
          tags: [...(mask & 1 ? ['navy'] : []), ...(mask & 2 ? ['weather'] : [])],
          author: mask & 4 ? 'Bob Roy' : undefined,
          section: mask & 8 ? 'Sport' : undefined,
          publishedAfter: mask & 16 ? a.clock.now - 30 * DAY : undefined
        })
      }
    }
  }
  const slugs = async (p: ArticleListParams) => (await listing.list(p)).rows.map((r) => r.id)
  const first = []
  for (const p of variants) first.push(await slugs(p))
  const stats = listing.statementStats
  t.ok(stats.built > LIST_SHAPES, `more shapes than are kept (${stats.built} built)`)
  t.equal(stats.size, LIST_SHAPES, `at most ${LIST_SHAPES} kept`)
  // The first shapes were evicted, prepared again now, and answer as they did.
  for (const [i, p] of variants.entries()) t.same(await slugs(p), first[i], `variant ${i}`)
  t.equal(listing.statementStats.size, LIST_SHAPES)
  // A hit builds nothing.
  const before = listing.statementStats.built
  await slugs(variants.at(-1)!)
  t.equal(listing.statementStats.built, before, 'the most recent shape is reused')
})
