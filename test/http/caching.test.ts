import t from 'tap'
import { build, createArticle } from '../helper.js'

const REVALIDATE = 'public, max-age=0, must-revalidate'

t.test('Cache-Control: public reads revalidate, token responses and errors are never stored', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Cached', status: 'published' })
  await createArticle(a, { title: 'Renamed', slug: 'old-name', status: 'published' })
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/old-name', payload: { slug: 'new-name' } })

  const cases: Array<[string, Promise<{ statusCode: number, headers: Record<string, unknown> }>, number, string]> = [
    ['public article', a.inject({ method: 'GET', url: '/v1/articles/cached' }), 200, REVALIDATE],
    ['public list', a.inject({ method: 'GET', url: '/v1/articles' }), 200, REVALIDATE],
    ['public HEAD', a.inject({ method: 'HEAD', url: '/v1/articles/cached' }), 200, REVALIDATE],
    ['moved slug', a.inject({ method: 'GET', url: '/v1/articles/old-name' }), 301, REVALIDATE],
    ['health', a.inject({ method: 'GET', url: '/health' }), 200, REVALIDATE],
    ['editor read', a.as('editor', { method: 'GET', url: '/v1/articles/cached' }), 200, 'private, no-store'],
    ['editor list', a.as('editor', { method: 'GET', url: '/v1/articles' }), 200, 'private, no-store'],
    ['bad token', a.inject({ method: 'GET', url: '/v1/articles', headers: { authorization: 'Bearer nope' } }), 401, 'private, no-store'],
    ['write', a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'New' } }), 201, 'private, no-store'],
    ['not found', a.inject({ method: 'GET', url: '/v1/articles/missing' }), 404, 'no-store'],
    ['invalid query', a.inject({ method: 'GET', url: '/v1/articles?limit=0' }), 422, 'no-store'],
    ['method not allowed', a.inject({ method: 'PUT', url: '/v1/articles' }), 405, 'no-store']
  ]
  for (const [name, pending, status, cacheControl] of cases) {
    const res = await pending
    t.equal(res.statusCode, status, name)
    t.equal(res.headers['cache-control'], cacheControl, name)
    t.equal(res.headers.vary, 'Authorization, Accept-Encoding', `${name}: Vary`)
  }
  const etag = (await a.inject({ method: 'GET', url: '/v1/articles/cached' })).headers.etag as string
  const notModified = await a.inject({ method: 'GET', url: '/v1/articles/cached', headers: { 'if-none-match': etag } })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.headers['cache-control'], REVALIDATE, 'a 304 repeats the caching headers')
  t.equal(notModified.headers.vary, 'Authorization, Accept-Encoding')
  t.equal(notModified.headers.etag, etag)
})

t.test('compression: brotli or gzip for bodies of 1 KiB or more, with a coding-specific ETag', async (t) => {
  const { brotliDecompressSync, gunzipSync } = await import('node:zlib')
  const a = await build(t)
  await createArticle(a, { title: 'Long read', status: 'published', body: 'All the news. '.repeat(400) })
  const plain = await a.inject({ method: 'GET', url: '/v1/articles/long-read' })
  t.notOk(plain.headers['content-encoding'], 'no Accept-Encoding, no compression')

  const gzip = await a.inject({ method: 'GET', url: '/v1/articles/long-read', headers: { 'accept-encoding': 'gzip' } })
  t.equal(gzip.headers['content-encoding'], 'gzip')
  t.same(JSON.parse(gunzipSync(gzip.rawPayload).toString()), plain.json())
  t.ok(gzip.rawPayload.length < plain.rawPayload.length / 3, 'smaller')
  t.equal(gzip.headers.etag, `${(plain.headers.etag as string).slice(0, -1)}+gzip"`, 'the ETag names the coded representation')
  t.equal(gzip.headers.vary, 'Authorization, Accept-Encoding', 'one Vary, each name once')

  const head = await a.inject({ method: 'HEAD', url: '/v1/articles/long-read', headers: { 'accept-encoding': 'gzip' } })
  t.equal(head.headers['content-encoding'], 'gzip', 'HEAD describes what GET would send')
  t.equal(head.headers.etag, gzip.headers.etag)
  t.equal(head.body, '')

  const br = await a.inject({ method: 'GET', url: '/v1/articles/long-read', headers: { 'accept-encoding': 'gzip, br' } })
  t.equal(br.headers['content-encoding'], 'br')
  t.same(JSON.parse(brotliDecompressSync(br.rawPayload).toString()), plain.json())

  // Either validator revalidates, and the 304 names the one the client holds.
  const cached = await a.inject({ method: 'GET', url: '/v1/articles/long-read', headers: { 'accept-encoding': 'gzip', 'if-none-match': gzip.headers.etag as string } })
  t.equal(cached.statusCode, 304)
  t.equal(cached.headers.etag, gzip.headers.etag)
  const crossed = await a.inject({ method: 'GET', url: '/v1/articles/long-read', headers: { 'if-none-match': br.headers.etag as string } })
  t.equal(crossed.statusCode, 304)
  // A compressed response's ETag works for If-Match on a write.
  const patched = await a.as('editor', { method: 'PATCH', url: '/v1/articles/long-read', headers: { 'if-match': gzip.headers.etag as string }, payload: { summary: 'Short' } })
  t.equal(patched.statusCode, 200)

  const small = await a.inject({ method: 'GET', url: '/health', headers: { 'accept-encoding': 'gzip, br' } })
  t.notOk(small.headers['content-encoding'], 'a small body is sent as is')
  const problem = await a.inject({ method: 'GET', url: '/v1/nothing', headers: { 'accept-encoding': 'gzip' } })
  t.notOk(problem.headers['content-encoding'])
  t.match(problem.headers['content-type'], /^application\/problem\+json/)
})

t.test('security headers suit a JSON API, and Swagger UI still works on /docs', async (t) => {
  const a = await build(t)
  const api = await a.inject({ method: 'GET', url: '/v1/articles' })
  t.equal(api.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'")
  t.equal(api.headers['x-content-type-options'], 'nosniff')
  t.equal(api.headers['x-frame-options'], 'DENY')
  t.equal(api.headers['referrer-policy'], 'no-referrer')
  t.match(api.headers['strict-transport-security'], /max-age=\d+/)
  t.equal(api.headers['cross-origin-resource-policy'], 'cross-origin', 'front ends on other origins may read it')
  const error = await a.inject({ method: 'GET', url: '/v1/nothing' })
  t.equal(error.headers['x-content-type-options'], 'nosniff', 'errors too')

  const docs = await a.inject({ method: 'GET', url: '/docs/' })
  t.equal(docs.statusCode, 200)
  const csp = docs.headers['content-security-policy'] as string
  t.match(csp, /script-src 'self'/, 'Swagger UI may load its scripts')
  t.match(csp, /style-src 'self'/)
  t.notMatch(csp, /upgrade-insecure-requests/, 'works on a plain-HTTP local server')
  const script = await a.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })
  t.equal(script.statusCode, 200)
  t.match(script.body, /openapi|json/i)
})
