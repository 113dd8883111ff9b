// Feeds as HTTP resources: strong ETags, an honest Last-Modified, 304s from either validator, public
// caching headers, and the response cache.
import t from 'tap'
import { assertProblem, build, createArticle, type TestApp } from '../helper.js'
import { get } from './fixtures.js'

const SECOND = 1000
const stats = (a: TestApp) => a.app.responseCache.stats()

t.test('strong ETags; If-None-Match answers 304; public caching headers', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'One', body: 'Text', status: 'published' })
  for (const format of ['rss', 'atom', 'json']) {
    const url = `/feeds/${format}`
    const first = await get(a, url)
    t.match(first.headers.etag, /^"[\w-]+"$/, `${format}: a strong ETag`)
    t.equal(first.headers['cache-control'], 'public, max-age=0, must-revalidate')
    t.match(first.headers.vary, /Accept-Encoding/)
    const again = await get(a, url, { 'if-none-match': first.headers.etag as string })
    t.equal(again.statusCode, 304)
    t.equal(again.body, '')
    t.equal(again.headers.etag, first.headers.etag)
    t.equal(again.headers['cache-control'], 'public, max-age=0, must-revalidate')
    const head = await a.inject({ method: 'HEAD', url, headers: { host: 'news-api.example' } })
    t.equal(head.statusCode, 200)
    t.equal(head.headers.etag, first.headers.etag)
    assertProblem(t, await get(a, url, { 'if-match': '"stale"' }), 412, 'precondition-failed')
    assertProblem(t, await get(a, url, { 'if-none-match': 'not-a-tag' }), 422, 'validation')
    // A compressed representation has its own validator, which revalidates too.
    const gzip = await get(a, `${url}?limit=50`, { 'accept-encoding': 'gzip' })
    if (gzip.headers['content-encoding'] === 'gzip') {
      t.match(gzip.headers.etag, /\+gzip"$/)
      t.equal((await get(a, `${url}?limit=50`, { 'if-none-match': gzip.headers.etag as string })).statusCode, 304)
    }
  }
})

t.test('Last-Modified and If-Modified-Since, honest after a deletion', async (t) => {
  const a = await build(t)
  // The database's clock (kept by triggers for changes without a timestamp of their own) is the real
  // one; the app's starts a minute behind it, as if the server had just written.
  a.clock.now = Date.now() - 60 * SECOND
  const kept = await createArticle(a, { title: 'Kept', body: 'Text', status: 'published' })
  a.clock.advance(SECOND)
  const doomed = await createArticle(a, { title: 'Doomed', body: 'Text', status: 'published' })

  // In the same second as the last change, Last-Modified is held back: a later change in that second
  // would carry the same date.
  const sameSecond = await get(a, '/feeds/atom')
  t.equal(sameSecond.headers['last-modified'], undefined)
  a.clock.advance(2 * SECOND)
  const res = await get(a, '/feeds/atom')
  const lastModified = res.headers['last-modified'] as string
  t.equal(lastModified, new Date(Date.parse(doomed.updatedAt)).toUTCString(), 'the newest entry\'s time')

  const since = async (date: string, headers: Record<string, string> = {}) => get(a, '/feeds/atom', { 'if-modified-since': date, ...headers })
  t.equal((await since(lastModified)).statusCode, 304, 'not modified since its own date')
  t.equal((await since(new Date(Date.parse(lastModified) + 3600 * SECOND).toUTCString())).statusCode, 304, 'nor since later')
  t.equal((await since(new Date(Date.parse(lastModified) - SECOND).toUTCString())).statusCode, 200, 'modified since a second before')
  t.equal((await since('yesterday')).statusCode, 200, 'a date that is not an HTTP date is ignored')
  t.equal((await since(lastModified, { 'if-none-match': '"other"' })).statusCode, 200, 'If-None-Match wins over If-Modified-Since')
  t.equal((await since(lastModified, { 'if-none-match': res.headers.etag as string })).statusCode, 304)
  assertProblem(t, await since(lastModified, { 'if-match': '"stale"' }), 412, 'precondition-failed')

  // Deleting the newest entry leaves only older timestamps in the feed: Last-Modified still moves on.
  const hits = stats(a).hits
  t.equal((await since(lastModified)).statusCode, 304)
  t.equal(stats(a).hits, hits + 1, 'a 304 from the response cache')
  await a.as('editor', { method: 'DELETE', url: `/v1/articles/${doomed.slug}` })
  t.equal((await since(lastModified)).statusCode, 200, 'the deletion shows at once')
  a.clock.now = Date.now() + 2 * SECOND
  const after = await get(a, '/feeds/atom')
  t.notMatch(after.body, /Doomed/)
  t.match(after.body, new RegExp(kept.title))
  t.ok(Date.parse(after.headers['last-modified'] as string) > Date.parse(lastModified), 'a later Last-Modified')
  t.equal((await since(after.headers['last-modified'] as string)).statusCode, 304)
  t.equal((await since(lastModified)).statusCode, 200)
})

