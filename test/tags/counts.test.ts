// articleCount follows what each caller may see, under every path that changes visibility. The public sees
// a tag only while it has a visible article or was made through POST /v1/tags (contract section 4), so a
// tag whose articles all leave public view leaves the public's lists too.
import t, { type Test } from 'tap'
import { build, createArticle, type TestApp } from '../helper.js'

/** articleCount of each tag, from the list (both sorts) and from the single GET, which must agree. */
async function counts (t: Test, a: TestApp, role: 'public' | 'editor'): Promise<Record<string, number>> {
  const get = (url: string) => role === 'public' ? a.inject({ method: 'GET', url }) : a.as('editor', { method: 'GET', url })
  const byName = (await get('/v1/tags?limit=100')).json().data as { slug: string, articleCount: number }[]
  const byCount = (await get('/v1/tags?limit=100&sort=-articleCount')).json().data as { slug: string, articleCount: number }[]
  const out = Object.fromEntries(byName.map((x) => [x.slug, x.articleCount]))
  t.same(Object.fromEntries(byCount.map((x) => [x.slug, x.articleCount])), out, `${role}: both sorts agree`)
  for (const [slug, n] of Object.entries(out)) {
    t.equal((await get(`/v1/tags/${slug}`)).json().articleCount, n, `${role}: GET /v1/tags/${slug} agrees`)
  }
  return out
}

const patch = (a: TestApp, slug: string, payload: Record<string, unknown>) =>
  a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload })

t.test('publish, unpublish, schedule, delete and retag move the counts', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Live one', status: 'published', tags: ['Japan', 'Diplomacy'] })
  await createArticle(a, { title: 'Draft one', tags: ['Japan'] })
  t.same(await counts(t, a, 'public'), { diplomacy: 1, japan: 1 }, 'a draft does not count for the public')
  t.same(await counts(t, a, 'editor'), { diplomacy: 1, japan: 2 }, 'editors count drafts')

  t.equal((await patch(a, 'draft-one', { status: 'published' })).statusCode, 200)
  t.same(await counts(t, a, 'public'), { diplomacy: 1, japan: 2 }, 'publish')

  t.equal((await patch(a, 'live-one', { status: 'draft' })).statusCode, 200)
  t.same(await counts(t, a, 'public'), { japan: 1 }, 'unpublish: diplomacy is only on a draft now')
  t.equal((await patch(a, 'draft-one', { status: 'archived' })).statusCode, 200)
  t.same(await counts(t, a, 'public'), {}, 'archive')
  t.same(await counts(t, a, 'editor'), { diplomacy: 1, japan: 2 }, 'editors still count them')

  await createArticle(a, { title: 'Later', status: 'published', publishedAt: '2026-07-08T10:00:00.000Z', tags: ['Japan'] })
  t.same(await counts(t, a, 'public'), {}, 'scheduled: not yet')
  t.same(await counts(t, a, 'editor'), { diplomacy: 1, japan: 3 })
  a.clock.advance(60 * 60 * 1000)
  t.same(await counts(t, a, 'public'), { japan: 1 }, 'scheduled: due now')

  t.equal((await patch(a, 'later', { publishedAt: '2026-07-09T00:00:00.000Z' })).statusCode, 200)
  t.same(await counts(t, a, 'public'), {}, 'rescheduled into the future: gone again')
  t.equal((await patch(a, 'later', { publishedAt: '2026-07-08T09:30:00.000Z' })).statusCode, 200)
  t.same(await counts(t, a, 'public'), { japan: 1 }, 'and back')
  const moderator = await a.as('moderator', { method: 'GET', url: '/v1/tags/japan' })
  t.equal(moderator.json().articleCount, 1, 'a moderator counts as the public does')

  t.equal((await patch(a, 'later', { tags: ['Diplomacy', 'Trade'] })).statusCode, 200)
  t.same(await counts(t, a, 'public'), { diplomacy: 1, trade: 1 }, 'retagging')
  t.same(await counts(t, a, 'editor'), { diplomacy: 2, japan: 2, trade: 1 })

  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/articles/later' })).statusCode, 204)
  t.same(await counts(t, a, 'public'), {}, 'article delete')
  t.same(await counts(t, a, 'editor'), { diplomacy: 1, japan: 2, trade: 0 })
})

t.test('a tag rename and a tag delete keep the counts right, for both callers', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'A', status: 'published', tags: ['Japan'] })
  await createArticle(a, { title: 'B', status: 'published', tags: ['Japan', 'Trade'] })
  await createArticle(a, { title: 'C', tags: ['Japan', 'Trade'] })
  const renamed = await a.as('editor', { method: 'PATCH', url: '/v1/tags/japan', payload: { name: 'Nippon', slug: 'nippon' } })
  t.same(renamed.json(), { slug: 'nippon', name: 'Nippon', description: null, articleCount: 3 }, 'an editor sees every article in the response')
  t.same(await counts(t, a, 'public'), { nippon: 2, trade: 1 })
  t.same(await counts(t, a, 'editor'), { nippon: 3, trade: 2 })
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/tags/trade' })).statusCode, 204)
  t.same(await counts(t, a, 'public'), { nippon: 2 })
  t.same(await counts(t, a, 'editor'), { nippon: 3 })
  // Tagging again after a delete makes a fresh tag that starts from what the articles say.
  t.equal((await patch(a, 'c', { tags: ['Trade'] })).statusCode, 200)
  t.same(await counts(t, a, 'editor'), { nippon: 2, trade: 1 })
  t.same(await counts(t, a, 'public'), { nippon: 2 }, 'the new Trade is only on a draft')
})
