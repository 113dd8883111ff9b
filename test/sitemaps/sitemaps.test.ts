// Sitemaps (API.md section 8): an index of pages of at most 10,000 URLs, each page a block of article
// ids, and a Google News sitemap of the last 48 hours, valid against the sitemaps.org XSDs (xmllint),
// listing exactly what the public may see, with lastmod.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { assertProblem, build, createArticle, type TestApp, onSqlite } from '../helper.js'
import { SITEMAP_PAGE_SIZE } from '../../src/syndication/repository.js'
import { invalidAgainst, notWellFormed, skipWithoutXmllint, xsd } from '../xml.js'

const HOST = 'news.example'
const get = (a: TestApp, url: string, headers: Record<string, string> = {}) => a.inject({ method: 'GET', url, headers: { host: HOST, ...headers } })
const HOUR = 3_600_000

/** The next article created gets this id: sitemap pages are blocks of ids (on either engine: TEST_ENGINE). */
async function nextId (a: TestApp, id: number): Promise<void> {
  if (a.pg === undefined) a.app.db.$client.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'articles'").run(id - 1)
  else await a.pg.db.execute(sql`SELECT setval(pg_get_serial_sequence('articles', 'id'), ${id - 1})`)
}

const locs = (xml: string): string[] => [...xml.matchAll(/<loc>([^<]*)<\/loc>/g)].map((m) => m[1]!)
const w3c = (iso: string): string => iso.replace(/\.\d{3}Z$/, 'Z')

t.test('index, pages by blocks of ids, lastmod; nothing hidden; valid against the XSDs', { skip: skipWithoutXmllint || onSqlite.skip }, async (t) => {
  const a = await build(t)
  a.clock.advance(-100 * HOUR)
  const old = await createArticle(a, { title: 'Old story', body: 'Text', status: 'published', section: 'World' })
  await createArticle(a, { title: 'A draft', body: 'Text', status: 'draft' })
  await nextId(a, SITEMAP_PAGE_SIZE + 5)
  a.clock.advance(50 * HOUR)
  const second = await createArticle(a, { title: 'On page two', body: 'Text', status: 'published' })
  await createArticle(a, { title: 'Archived', body: 'Text', status: 'archived', publishedAt: new Date(a.clock.now).toISOString() })
  await nextId(a, 3 * SITEMAP_PAGE_SIZE + 1)
  a.clock.advance(49 * HOUR)
  const fourth = await createArticle(a, { title: 'Fresh on page four', body: 'Text', status: 'published' })
  await createArticle(a, { title: 'Scheduled', body: 'Text', status: 'published', publishedAt: new Date(a.clock.now + HOUR).toISOString() })
  t.equal(second.id, SITEMAP_PAGE_SIZE + 5)
  t.equal(fourth.id, 3 * SITEMAP_PAGE_SIZE + 1)
  a.clock.advance(60_000)
  // An edit after publication: lastmod is the later of the two.
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${old.slug}`, payload: { summary: 'Updated' } })
  const oldNow = (await get(a, `/v1/articles/${old.slug}`)).json()

  const index = await get(a, '/sitemap.xml')
  t.equal(index.statusCode, 200)
  t.match(index.headers['content-type'], /^application\/xml; charset=utf-8$/)
  t.equal(invalidAgainst(index.body, xsd.siteindex), undefined, 'the index is valid')
  t.same(locs(index.body), [
    `http://${HOST}/sitemaps/articles-1.xml`, `http://${HOST}/sitemaps/articles-2.xml`, `http://${HOST}/sitemaps/articles-4.xml`, `http://${HOST}/sitemaps/news.xml`
  ], 'pages with a visible article, and the news sitemap')
  t.match(index.body, new RegExp(`articles-1\\.xml</loc><lastmod>${w3c(oldNow.updatedAt)}</lastmod>`), 'a page\'s lastmod is its latest article\'s')

  const pages: Record<number, string[]> = { 1: [old.slug + ''], 2: [second.slug], 4: [fourth.slug] }
  for (const [n, slugs] of Object.entries(pages)) {
    const page = await get(a, `/sitemaps/articles-${n}.xml`)
    t.equal(page.statusCode, 200)
    t.equal(invalidAgainst(page.body, xsd.urlset), undefined, `page ${n} is valid`)
    t.same(locs(page.body), slugs.map((s) => `http://${HOST}/v1/articles/${s}`), `page ${n}: its visible articles`)
  }
  t.match((await get(a, '/sitemaps/articles-1.xml')).body, `<lastmod>${w3c(oldNow.updatedAt)}</lastmod>`)
  assertProblem(t, await get(a, '/sitemaps/articles-3.xml'), 404, 'not-found')
  assertProblem(t, await get(a, '/sitemaps/articles-99999.xml'), 404, 'not-found')
  for (const bad of ['0', '01', '-1', '1e3', 'x', '%201']) assertProblem(t, await get(a, `/sitemaps/articles-${bad}.xml`), 422, 'validation')
  assertProblem(t, await get(a, '/sitemaps/articles-1.xml?x=1'), 422, 'validation')

  for (const url of ['/sitemap.xml', '/sitemaps/articles-1.xml', '/sitemaps/articles-2.xml', '/sitemaps/articles-4.xml', '/sitemaps/news.xml']) {
    t.notMatch((await get(a, url)).body, /a-draft|archived|scheduled/, `${url}: nothing hidden`)
  }

  // The scheduled article appears when due, in its page and in the news sitemap.
  a.clock.advance(HOUR)
  t.match((await get(a, '/sitemaps/articles-4.xml')).body, /\/scheduled</)
  t.match((await get(a, '/sitemaps/news.xml')).body, /\/scheduled</)
})