t.test('every change that alters a feed moves its Last-Modified', async (t) => {
  const a = await build(t, { commentModeration: 'none' })
  // The real clock for the app too, as in production: the triggers that date changes without a timestamp
  // of their own read the database's clock, which is the real one.
  Object.defineProperty(a.clock, 'now', { get: () => Date.now(), set: () => undefined })
  const article = await createArticle(a, { title: 'Story', body: 'Text', status: 'published', tags: ['Navy'], section: 'World', authors: ['Anna'] })
  await createArticle(a, { title: 'Older', body: 'Text', status: 'published', tags: ['Navy'], publishedAt: new Date(Date.now() - 3600 * SECOND).toISOString() })
  const comment = (await a.inject({ method: 'POST', url: `/v1/articles/${article.slug}/comments`, payload: { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Hi' } })).json()
  const feeds = ['/feeds/rss', '/feeds/rss?tag=navy', '/feeds/rss?section=World', '/feeds/rss?author=Anna', `/feeds/rss?comments=${article.slug}`]

  /** For each feed: whether a client holding it from before `change` is still told it is current (304). */
  async function stillCurrentAfter (change: () => Promise<unknown>): Promise<boolean[]> {
    // Into the next second, so that the last change's second is over and Last-Modified is sent.
    await new Promise((resolve) => setTimeout(resolve, SECOND - (Date.now() % SECOND) + 5))
    const before = await Promise.all(feeds.map(async (url) => (await get(a, url)).headers['last-modified']))
    t.ok(before.every((d) => typeof d === 'string'), 'Last-Modified on every feed')
    await change()
    return Promise.all(feeds.map(async (url, i) => (await get(a, url, { 'if-modified-since': String(before[i]) })).statusCode === 304))
  }

  const edit = (payload: object) => () => a.as('editor', { method: 'PATCH', url: `/v1/articles/${article.slug}`, payload })
  const all = (value: boolean) => feeds.map(() => value)
  t.same(await stillCurrentAfter(async () => undefined), all(true), 'nothing changed: every feed is current')
  t.same(await stillCurrentAfter(edit({ title: 'Story, updated' })), all(false), 'an edit')
  t.same(await stillCurrentAfter(edit({ tags: [] })), all(false), 'a tag removed (the article leaves the tag feed)')
  t.same(await stillCurrentAfter(() => a.as('editor', { method: 'PATCH', url: '/v1/tags/navy', payload: { name: 'Fleet' } })), all(false), 'a tag renamed')
  t.same(await stillCurrentAfter(() => a.as('moderator', { method: 'PATCH', url: `/v1/comments/${comment.id}`, payload: { status: 'spam' } })), all(false), 'a comment withdrawn')
  t.same(await stillCurrentAfter(edit({ publishedAt: new Date(Date.now() - 7200 * SECOND).toISOString() })), all(false), 'backdated below another')
  t.same(await stillCurrentAfter(edit({ authors: [] })), all(false), 'an author removed')
})

t.test('the response cache serves feeds, with their Last-Modified, and forgets them on time', async (t) => {
  const a = await build(t)
  a.clock.now = Date.now() - 60 * SECOND
  await createArticle(a, { title: 'Cached', body: 'Text', status: 'published' })
  await a.settled()
  // In the second of the last change: no Last-Modified yet, and the cached copy lasts only that second.
  const early = await get(a, '/feeds/rss')
  t.equal(early.headers['last-modified'], undefined)
  const hits = stats(a).hits
  const earlyAgain = await get(a, '/feeds/rss')
  t.equal(stats(a).hits, hits + 1, 'a hit within the second')
  t.equal(earlyAgain.body, early.body)
  a.clock.advance(SECOND)
  const later = await get(a, '/feeds/rss')
  t.equal(stats(a).hits, hits + 1, 'a miss once the second is over')
  t.type(later.headers['last-modified'], 'string', 'now with Last-Modified')
  const laterAgain = await get(a, '/feeds/rss')
  t.equal(stats(a).hits, hits + 2)
  const { date: _d1, 'x-request-id': _r1, ...h1 } = later.headers
  const { date: _d2, 'x-request-id': _r2, ...h2 } = laterAgain.headers
  t.same(h2, h1, 'the same headers from the cache')
  t.equal((await get(a, '/feeds/rss', { 'if-modified-since': later.headers['last-modified'] as string })).statusCode, 304)
})
