// Tags on both engines (src/tags/repository.pg.ts, sweeper.pg.ts beside their SQLite twins): the same HTTP
// story answers the same on SQLite and on PostgreSQL — lists by name (case-insensitively) and by count, every
// page to the end with totals, name prefixes, what the public sees (never a tag only drafts or scheduled
// articles carry, never a draft in a count), a scheduled article falling due with no write, create, rename,
// re-slug and delete with If-Match, what articles then show, the event log. (The sweeper and two processes
// on one PostgreSQL: test/pg/tags-race.test.ts.)
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { assertProblem, build, createArticle, eventLog, sameOnBothEngines, type Engine, type TestApp } from '../helper.js'

const HOUR = 3600_000

interface TagItem { slug: string, name: string, articleCount: number }

/** Every page of a tag list, `limit=3`, following nextCursor and the Link header: the items and each page's answer. */
async function walk (t: Test, a: TestApp, query: string, role?: 'editor'): Promise<{ items: [string, number][], total: number | undefined, answers: unknown[] }> {
  const items: [string, number][] = []
  const answers: unknown[] = []
  let total: number | undefined
  let url: string | undefined = `/v1/tags?limit=3&include=total${query}`
  while (url !== undefined) {
    const res: LightMyRequestResponse = role === undefined ? await a.inject({ method: 'GET', url }) : await a.as(role, { method: 'GET', url })
    t.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 200)}`)
    const body = res.json() as { data: TagItem[], page: { total?: number, nextCursor: string | null } }
    if (answers.length === 0) total = body.page.total
    items.push(...body.data.map((x): [string, number] => [x.slug, x.articleCount]))
    answers.push([res.headers.etag, res.headers.link ?? null, res.body])
    const next = body.page.nextCursor
    // The next page is this request with the cursor (which the first page's Link keeps include=total in).
    t.equal(res.headers.link, next === null ? undefined : `<${url.replace(/&cursor=.*$/, '')}&cursor=${next}>; rel="next"`)
    url = next === null ? undefined : `/v1/tags?limit=3${query}&cursor=${next}`
  }
  return { items, total, answers }
}

/** The lists a reader may ask for, as the public and as an editor. */
const LISTS = ['', '&sort=-articleCount', '&q=AC', '&q=100%25', '&sort=-articleCount&q=a_']

async function lists (t: Test, a: TestApp): Promise<unknown[]> {
  const out: unknown[] = []
  for (const query of LISTS) out.push(await walk(t, a, query), await walk(t, a, query, 'editor'))
  return out
}

async function tagStory (t: Test, engine: Engine): Promise<unknown[]> {
  const a = await build(t, {}, { engine })
  t.equal(a.app.storage.engine, engine)
  const seen: unknown[] = []
  const answer = (res: LightMyRequestResponse) => [res.statusCode, res.headers.etag ?? null, res.headers.location ?? null, res.body]

  // Tags made by articles (published, a draft, a scheduled one, an archived one) and on purpose.
  await createArticle(a, { title: 'Market report', status: 'published', tags: ['Business', 'apple', 'Banana'] })
  await createArticle(a, { title: 'Harvest', status: 'published', tags: ['banana split', 'Apple', 'Cherry'] })
  await createArticle(a, { title: 'Secret deal', tags: ['Acme Merger', 'Business', 'Cherry'] })
  await createArticle(a, { title: 'Embargoed', status: 'published', publishedAt: new Date(a.clock.now + HOUR).toISOString(), tags: ['Acme Results', 'Cherry'] })
  await createArticle(a, { title: 'Old news', status: 'archived', publishedAt: '2026-01-01T00:00:00.000Z', tags: ['Acme Archive'] })
  for (const name of ['Acme Watch', '100% Pure', '1000 Days', 'a_b', 'axb']) {
    const made = await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name, description: `About ${name}.` } })
    t.equal(made.statusCode, 201)
    seen.push(answer(made))
  }
  assertProblem(t, await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'BUSINESS' } }), 409, 'conflict')
  assertProblem(t, await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Other', slug: 'business' } }), 409, 'conflict')

  // What each caller sees: a draft's tag or a scheduled one's never reaches the public, nor a draft a count.
  const before = await lists(t, a)
  const publicSlugs = (before[0] as { items: [string, number][] }).items
  t.same(publicSlugs, [['100-pure', 0], ['1000-days', 0], ['a-b', 0], ['acme-watch', 0], ['apple', 2], ['axb', 0], ['banana', 1], ['banana-split', 1], ['business', 1], ['cherry', 1]],
    'by name case-insensitively (`%` and `_` before letters), counting published articles only')
  t.notOk(publicSlugs.some(([s]) => ['acme-merger', 'acme-results', 'acme-archive'].includes(s)), 'no tag of a hidden article')
  t.same(Object.fromEntries(publicSlugs)['cherry'], 1, 'the draft and the scheduled article do not count')
  t.same(Object.fromEntries((before[1] as { items: [string, number][] }).items)['cherry'], 3, 'an editor counts them')
  t.same((before[4] as { items: [string, number][] }).items.map(([s]) => s), ['acme-watch'], 'q=AC: only the public tag, case-insensitively')
  t.same((before[5] as { items: [string, number][] }).items.map(([s]) => s), ['acme-archive', 'acme-merger', 'acme-results', 'acme-watch'], 'an editor sees them all')
  t.same((before[6] as { items: [string, number][] }).items.map(([s]) => s), ['100-pure'], '% is not a wildcard')
  t.same((before[8] as { items: [string, number][] }).items.map(([s]) => s), ['a-b'], '_ is not a wildcard')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/tags/acme-merger' }), 404, 'not-found')
  seen.push(before, answer(await a.as('editor', { method: 'GET', url: '/v1/tags/acme-merger' })), answer(await a.inject({ method: 'GET', url: '/v1/tags/cherry' })))

  // The scheduled article falls due: its tag shows and counts with no write at that moment, then settled.
  a.clock.advance(2 * HOUR)
  const due = await lists(t, a)
  t.equal(Object.fromEntries((due[0] as { items: [string, number][] }).items)['cherry'], 2, 'due: counted')
  t.ok((due[0] as { items: [string, number][] }).items.some(([s]) => s === 'acme-results'), 'due: its tag is public')
  await a.app.upkeep.settle()
  t.same(await lists(t, a), due, 'settling changes no answer')
  seen.push(due)

  // Rename and re-slug with If-Match: a stale one changes nothing; articles show the new name and slug.
  // (An editor's ETag: an editor's view of a tag counts drafts, so it is another representation.)
  const banana = await a.as('editor', { method: 'GET', url: '/v1/tags/banana' })
  const stale = await a.as('editor', { method: 'PATCH', url: '/v1/tags/banana', headers: { 'if-match': '"stale"' }, payload: { name: 'Plantain' } })
  assertProblem(t, stale, 412, 'precondition-failed')
  const renamed = await a.as('editor', { method: 'PATCH', url: '/v1/tags/banana', headers: { 'if-match': banana.headers.etag as string }, payload: { name: 'Plantain', slug: 'plantain' } })
  t.equal(renamed.statusCode, 200)
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/tags/banana' }), 404, 'not-found')
  assertProblem(t, await a.as('editor', { method: 'PATCH', url: '/v1/tags/plantain', payload: { name: 'Apple' } }), 409, 'conflict')
  const report = await a.inject({ method: 'GET', url: '/v1/articles/market-report' })
  t.match(report.json().tags, [{ slug: 'business' }, { slug: 'apple' }, { slug: 'plantain', name: 'Plantain' }])
  const byTag = await a.inject({ method: 'GET', url: '/v1/articles?tag=plantain' })
  t.same(byTag.json().data.map((x: { slug: string }) => x.slug), ['market-report'])
  seen.push(stale.statusCode, answer(renamed), answer(report), answer(byTag))

  // Delete with If-Match: gone at once for every reader and from every article; then swept; then made anew.
  const cherry = await a.as('editor', { method: 'GET', url: '/v1/tags/cherry' })
  assertProblem(t, await a.as('editor', { method: 'DELETE', url: '/v1/tags/cherry', headers: { 'if-match': renamed.headers.etag as string } }), 412, 'precondition-failed')
  const deleted = await a.as('editor', { method: 'DELETE', url: '/v1/tags/cherry', headers: { 'if-match': cherry.headers.etag as string } })
  t.equal(deleted.statusCode, 204)
  assertProblem(t, await a.as('editor', { method: 'GET', url: '/v1/tags/cherry' }), 404, 'not-found')
  const harvest = await a.as('editor', { method: 'GET', url: '/v1/articles/harvest' })
  t.same(harvest.json().tags.map((x: { slug: string }) => x.slug), ['banana-split', 'apple'], 'an article no longer shows a deleted tag')
  t.equal(harvest.json().revision, 1, 'and keeps its revision')
  t.same((await a.inject({ method: 'GET', url: '/v1/articles?tag=cherry' })).json().data, [])
  const gone = await lists(t, a)
  await a.app.upkeep.sweep()
  t.same(await walk(t, a, '', 'editor'), gone[1], 'sweeping changes no answer')
  const retagged = await a.as('editor', { method: 'PATCH', url: '/v1/articles/secret-deal', payload: { tags: ['Cherry'], status: 'published' } })
  t.match(retagged.json().tags, [{ slug: 'cherry', name: 'Cherry' }])
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags/cherry' })).json().articleCount, 1, 'a fresh tag counts from what the articles say')
  seen.push(answer(deleted), answer(harvest), gone, answer(retagged), await walk(t, a, ''))

  // What the event log told consumers: the tags the public saw, the scheduled publication in its place.
  const log = await eventLog(a)
  seen.push(log.map((e) => [e.type, e.data.slug, e.data.articleCount ?? null, e.occurredAt]))
  t.ok(log.some((e) => e.type === 'tag.deleted' && e.data.slug === 'cherry'), 'tag.deleted')
  t.notOk(log.some((e) => e.type.startsWith('tag.') && String(e.data.slug).startsWith('acme-merger')), 'nothing about a draft\'s tag')
  return seen
}

t.test('tags answer the same on SQLite and on PostgreSQL', (t) => sameOnBothEngines(t, 19, tagStory))
