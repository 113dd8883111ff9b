// Feeds of a slice (a tag, a section, an author) and of an article's comments; scheduled articles, stable
// ids, and what an editor's token changes (nothing).
import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'
import { get, HOST, newsroom } from './fixtures.js'

t.test('slices: a tag, a section, an author; unknown or hidden ones are 404', async (t) => {
  const a = await build(t)
  await newsroom(a)
  const titles = async (url: string, format = 'json') => (await get(a, url.replace('/feeds/json', `/feeds/${format}`))).json().items.map((i: { title: string }) => i.title)
  t.same(await titles('/feeds/json?tag=navy'), ['Pacific Fleet returns to Vladivostok'])
  t.same(await titles('/feeds/json?tag=russia'), ['Wire: grain exports rise', 'Pacific Fleet returns to Vladivostok'])
  t.same(await titles('/feeds/json?section=Economy'), ['Wire: grain exports rise'])
  t.same(await titles('/feeds/json?author=Anna%20Petrova'), ['Pacific Fleet returns to Vladivostok'])
  t.same(await titles('/feeds/json?tag=russia&section=Economy'), ['Wire: grain exports rise'], 'filters combine')
  t.same(await titles('/feeds/json?tag=navy&section=Economy'), [], 'known filters with nothing in common: an empty feed')
  t.same(await titles('/feeds/json?limit=1'), ['Wire: grain exports rise'], 'limit')
  const tagFeed = (await get(a, '/feeds/json?tag=navy')).json()
  t.equal(tagFeed.title, 'Gazette: Navy')
  t.equal(tagFeed.feed_url, `http://${HOST}/feeds/json?tag=navy`)

  for (const query of ['tag=no-such-tag', 'tag=draft-only-tag', 'section=Nowhere', 'section=Secret%20section', 'author=Nobody', 'author=Ghost%20Writer']) {
    for (const format of ['rss', 'atom', 'json']) assertProblem(t, await get(a, `/feeds/${format}?${query}`), 404, 'not-found')
  }
  assertProblem(t, await get(a, '/feeds/xml'), 404, 'not-found')
  assertProblem(t, await get(a, '/feeds/atom?comments=pacific-fleet-returns-to-vladivostok&tag=navy'), 422, 'validation')
  assertProblem(t, await get(a, '/feeds/atom?limit=101'), 422, 'validation')
  assertProblem(t, await get(a, '/feeds/atom?limit=0'), 422, 'validation')
  assertProblem(t, await get(a, '/feeds/atom?format=atom'), 422, 'validation')
  assertProblem(t, await get(a, '/feeds/atom?tag=Not%20A%20Slug'), 422, 'validation')

  // An editor's token shows no drafts in a feed: feeds are what the public sees.
  const asEditor = await a.as('editor', { method: 'GET', url: '/feeds/json?tag=navy', headers: { host: HOST } })
  t.same(asEditor.json().items.map((i: { title: string }) => i.title), ['Pacific Fleet returns to Vladivostok'])
  t.equal(asEditor.headers['cache-control'], 'private, no-store')
})

t.test('a scheduled article appears when due, in every feed, cached or not', async (t) => {
  const a = await build(t)
  await newsroom(a)
  await a.settled()
  const navy = async () => (await get(a, '/feeds/atom?tag=navy')).body
  t.notMatch(await navy(), /Scheduled navy piece/)
  t.notMatch(await navy(), /Scheduled navy piece/, 'served again (from the response cache)')
  t.ok(a.app.responseCache.stats().hits > 0)
  a.clock.advance(3_600_000)
  t.match(await navy(), /Scheduled navy piece/, 'due now')
  t.match((await get(a, '/feeds/rss?author=Anna%20Petrova')).body, /Scheduled navy piece/)
  t.equal((await get(a, '/feeds/json?section=Economy')).json().items[0].title, 'Scheduled navy piece', 'newest first')
})

t.test('stable ids: a new title or slug changes the link, never the id', async (t) => {
  const a = await build(t)
  const article = await createArticle(a, { title: 'First title', body: 'Text', status: 'published' })
  const before = (await get(a, '/feeds/json')).json().items[0]
  a.clock.advance(1000)
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${article.slug}`, payload: { title: 'Second title', slug: 'second-title' } })
  const after = (await get(a, '/feeds/json')).json().items[0]
  t.equal(after.id, before.id)
  t.equal(after.title, 'Second title')
  t.equal(after.url, `http://${HOST}/v1/articles/second-title`)
  t.not(after.date_modified, before.date_modified)
})
