// Feeds and sitemaps on both engines (src/syndication/repository.pg.ts beside src/syndication/repository.ts):
// one newsroom story (published, draft, archived, scheduled and deleted articles, tags, sections, authors,
// images, wire copy, comments, a renamed slug, articles in three blocks of ids) answers byte for byte the
// same on SQLite and on PostgreSQL: every feed (RSS, Atom, JSON Feed; the site, a tag, a section, an
// author, a limit, an article's comments, 301s and 404s), the sitemap index, its pages and the Google News
// sitemap, with their ETags, Last-Modified and 304s, before and after a scheduled article falls due. No
// draft ever appears. A deletion moves Last-Modified on both engines (the public change clock of each).
// On PostgreSQL, on a few thousand articles, the sitemap and news reads are index ranges (EXPLAIN).
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { SITEMAP_PAGE_SIZE } from '../../src/syndication/repository.js'
import type { SyndicationRepositoryPg } from '../../src/syndication/repository.pg.js'
import { build, createArticle, sameOnBothEngines, type Engine, type TestApp } from '../helper.js'

const HOST = 'news.example'
const SECOND = 1000
const HOUR = 3_600_000
/**
 * The app's clock, fixed and later than the real one: the triggers that date changes without a timestamp
 * of their own (the public change clock) use the database's real clock, so here they never outweigh the
 * articles' own times, and every document is the same on both engines, dates and ETags included.
 */
const FUTURE = Date.parse('2031-03-03T09:00:00.000Z')

const get = (a: TestApp, url: string, headers: Record<string, string> = {}) => a.inject({ method: 'GET', url, headers: { host: HOST, ...headers } })

/** The next article created gets this id (sitemap pages are blocks of ids), on either engine. */
async function nextId (a: TestApp, id: number): Promise<void> {
  if (a.pg === undefined) a.app.db.$client.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'articles'").run(id - 1)
  else await a.pg.db.execute(sql`SELECT setval(pg_get_serial_sequence('articles', 'id'), ${id - 1})`)
}

/** What a client sees of a document: everything but the request id and the date of the response. */
const seenOf = (url: string, res: LightMyRequestResponse): unknown[] => [
  url, res.statusCode, res.headers['content-type'] ?? null, res.headers.etag ?? null, res.headers['last-modified'] ?? null,
  res.headers.location ?? null, res.headers['cache-control'] ?? null, res.body
]

const FEED_QUERIES = [
  '', '?limit=1', '?limit=100', '?tag=harbour', '?tag=grain', '?tag=harbour&section=World', '?section=World', '?section=Economy',
  '?author=Anna%20Petrova', '?comments=old-dispatch', '?comments=grain-wire', '?tag=harbour&section=Economy',
  // Old slug: 301. Hidden or unknown: 404.
  '?comments=wire-copy', '?comments=secret-draft', '?tag=draft-only', '?section=Hidden%20desk', '?author=Ghost%20Writer', '?tag=nowhere'
]
const FEEDS = ['rss', 'atom', 'json'].flatMap((format) => FEED_QUERIES.map((q) => `/feeds/${format}${q}`))
const SITEMAPS = ['/sitemap.xml', '/sitemaps/articles-1.xml', '/sitemaps/articles-2.xml', '/sitemaps/articles-3.xml', '/sitemaps/articles-4.xml', '/sitemaps/news.xml']
/** What the public must never see, in any document. */
const HIDDEN = /secret|Secret|Ghost Writer|draft-only|Draft only|Hidden desk|archived|Archived|doomed|Doomed/

/** Every document, and how each answers conditional requests (its ETag, its Last-Modified, a second before). */
async function documents (t: Test, a: TestApp, urls: string[]): Promise<unknown[]> {
  const out: unknown[] = []
  for (const url of urls) {
    const res = await get(a, url)
    const conditional: unknown[] = []
    if (res.statusCode === 200) {
      // (A 404 names what was asked for, and nothing else.)
      t.notMatch(res.body, HIDDEN, `${url}: nothing hidden`)
      const etag = res.headers.etag as string
      const lastModified = res.headers['last-modified']
      if (typeof lastModified !== 'string') {
        t.fail(`${url}: no Last-Modified`)
        out.push([...seenOf(url, res), conditional])
        continue
      }
      conditional.push(
        (await get(a, url, { 'if-none-match': etag })).statusCode,
        (await get(a, url, { 'if-none-match': '"other"' })).statusCode,
        (await get(a, url, { 'if-modified-since': lastModified })).statusCode,
        (await get(a, url, { 'if-modified-since': new Date(Date.parse(lastModified) - SECOND).toUTCString() })).statusCode,
        (await get(a, url, { 'if-match': '"stale"' })).statusCode
      )
      t.same(conditional, [304, 200, 304, 200, 412], `${url}: 304 from either validator`)
    }
    out.push([...seenOf(url, res), conditional])
  }
  return out
}

