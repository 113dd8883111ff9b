import t from 'tap'
import { assertProblem, build, createArticle, onSqlite } from '../helper.js'

t.test('malformed, oversized and non-JSON bodies', async (t) => {
  const a = await build(t, { bodyLimit: 4096 })
  const post = (payload: string, contentType = 'application/json') =>
    a.as('editor', { method: 'POST', url: '/v1/articles', payload, headers: { 'content-type': contentType } })

  assertProblem(t, await post('{"title": '), 400, 'malformed-request')
  assertProblem(t, await post(''), 400, 'malformed-request')
  assertProblem(t, await post('title=hi', 'application/x-www-form-urlencoded'), 415, 'unsupported-media-type')
  assertProblem(t, await post('hello', 'text/plain'), 415, 'unsupported-media-type')
  assertProblem(t, await post(JSON.stringify({ title: 'x', body: 'y'.repeat(5000) })), 413, 'payload-too-large')
  const list = await a.as('editor', { method: 'GET', url: '/v1/articles' })
  t.equal(list.json().data.length, 0, 'nothing was created')
})

t.test('schema violations are 422 with pointers, and change nothing', onSqlite, async (t) => {
  const a = await build(t)
  const cases: Array<[Record<string, unknown>, string, string | StringConstructor]> = [
    [{}, '/title', 'is required'],
    [{ title: '' }, '/title', String],
    [{ title: 'x'.repeat(301) }, '/title', String],
    [{ title: 42 }, '/title', 'must be string'],
    [{ title: 'ok', unknown: 1 }, '/unknown', 'is not a known field'],
    [{ title: 'ok', summary: 'x'.repeat(1001) }, '/summary', String],
    [{ title: 'ok', tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, '/tags', String],
    [{ title: 'ok', tags: [''] }, '/tags/0', String],
    [{ title: 'ok', tags: ['x'.repeat(65)] }, '/tags/0', String],
    [{ title: 'ok', tags: ['!!!'] }, '/tags/0', 'must contain a letter or digit'],
    [{ title: 'ok', authors: Array.from({ length: 21 }, (_, i) => `a${i}`) }, '/authors', String],
    [{ title: 'ok', status: 'live' }, '/status', String],
    [{ title: 'ok', commentsOpen: 'yes' }, '/commentsOpen', String],
    [{ title: 'ok', section: 'x'.repeat(101) }, '/section', String]
  ]
  for (const [payload, pointer, message] of cases) {
    const res = await a.as('editor', { method: 'POST', url: '/v1/articles', payload })
    const problem = assertProblem(t, res, 422, 'validation')
    t.match(problem.errors, [{ in: 'body', pointer, message }], JSON.stringify(payload).slice(0, 80))
  }
  const list = await a.as('editor', { method: 'GET', url: '/v1/articles?include=total' })
  t.equal(list.json().page.total, 0, 'nothing was created')
  const tags = await a.app.db.$client.prepare('SELECT count(*) AS n FROM tags').get() as { n: number }
  t.equal(tags.n, 0, 'no tag was created by a rejected request')
})

t.test('unknown query parameters and out-of-range limits are rejected, not ignored', async (t) => {
  const a = await build(t)
  const unknown = assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?colour=red' }), 422, 'validation')
  t.match(unknown.errors, [{ in: 'query', pointer: '/colour', message: 'is not a known query parameter' }])
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?limit=500' }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?limit=0' }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?limit=abc' }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: '/health?x=1' }), 422, 'validation')
})

t.test('authentication and roles', async (t) => {
  const a = await build(t)
  const anonymous = await a.inject({ method: 'POST', url: '/v1/articles', payload: { title: 'x' } })
  assertProblem(t, anonymous, 401, 'unauthorized')
  t.match(anonymous.headers['www-authenticate'], /^Bearer/)
  const wrong = await a.inject({ method: 'POST', url: '/v1/articles', payload: { title: 'x' }, headers: { authorization: 'Bearer gz_nope' } })
  assertProblem(t, wrong, 401, 'unauthorized')
  const basic = await a.inject({ method: 'GET', url: '/v1/articles', headers: { authorization: 'Basic dXNlcjpwYXNz' } })
  assertProblem(t, basic, 401, 'unauthorized')
  const moderator = await a.as('moderator', { method: 'POST', url: '/v1/articles', payload: { title: 'x' } })
  assertProblem(t, moderator, 403, 'forbidden')
  const tokens = await a.as('editor', { method: 'GET', url: '/v1/tokens' })
  assertProblem(t, tokens, 403, 'forbidden')
  // Authentication comes before validation: an anonymous caller learns nothing about the schema.
  const anonymousInvalid = await a.inject({ method: 'POST', url: '/v1/articles', payload: { nope: 1 } })
  assertProblem(t, anonymousInvalid, 401, 'unauthorized')
})

t.test('unknown routes are 404, wrong methods 405 with Allow', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Here', status: 'published' })
  const missing = assertProblem(t, await a.inject({ method: 'GET', url: '/v1/nothing' }), 404, 'not-found')
  t.equal(missing.instance, '/v1/nothing')
  const put = await a.inject({ method: 'PUT', url: '/v1/articles/here' })
  assertProblem(t, put, 405, 'method-not-allowed')
  t.equal(put.headers.allow, 'GET, HEAD, PATCH, DELETE')
  const del = await a.inject({ method: 'DELETE', url: '/v1/articles' })
  assertProblem(t, del, 405, 'method-not-allowed')
  t.equal(del.headers.allow, 'GET, HEAD, POST')
})

t.test('request ids', async (t) => {
  const a = await build(t)
  const echoed = await a.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123' } })
  t.equal(echoed.headers['x-request-id'], 'abc-123')
  const made = await a.inject({ method: 'GET', url: '/v1/nothing', headers: { 'x-request-id': 'bad id with spaces' } })
  t.match(made.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})

t.test('an unexpected error is a 500 problem naming only the request id', onSqlite, async (t) => {
  const a = await build(t)
  a.app.db.$client.exec('DROP TABLE article_tags')
  const res = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Boom', tags: ['x'] } })
  const problem = assertProblem(t, res, 500, 'internal')
  t.match(problem.detail, res.headers['x-request-id'] as string)
  t.notMatch(res.body, /article_tags|SQL|at \w+ \(/, 'no SQL or stack trace')
})
