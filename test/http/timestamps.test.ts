// Every timestamp the API accepts is one it can store and compare exactly (issue 13, item 5): RFC 3339,
// to the millisecond, years 0001–9999 in UTC, no leap second. Anything else is a 422 with a pointer, in
// bodies and in query filters alike, and changes nothing.
import t from 'tap'
import fc from 'fast-check'
import { parseTimestamp, toIso } from '../../src/http/time.js'
import { assertProblem, build, createArticle } from '../helper.js'

const refused = [
  '2016-12-31T23:59:60.000Z', // a leap second: Date cannot represent it (it became NaN, stored as NULL)
  '2017-01-01T01:59:60+02:00',
  '0000-01-01T00:00:00.000Z', // year 0 is not a year of the calendar RFC 3339 uses
  '0001-01-01T00:30:00+01:00', // year 0 in UTC
  '9999-12-31T23:59:59.999-23:59', // year 10000 in UTC: no four-digit rendering
  '2021-07-08T09:15:00.0001Z', // finer than a millisecond: it would be stored rounded
  '2021-07-08T09:15:00.1234567Z',
  '2021-07-08T09:15:00+0530', // RFC 3339 offsets have a colon
  '2021-02-29T00:00:00.000Z',
  '2021-07-08T09:15:00'
]

const accepted: Array<[string, string]> = [
  ['2021-07-08T09:15:00.000Z', '2021-07-08T09:15:00.000Z'],
  ['2021-07-08T09:15:00Z', '2021-07-08T09:15:00.000Z'],
  ['2021-07-08t09:15:00.5z', '2021-07-08T09:15:00.500Z'],
  ['2021-07-08T11:15:00.120000+02:00', '2021-07-08T09:15:00.120Z'],
  ['0001-01-01T00:00:00.000Z', '0001-01-01T00:00:00.000Z'],
  ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z']
]

t.test('publishedAt: refused unless storable exactly', async (t) => {
  const a = await build(t)
  for (const value of refused) {
    const created = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Leap', status: 'published', publishedAt: value } })
    const problem = assertProblem(t, created, 422, 'validation')
    t.match(problem.errors, [{ in: 'body', pointer: '/publishedAt' }], value)
  }
  const list = await a.as('editor', { method: 'GET', url: '/v1/articles?include=total' })
  t.equal(list.json().page.total, 0, 'nothing was created')

  await createArticle(a, { title: 'Kept', status: 'published', publishedAt: '2021-07-08T09:15:00.000Z' })
  for (const value of refused) {
    const patched = await a.as('editor', { method: 'PATCH', url: '/v1/articles/kept', payload: { publishedAt: value } })
    t.match(assertProblem(t, patched, 422, 'validation').errors, [{ in: 'body', pointer: '/publishedAt' }], value)
  }
  const kept = await a.inject({ method: 'GET', url: '/v1/articles/kept' })
  t.equal(kept.statusCode, 200, 'still published')
  t.equal(kept.json().publishedAt, '2021-07-08T09:15:00.000Z')

  for (const [value, stored] of accepted) {
    const patched = await a.as('editor', { method: 'PATCH', url: '/v1/articles/kept', payload: { publishedAt: value } })
    t.equal(patched.statusCode, 200, value)
    t.equal(patched.json().publishedAt, stored, `${value} is stored as ${stored}`)
  }
})

t.test('publishedAfter and publishedBefore: refused unless comparable exactly', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Old', status: 'published', publishedAt: '2016-12-31T23:59:59.000Z' })
  for (const name of ['publishedAfter', 'publishedBefore']) {
    for (const value of refused) {
      const res = await a.inject({ method: 'GET', url: `/v1/articles?${name}=${encodeURIComponent(value)}` })
      t.match(assertProblem(t, res, 422, 'validation').errors, [{ in: 'query', pointer: `/${name}` }], `${name}=${value}`)
    }
  }
  const after = await a.inject({ method: 'GET', url: `/v1/articles?publishedBefore=${encodeURIComponent('2017-01-01T00:59:59.000+01:00')}` })
  t.same(after.json().data.map((x: { slug: string }) => x.slug), ['old'], 'an offset names the same instant')
})

t.test('toIso renders every storable instant as Date does', async (t) => {
  const first = parseTimestamp('0001-01-01T00:00:00.000Z')!
  const last = parseTimestamp('9999-12-31T23:59:59.999Z')!
  const edges = [first, last, 0, -1, 1, 86_399_999, 86_400_000, -86_400_000, -86_400_001, Date.parse('2024-02-29T23:59:59.999Z')]
  for (const ms of edges) t.equal(toIso(ms), new Date(ms).toISOString(), `${ms}`)
  fc.assert(fc.property(fc.integer({ min: first, max: last }), (ms) => toIso(ms) === new Date(ms).toISOString()), { numRuns: 20_000, seed: 20261201 })
  // The same instants again, now from the per-day cache.
  for (const ms of edges) t.equal(toIso(ms), new Date(ms).toISOString(), `${ms}, again`)
})