async function newsroom (a: TestApp): Promise<void> {
  a.clock.now = FUTURE - 100 * HOUR
  const old = await createArticle(a, {
    title: 'Old dispatch',
    summary: 'From the harbour.',
    body: 'The ships **docked** at dawn.\n\nCrowds <waited> & watched.',
    section: 'World',
    dateline: 'VLADIVOSTOK',
    authors: ['Anna Petrova'],
    tags: ['Harbour'],
    status: 'published',
    image: { url: 'https://images.news.example/2031/frigates.jpg', alt: 'Frigates at a pier', caption: 'At the pier.', credit: 'Photo: Staff' }
  })
  await createArticle(a, { title: 'Secret draft', body: 'Secret plans', tags: ['Harbour', 'Draft only'], section: 'Hidden desk', authors: ['Ghost Writer'], status: 'draft' })
  await nextId(a, SITEMAP_PAGE_SIZE + 5)
  a.clock.advance(50 * HOUR)
  const wire = await createArticle(a, {
    title: 'Wire copy',
    body: 'VLADIVOSTOK, March 1. /TASS/. Exports rose.',
    source: 'TASS',
    canonicalUrl: 'https://tass.com/economy/1234567',
    section: 'Economy',
    tags: ['Harbour', 'Grain'],
    status: 'published'
  })
  await createArticle(a, { title: 'Archived piece', body: 'Old', tags: ['Harbour'], status: 'archived', publishedAt: new Date(a.clock.now - HOUR).toISOString() })
  a.clock.advance(SECOND)
  const doomed = await createArticle(a, { title: 'Doomed piece', body: 'Gone soon', tags: ['Grain'], section: 'World', status: 'published' })
  await nextId(a, 3 * SITEMAP_PAGE_SIZE + 1)
  a.clock.advance(49 * HOUR)
  const fresh = await createArticle(a, {
    title: 'Fresh on page four',
    body: 'News.',
    section: 'World',
    authors: ['Anna Petrova', 'Ivan Sokolov'],
    tags: ['Harbour'],
    status: 'published',
    image: { url: 'https://images.news.example/2031/fresh.jpg', alt: 'A crowd' }
  })
  if (fresh.id !== 3 * SITEMAP_PAGE_SIZE + 1 || wire.id !== SITEMAP_PAGE_SIZE + 5) throw new Error(`ids: ${wire.id as number}, ${fresh.id as number}`)
  await createArticle(a, { title: 'Scheduled piece', body: 'Later', tags: ['Harbour', 'Grain'], section: 'World', authors: ['Anna Petrova'], status: 'published', publishedAt: new Date(a.clock.now + HOUR).toISOString() })

  // Comments on the old dispatch: two approved, one withdrawn (spam); one on the wire copy.
  a.clock.advance(60 * SECOND)
  const comment = (slug: string, body: string) => a.inject({ method: 'POST', url: `/v1/articles/${slug}/comments`, payload: { authorName: 'Olga', authorEmail: 'olga@example.org', authorUrl: 'https://olga.example/', body } })
  let spam = 0
  for (const body of ['First!', 'A *second* look.', 'Buy now']) {
    a.clock.advance(SECOND)
    const res = await comment(old.slug, body)
    if (res.statusCode !== 201) throw new Error('comment')
    spam = res.json().id
  }
  if ((await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${spam}`, payload: { status: 'spam' } })).statusCode !== 200) throw new Error('moderate')
  await comment(wire.slug, 'On the wire.')

  // An edit after publication (lastmod moves), a new slug (the old one redirects), a deletion.
  a.clock.advance(60 * SECOND)
  const edit = (slug: string, payload: object) => a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload })
  if ((await edit(old.slug, { summary: 'From the harbour, updated.' })).statusCode !== 200) throw new Error('edit')
  if ((await edit(wire.slug, { slug: 'grain-wire' })).statusCode !== 200) throw new Error('rename')
  if ((await a.as('editor', { method: 'DELETE', url: `/v1/articles/${doomed.slug as string}` })).statusCode !== 204) throw new Error('delete')
  a.clock.advance(60 * SECOND)
}

async function syndicationStory (t: Test, engine: Engine): Promise<unknown[]> {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 }, { engine })
  t.equal(a.app.storage.engine, engine)
  const seen: unknown[] = []
  // An empty site: empty feeds, an empty index, no page.
  a.clock.now = FUTURE - 200 * HOUR
  seen.push(await documents(t, a, ['/feeds/rss', '/feeds/json', '/sitemap.xml', '/sitemaps/articles-1.xml', '/sitemaps/news.xml']))

  await newsroom(a)
  const now = await documents(t, a, [...FEEDS, ...SITEMAPS])
  seen.push(now)
  const body = (url: string) => (now.find((d) => (d as unknown[])[0] === url) as unknown[])[7] as string
  t.same([...body('/sitemap.xml').matchAll(/articles-(\d)\.xml/g)].map((m) => m[1]), ['1', '2', '4'], 'pages with a visible article')
  t.match(body('/feeds/json?tag=harbour'), /Fresh on page four[\s\S]*Wire copy[\s\S]*Old dispatch/, 'the tag\'s visible articles, newest first')
  t.notMatch(body('/feeds/atom'), /Scheduled piece/, 'not before it is due')
  t.match(body('/feeds/rss?comments=old-dispatch'), /A <em>second<\/em> look/)
  t.notMatch(body('/feeds/rss?comments=old-dispatch'), /Buy now|olga@example/, 'no withdrawn comment, no email')
  t.match(body('/sitemaps/news.xml'), /fresh-on-page-four/)
  t.notMatch(body('/sitemaps/news.xml'), /old-dispatch/, 'older than 48 hours')

  // The scheduled article falls due: in the feeds, its page and the news sitemap.
  a.clock.advance(HOUR)
  const due = await documents(t, a, ['/feeds/atom', '/feeds/json?tag=grain', '/feeds/rss?section=World', '/sitemap.xml', '/sitemaps/articles-4.xml', '/sitemaps/news.xml'])
  seen.push(due)
  t.match((due[0] as unknown[])[7], /Scheduled piece/, 'due: in the feed')
  t.match((due[4] as unknown[])[7], /scheduled-piece/, 'due: in its page')
  // 48 hours on, the news window is empty and the index drops it: Last-Modified is when the last one left.
  a.clock.advance(48 * HOUR)
  const later = await documents(t, a, ['/sitemap.xml', '/sitemaps/news.xml'])
  seen.push(later)
  t.notMatch((later[0] as unknown[])[7], /news\.xml/, 'the index without the news sitemap')
  t.notMatch((later[1] as unknown[])[7], /<url>/, 'an empty news sitemap')
  t.equal((later[1] as unknown[])[4], new Date(FUTURE + SECOND + 48 * HOUR).toUTCString(), 'dated when the last (the scheduled piece, due at FUTURE + 1 s) left the window')
  return seen
}

t.test('feeds and sitemaps answer the same on SQLite and on PostgreSQL', (t) => sameOnBothEngines(t, 4, syndicationStory))

/**
 * On the real clock, as in production: deleting the newest visible article leaves only older times in a
 * document, and its Last-Modified still moves, to the time the database's triggers recorded.
 */
async function deletionStory (t: Test, engine: Engine): Promise<unknown[]> {
  const a = await build(t, {}, { engine })
  a.clock.now = Date.now() - 60 * SECOND
  await createArticle(a, { title: 'Kept', body: 'Text', status: 'published' })
  a.clock.advance(SECOND)
  const doomed = await createArticle(a, { title: 'Doomed', body: 'Text', status: 'published' })
  a.clock.advance(2 * SECOND)
  const urls = ['/feeds/atom', '/feeds/json', '/sitemap.xml', '/sitemaps/articles-1.xml', '/sitemaps/news.xml']
  const before = await Promise.all(urls.map(async (url) => (await get(a, url)).headers['last-modified'] as string))
  t.ok(before.every((d) => typeof d === 'string'), 'Last-Modified on every document')
  const deletedAt = Date.now()
  t.equal((await a.as('editor', { method: 'DELETE', url: `/v1/articles/${doomed.slug as string}` })).statusCode, 204)
  a.clock.now = Date.now() + 2 * SECOND
  const seen: unknown[] = []
  for (const [i, url] of urls.entries()) {
    const res = await get(a, url)
    t.notMatch(res.body, /Doomed|doomed/, `${url}: gone`)
    const lastModified = Date.parse(res.headers['last-modified'] as string)
    t.ok(lastModified >= Math.floor(deletedAt / SECOND) * SECOND, `${url}: Last-Modified is the deletion's time`)
    const stale = (await get(a, url, { 'if-modified-since': before[i]! })).statusCode
    t.equal(stale, 200, `${url}: a client holding it from before the deletion gets the new one`)
    seen.push([url, lastModified > Date.parse(before[i]!), stale, (await get(a, url, { 'if-modified-since': res.headers['last-modified'] as string })).statusCode])
  }
  return seen
}

t.test('a deletion moves Last-Modified on both engines', (t) => sameOnBothEngines(t, 5, deletionStory))

t.test('PostgreSQL: a sitemap page, a block\'s lastmod, the next block and the news window are index ranges', async (t) => {
  const a = await build(t, {}, { engine: 'postgres' })
  const db = a.pg!.db
  const now = Date.parse('2026-07-08T09:00:00.000Z')
  // 5,000 articles over 50 blocks of ids (100 a block: 1 % of them, as a block is of a million articles),
  // nine in ten published, some of those scheduled; then the statistics a running database would have.
  await db.execute(sql`INSERT INTO articles (id, slug, title, body, body_html, status, published_at, created_at, updated_at)
    SELECT i, 'a-' || i, 'Article ' || i, '', '',
      CASE WHEN i % 10 = 3 THEN 'draft' ELSE 'published' END,
      CASE WHEN i % 10 = 3 THEN NULL ELSE at + CASE WHEN i % 97 = 0 THEN 86400000 ELSE 0 END END,
      at, at + (i % 7) * 1000
    FROM generate_series(1, 500000, 100) AS i, LATERAL (SELECT ${now}::bigint - (500000 - i)::bigint * 60000 AS at) AS t`)
  await db.execute(sql`VACUUM ANALYZE articles`)
  const repo = a.app.syndication as SyndicationRepositoryPg
  const plans = await repo.explainSitemaps(2, now)
  const news = await repo.explainNews(now - 48 * HOUR, now)
  t.comment(['page:', ...plans.page, 'index:', ...plans.index, 'news:', ...news].join('\n'))
  t.match(plans.page[0], /^Index Only Scan Backward using articles_sitemap_idx on articles/, 'a page: one backward range of the sitemap index')
  t.match(plans.index.join('\n'), /^Limit\n\s+->\s+Index Only Scan using articles_sitemap_idx on articles\n[\s\S]*Limit\n\s+->\s+Index Only Scan Backward using articles_sitemap_idx on articles/, 'the next block, a block\'s lastmod: one seek each')
  t.match(news.join('\n'), /^Limit\n\s+->\s+Index Scan Backward using articles_status_published_idx on articles\n[\s\S]*InitPlan[\s\S]*Limit\n\s+->\s+Index (Only )?Scan Backward using articles_(status_)?published_idx/, 'the news window and its edge (max()): a published-date index, backwards')
  t.notMatch([...plans.page, ...plans.index, ...news].join('\n'), /Sort|Seq Scan|Bitmap/, 'no sort, no scan of the table')

  // The same answers through HTTP as the plans promise: page 3 holds ids 20,001..30,000 (100 rows, 90 published).
  a.clock.now = now
  const page = await get(a, '/sitemaps/articles-3.xml')
  t.equal(page.statusCode, 200)
  const locs = [...page.body.matchAll(/<loc>http:\/\/news\.example\/v1\/articles\/a-(\d+)<\/loc>/g)].map((m) => Number(m[1]))
  t.ok(locs.length > 80 && locs.every((id) => id > 2 * SITEMAP_PAGE_SIZE && id <= 3 * SITEMAP_PAGE_SIZE && id % 10 !== 3), 'the block\'s published articles only')
  const index = await get(a, '/sitemap.xml')
  t.equal([...index.body.matchAll(/articles-\d+\.xml/g)].length, 50, 'fifty pages')
})
