// Absolute URLs in feeds and sitemaps: PUBLIC_URL when set, else the request's origin, which then keys
// the response cache, so a forged Host never changes what another client receives. Forwarded headers
// count only from a trusted proxy. ARTICLE_URL_TEMPLATE makes the reader-facing links.
import t from 'tap'
import { assertProblem, build, createArticle, type TestApp } from '../helper.js'

const feed = (a: TestApp, headers: Record<string, string>, url = '/feeds/json', remoteAddress?: string) =>
  a.inject({ method: 'GET', url, headers, ...(remoteAddress === undefined ? {} : { remoteAddress }) })

t.test('without PUBLIC_URL, each origin gets its own links, and a forged Host reaches no one else', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Story', body: 'Text', status: 'published' })
  await a.settled()
  const stats = () => a.app.responseCache.stats()

  const good = await feed(a, { host: 'news.example' })
  t.equal(good.json().items[0].url, 'http://news.example/v1/articles/story')
  const forged = await feed(a, { host: 'evil.example' })
  t.equal(forged.json().items[0].url, 'http://evil.example/v1/articles/story', 'the forger gets its own origin back')
  const hits = stats().hits
  const goodAgain = await feed(a, { host: 'news.example' })
  t.equal(stats().hits, hits + 1, 'served from the cache')
  t.equal(goodAgain.body, good.body, 'and still the right origin')
  t.equal((await feed(a, { host: 'NEWS.example:80' })).body, good.body, 'the same origin spelt otherwise shares its entry')
  t.equal(stats().hits, hits + 2)
  t.equal((await feed(a, { host: 'evil.example' })).body, forged.body)

  // Sitemaps too.
  const sitemap = await feed(a, { host: 'evil.example' }, '/sitemaps/articles-1.xml')
  t.match(sitemap.body, /http:\/\/evil\.example\/v1\/articles\/story/)
  t.match((await feed(a, { host: 'news.example' }, '/sitemaps/articles-1.xml')).body, /http:\/\/news\.example\/v1\/articles\/story/)
  t.notMatch((await feed(a, { host: 'news.example' }, '/sitemap.xml')).body, /evil/)

  // A Host that is not a host name is refused, and changes nothing for others.
  for (const host of ['evil.example"><script>', 'a b', 'news.example/path', 'user@news.example']) {
    assertProblem(t, await feed(a, { host }), 400, 'malformed-request')
  }
  t.equal((await feed(a, { host: 'news.example' })).body, good.body)
  // The JSON API keeps relative links and one cache entry whatever the Host.
  t.equal((await feed(a, { host: 'evil.example' }, '/v1/articles')).headers.link, undefined)
})

t.test('forwarded headers count only from a trusted proxy', async (t) => {
  const forwarded = { host: 'internal:3000', 'x-forwarded-host': 'news.example', 'x-forwarded-proto': 'https' }
  const untrusted = await build(t)
  await createArticle(untrusted, { title: 'Story', body: 'Text', status: 'published' })
  t.equal((await feed(untrusted, forwarded)).json().items[0].url, 'http://internal:3000/v1/articles/story', 'TRUST_PROXY unset: ignored')

  const proxied = await build(t, { trustProxy: ['10.0.0.1'] })
  await createArticle(proxied, { title: 'Story', body: 'Text', status: 'published' })
  t.equal((await feed(proxied, forwarded, '/feeds/json', '10.0.0.1')).json().items[0].url, 'https://news.example/v1/articles/story', 'from the proxy: honoured')
  t.equal((await feed(proxied, forwarded, '/feeds/json', '192.0.2.7')).json().items[0].url, 'http://internal:3000/v1/articles/story', 'from anyone else: ignored')
  t.equal((await feed(proxied, forwarded, '/feeds/json', '10.0.0.1')).json().items[0].url, 'https://news.example/v1/articles/story', 'and the cache keeps them apart')
})

t.test('PUBLIC_URL and ARTICLE_URL_TEMPLATE make every link, whatever the Host', async (t) => {
  const a = await build(t, {
    publicUrl: 'https://api.news.example',
    articleUrlTemplate: 'https://news.example/{section}/{year}/{month}/{slug}-{id}.html',
    publicName: 'The Daily Example',
    publicLanguage: 'pt-br'
  })
  await createArticle(a, { title: 'Story', body: 'Text', status: 'published', section: 'Politics & Diplomacy' })
  await createArticle(a, { title: 'No section', body: 'Text', status: 'published' })
  await a.settled()
  const json = (await feed(a, { host: 'evil.example' })).json()
  t.equal(json.title, 'The Daily Example')
  t.equal(json.language, 'pt-br')
  t.equal(json.feed_url, 'https://api.news.example/feeds/json')
  t.equal(json.home_page_url, 'https://news.example/')
  t.same(json.items.map((i: { url: string }) => i.url), [
    'https://news.example/2026/07/no-section-2.html',
    'https://news.example/politics-and-diplomacy/2026/07/story-1.html'
  ], 'sections as slugs; no section, no segment')
  t.match(json.items[0].id, /^tag:news\.example,2026-07-08:article\/2$/)
  const hits = a.app.responseCache.stats().hits
  t.equal((await feed(a, { host: 'other.example' })).json().feed_url, 'https://api.news.example/feeds/json')
  t.equal(a.app.responseCache.stats().hits, hits + 1, 'one cache entry for every Host')
  t.match((await feed(a, { host: 'x' }, '/sitemaps/news.xml')).body, /<news:language>pt<\/news:language>/)
  t.match((await feed(a, { host: 'x' }, '/sitemaps/news.xml')).body, /<news:name>The Daily Example<\/news:name>/)

  // The served OpenAPI document names PUBLIC_URL; the committed one keeps `/` (test/openapi.test.ts).
  const doc = (await feed(a, {}, '/openapi.json')).json()
  t.equal(doc.servers[0].url, 'https://api.news.example')
  t.same(doc.servers.map((s: { url: string }) => s.url), ['https://api.news.example', '/'])
  const plain = await build(t)
  t.same((await feed(plain, {}, '/openapi.json')).json().servers, [{ url: '/' }])
})
