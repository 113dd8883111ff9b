// How tags and articles meet: implicit tags, renames and deletes seen from the articles, ?tag= filters.
import t from 'tap'
import { assertProblem, build, createArticle, type TestApp } from '../helper.js'

const getArticle = (a: TestApp, slug: string) => a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })
const listSlugs = async (a: TestApp, query: string) =>
  (await a.inject({ method: 'GET', url: `/v1/articles?${query}` })).json().data.map((x: { slug: string }) => x.slug)
const allTags = async (a: TestApp) =>
  (await a.as('editor', { method: 'GET', url: '/v1/tags?limit=100' })).json().data.map((x: { slug: string, name: string }) => `${x.slug}:${x.name}`)

t.test('articles create tags implicitly, matched by the slug of the name', async (t) => {
  const a = await build(t)
  const first = await createArticle(a, { title: 'One', tags: ['Japan', 'Trade Policy'] })
  t.same(first.tags, [{ slug: 'japan', name: 'Japan' }, { slug: 'trade-policy', name: 'Trade Policy' }])
  const second = await createArticle(a, { title: 'Two', tags: ['japan', ' JAPAN ', 'trade policy'] })
  t.same(second.tags, [{ slug: 'japan', name: 'Japan' }, { slug: 'trade-policy', name: 'Trade Policy' }], 'one tag, first name kept, duplicates collapse')
  t.same(await allTags(a), ['japan:Japan', 'trade-policy:Trade Policy'])
  const japan = await a.as('editor', { method: 'GET', url: '/v1/tags/japan' })
  t.equal(japan.json().articleCount, 2)
})

t.test('a renamed or custom-slugged tag is still found by its name: no twins', async (t) => {
  const a = await build(t)
  await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Korea', slug: 'kr' } })
  const art = await createArticle(a, { title: 'Seoul', tags: ['korea'] })
  t.same(art.tags, [{ slug: 'kr', name: 'Korea' }])
  await a.as('editor', { method: 'PATCH', url: '/v1/tags/kr', payload: { name: 'South Korea' } })
  const same = await a.as('editor', { method: 'PATCH', url: '/v1/articles/seoul', payload: { tags: ['South Korea'] } })
  t.equal(same.json().revision, 1, 'the same tag by its new name is no change')
  const old = await a.as('editor', { method: 'PATCH', url: '/v1/articles/seoul', payload: { tags: ['kr'] } })
  t.equal(old.json().revision, 1, 'nor by its slug')
  t.same(await allTags(a), ['kr:South Korea'])
})

t.test('a rename changes the tags and ETags of its articles, not their revision', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Tokyo talks', status: 'published', tags: ['Diplomacy', 'Japan'] })
  await createArticle(a, { title: 'Other', status: 'published', tags: ['Trade'] })
  const before = await getArticle(a, 'tokyo-talks')
  const other = await getArticle(a, 'other')
  a.clock.advance(5000)
  const renamed = await a.as('editor', { method: 'PATCH', url: '/v1/tags/japan', payload: { name: 'Nippon', slug: 'nippon' } })
  t.equal(renamed.statusCode, 200)
  const after = await getArticle(a, 'tokyo-talks')
  t.same(after.json().tags, [{ slug: 'diplomacy', name: 'Diplomacy' }, { slug: 'nippon', name: 'Nippon' }], 'order kept')
  t.not(after.headers.etag, before.headers.etag, 'its ETag changed')
  t.equal(after.json().revision, before.json().revision, 'its revision did not')
  t.equal(after.json().updatedAt, before.json().updatedAt, 'nor its updatedAt')
  t.equal((await getArticle(a, 'other')).headers.etag, other.headers.etag, 'an article without the tag is untouched')
  const stale = await a.as('editor', { method: 'PATCH', url: '/v1/articles/tokyo-talks', headers: { 'if-match': before.headers.etag as string }, payload: { title: 'X' } })
  assertProblem(t, stale, 412, 'precondition-failed')

  t.same(await listSlugs(a, 'tag=nippon'), ['tokyo-talks'])
  t.same(await listSlugs(a, 'tag=japan'), [], 'the old slug matches nothing')
  t.same(await listSlugs(a, 'tag=nippon&tag=diplomacy'), ['tokyo-talks'])
  t.same(await listSlugs(a, 'tag=nippon&tag=trade'), [])
})

t.test('a delete takes the tag off every article, not their revision', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'A', status: 'published', tags: ['Japan', 'Trade', 'Diplomacy'] })
  await createArticle(a, { title: 'B', status: 'published', tags: ['Trade'] })
  t.same(await listSlugs(a, 'tag=trade'), ['b', 'a'])
  t.same(await listSlugs(a, 'tag=japan&tag=trade'), ['a'])
  const before = await getArticle(a, 'a')
  a.clock.advance(5000)
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/tags/trade' })).statusCode, 204)
  const after = await getArticle(a, 'a')
  t.same(after.json().tags, [{ slug: 'japan', name: 'Japan' }, { slug: 'diplomacy', name: 'Diplomacy' }])
  t.same((await getArticle(a, 'b')).json().tags, [])
  t.not(after.headers.etag, before.headers.etag)
  t.equal(after.json().revision, 1)
  t.equal(after.json().updatedAt, before.json().updatedAt)
  t.same(await listSlugs(a, 'tag=trade'), [])
  t.same(await listSlugs(a, 'tag=japan&tag=trade'), [], 'all must match, and one no longer exists')
  t.same(await listSlugs(a, 'tag=japan&tag=diplomacy'), ['a'])
  // Naming the tag again creates a new one, which starts empty.
  const again = await a.as('editor', { method: 'PATCH', url: '/v1/articles/b', payload: { tags: ['Trade'] } })
  t.equal(again.json().revision, 2)
  t.same(await listSlugs(a, 'tag=trade'), ['b'])
})

t.test('bad tags on an article are refused and change nothing', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Kept', tags: ['Japan'] })
  const before = await getArticle(a, 'kept')
  const tagsBefore = await allTags(a)
  const cases: unknown[] = [
    Array.from({ length: 51 }, (_, i) => `Tag ${i}`),
    ['Fine', ''],
    ['Fine', '   '],
    ['Fine', '!!!'],
    ['Fine', 'x'.repeat(65)],
    ['Fine', 7]
  ]
  for (const tags of cases) {
    assertProblem(t, await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'New', tags } }), 422, 'validation')
    assertProblem(t, await a.as('editor', { method: 'PATCH', url: '/v1/articles/kept', payload: { tags } }), 422, 'validation')
  }
  const fifty = Array.from({ length: 50 }, (_, i) => `Tag ${i}`)
  t.equal((await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Fifty', tags: fifty } })).json().tags.length, 50, '50 is the limit')
  const now = await getArticle(a, 'kept')
  t.equal(now.headers.etag, before.headers.etag, 'the article did not change')
  t.same((await allTags(a)).filter((x: string) => !x.startsWith('tag-')), tagsBefore, 'no tag was created by a refused request')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/new' }), 404, 'not-found')
})