t.test('the Google News sitemap: the last 48 hours, valid, and on time', { skip: skipWithoutXmllint }, async (t) => {
  const a = await build(t, { publicName: 'The <Daily> & Example', publicLanguage: 'zh-Hant-TW' })
  await createArticle(a, { title: 'Two days old', body: 'Text', status: 'published' })
  a.clock.advance(47 * HOUR)
  const hostile = 'Tom & Jerry ]]> <script>alert(1)</script> \u0001\u000b end'
  await createArticle(a, { title: hostile, body: 'Text', status: 'published' })
  await createArticle(a, { title: 'Draft', body: 'Text', status: 'draft' })
  a.clock.advance(60_000)
  await a.settled()

  const news = await get(a, '/sitemaps/news.xml')
  t.equal(news.statusCode, 200)
  t.equal(invalidAgainst(news.body, xsd.news), undefined, 'valid: sitemap.xsd with the News schema')
  t.equal(locs(news.body).length, 2)
  t.match(news.body, '<news:name>The &lt;Daily&gt; &amp; Example</news:name><news:language>zh-tw</news:language>')
  t.match(news.body, '<news:title>Tom &amp; Jerry ]]&gt; &lt;script&gt;alert(1)&lt;/script&gt;  end</news:title>', 'escaped, control characters dropped')
  t.notMatch(news.body, /Draft/)

  // Served from the cache until the oldest entry leaves the window, then no longer.
  const hits = a.app.responseCache.stats().hits
  await get(a, '/sitemaps/news.xml')
  t.equal(a.app.responseCache.stats().hits, hits + 1)
  a.clock.advance(HOUR - 60_000 - 1)
  t.equal(locs((await get(a, '/sitemaps/news.xml')).body).length, 2, 'one millisecond before 48 hours')
  a.clock.advance(1)
  const later = await get(a, '/sitemaps/news.xml')
  t.equal(locs(later.body).length, 1, 'gone at 48 hours')
  t.match((await get(a, '/sitemap.xml')).body, /news\.xml/)

  // Once the window is empty, the sitemap is an empty (well-formed) urlset and the index drops it.
  a.clock.advance(48 * HOUR)
  const empty = await get(a, '/sitemaps/news.xml')
  t.equal(empty.statusCode, 200)
  t.equal(notWellFormed(empty.body), undefined)
  t.same(locs(empty.body), [])
  t.notMatch((await get(a, '/sitemap.xml')).body, /news\.xml/)
})

t.test('conditional requests and caching headers', async (t) => {
  const a = await build(t)
  a.clock.now = Date.now() - 60_000
  await createArticle(a, { title: 'Story', body: 'Text', status: 'published' })
  a.clock.advance(2000)
  for (const url of ['/sitemap.xml', '/sitemaps/articles-1.xml', '/sitemaps/news.xml']) {
    const res = await get(a, url)
    t.equal(res.headers['cache-control'], 'public, max-age=0, must-revalidate')
    t.match(res.headers.etag, /^"[\w-]+"$/)
    t.type(res.headers['last-modified'], 'string', `${url}: Last-Modified`)
    t.equal((await get(a, url, { 'if-none-match': res.headers.etag as string })).statusCode, 304)
    t.equal((await get(a, url, { 'if-modified-since': res.headers['last-modified'] as string })).statusCode, 304)
  }
})

t.test('an empty site: an empty index, no pages', { skip: skipWithoutXmllint }, async (t) => {
  const a = await build(t)
  const index = await get(a, '/sitemap.xml')
  t.equal(index.statusCode, 200)
  t.equal(notWellFormed(index.body), undefined)
  t.same(locs(index.body), [])
  assertProblem(t, await get(a, '/sitemaps/articles-1.xml'), 404, 'not-found')
})
