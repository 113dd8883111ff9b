// Protocol corners (issue 13, item 12).
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

t.test('an unknown method on a known path is a 405 before any body is read', async (t) => {
  const a = await build(t, { bodyLimit: 1024 })
  // QUERY without Content-Type was a 400: Fastify refuses it while reading the body, before routing's 405.
  for (const method of ['QUERY', 'PROPFIND', 'SEARCH'] as const) {
    const res = await a.inject({ method: method as 'GET', url: '/v1/articles' })
    assertProblem(t, res, 405, 'method-not-allowed')
    t.equal(res.headers.allow, 'GET, HEAD, POST', method)
  }
  assertProblem(t, await a.inject({ method: 'QUERY' as 'GET', url: '/v1/nowhere' }), 404, 'not-found')
  // Nor does a body too large or of another type turn a 405 or 404 into a 413 or 415.
  const big = await a.inject({ method: 'PUT', url: '/v1/articles', headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(5000) })
  assertProblem(t, big, 405, 'method-not-allowed')
  assertProblem(t, await a.inject({ method: 'POST', url: '/v1/nowhere', headers: { 'content-type': 'text/plain' }, payload: 'x' }), 404, 'not-found')
})

t.test('a 304 from the response cache carries the same headers as one computed afresh', async (t) => {
  const cached = await build(t)
  const fresh = await build(t, { responseCacheMb: 0 })
  const names = async (a: Awaited<ReturnType<typeof build>>) => {
    await createArticle(a, { title: 'One', status: 'published' })
    await createArticle(a, { title: 'Two', status: 'published' })
    const url = '/v1/articles?limit=1'
    const first = await a.inject({ method: 'GET', url })
    t.match(first.headers.link, /rel="next"/, 'the page has a next link')
    t.match(first.headers['content-type'], /json/)
    const hits = a.app.responseCache.stats().hits
    const revalidated = await a.inject({ method: 'GET', url, headers: { 'if-none-match': first.headers.etag as string } })
    t.equal(revalidated.statusCode, 304)
    t.equal(revalidated.body, '')
    return { headers: revalidated.headers, hit: a.app.responseCache.stats().hits > hits }
  }
  const fromCache = await names(cached)
  const computed = await names(fresh)
  t.ok(fromCache.hit, 'served by the response cache')
  t.notOk(computed.hit, 'computed by the route')
  for (const r of [fromCache.headers, computed.headers]) {
    t.notOk(r['content-type'], 'no Content-Type on a 304')
    t.notOk(r.link, 'no Link on a 304')
  }
  const keys = (h: Record<string, unknown>) => Object.keys(h).filter((k) => !['date', 'x-request-id'].includes(k)).sort()
  t.same(keys(fromCache.headers), keys(computed.headers), 'the same header names')
})

t.test('request bodies may be gzip, deflate or br; limits apply to the decoded body', async (t) => {
  const a = await build(t)
  const json = (title: string) => JSON.stringify({ title })
  const codings: Array<[string, (s: string) => Buffer]> = [
    ['gzip', (s) => gzipSync(s)], ['deflate', (s) => deflateSync(s)], ['br', (s) => brotliCompressSync(s)], ['identity', (s) => Buffer.from(s)]
  ]
  for (const [coding, encode] of codings) {
    const res = await a.as('editor', { method: 'POST', url: '/v1/articles', headers: { 'content-type': 'application/json', 'content-encoding': coding }, payload: encode(json(`Sent ${coding}`)) })
    t.equal(res.statusCode, 201, coding)
    t.equal(res.json().title, `Sent ${coding}`)
  }
  const patched = await a.as('editor', { method: 'PATCH', url: '/v1/articles/sent-gzip', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipSync(JSON.stringify({ summary: 'Compressed patch' })) })
  t.equal(patched.json().summary, 'Compressed patch')

  const unsupported = await a.as('editor', { method: 'POST', url: '/v1/articles', headers: { 'content-type': 'application/json', 'content-encoding': 'compress' }, payload: json('x') })
  assertProblem(t, unsupported, 415, 'unsupported-media-type')
  const garbled = await a.as('editor', { method: 'POST', url: '/v1/articles', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: Buffer.from('not gzip at all') })
  assertProblem(t, garbled, 400, 'malformed-request')

  // A gzip bomb: 16 KB on the wire, 16 MiB decoded, against the 1 MiB limit.
  const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024, 0x20))
  t.ok(bomb.length < 64 * 1024, `${bomb.length} bytes sent`)
  const exploded = await a.as('editor', { method: 'POST', url: '/v1/articles', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: bomb })
  assertProblem(t, exploded, 413, 'payload-too-large')
  const total = await a.as('editor', { method: 'GET', url: '/v1/articles?include=total' })
  t.equal(total.json().page.total, 4, 'nothing else was created')

  const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json()
  let withBody = 0
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(item)) {
      if (op.requestBody === undefined) continue
      withBody++
      const header = (op.parameters ?? []).find((p: { in: string, name: string }) => p.in === 'header' && p.name === 'content-encoding')
      // The codings are the named enum ContentEncoding, referenced by each operation.
      t.equal(header?.schema?.$ref, '#/components/schemas/ContentEncoding', `${method.toUpperCase()} ${path} documents Content-Encoding`)
    }
  }
  t.ok(withBody >= 6)
  t.same(doc.components.schemas.ContentEncoding.enum, ['gzip', 'deflate', 'br', 'identity'], 'the codings the server decodes')
})

t.test('integer ids in paths are plain decimal', async (t) => {
  const a = await build(t, { commentModeration: 'none' })
  await createArticle(a, { title: 'Ids', status: 'published' })
  const comment = await a.inject({ method: 'POST', url: '/v1/articles/ids/comments', payload: { authorName: 'R', authorEmail: 'r@example.com', body: 'One.' } })
  t.equal(comment.json().id, 1)
  t.equal((await a.inject({ method: 'GET', url: '/v1/comments/1' })).statusCode, 200)
  for (const id of ['0x1', '%201', '1%20', '01', '1e0', '+1', '1.0', '0b1', '-1', '9007199254740993']) {
    const res = await a.inject({ method: 'GET', url: `/v1/comments/${id}` })
    t.match(assertProblem(t, res, 422, 'validation').errors, [{ in: 'path', pointer: '/id' }], `/v1/comments/${id}`)
    const patch = await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${id}`, payload: { status: 'spam' } })
    assertProblem(t, patch, 422, 'validation')
    assertProblem(t, await a.as('admin', { method: 'DELETE', url: `/v1/tokens/${id}` }), 422, 'validation')
  }
  t.equal((await a.inject({ method: 'GET', url: '/v1/comments/1' })).json().status, 'approved', 'nothing changed')
  // The same rule for integers in the query string.
  for (const limit of ['0x2', '02', '2.0', ' 2']) {
    const res = await a.inject({ method: 'GET', url: `/v1/articles?limit=${encodeURIComponent(limit)}` })
    t.match(assertProblem(t, res, 422, 'validation').errors, [{ in: 'query', pointer: '/limit' }], `limit=${limit}`)
  }
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles?limit=2' })).statusCode, 200)
})
