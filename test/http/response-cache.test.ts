// The public response cache (src/plugins/public-cache.ts): served only while provably current.
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import Database from 'better-sqlite3'
import type { FastifyReply, FastifyRequest, LightMyRequestResponse } from 'fastify'
import { Type } from 'typebox'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import { NotModified } from '../../src/http/schemas.js'
import { VERSION_POLL_MS } from '../../src/plugins/public-cache.js'
import { declareWrite } from '../../src/db/change-clock.js'
import { assertProblem, authorEdit, build, createArticle, metric, postComment, postWithToken, scrape, type TestApp, onSqlite } from '../helper.js'
import { loadNative } from '../../src/db/native.js'

const stats = (a: TestApp) => a.app.responseCache.stats()
const get = (a: TestApp, url: string, headers: Record<string, string> = {}) => a.inject({ method: 'GET', url, headers })

/** The headers a client sees, without the ones that differ on every response. */
function sameHeaders (res: LightMyRequestResponse): Record<string, unknown> {
  const { date: _date, 'x-request-id': _id, ...rest } = res.headers
  return rest
}

t.test('a public read is served again from memory, byte for byte and header for header', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Cached', body: 'Body '.repeat(400), status: 'published', tags: ['news'] })
  for (let i = 0; i < 25; i++) await createArticle(a, { title: `Filler ${i}`, body: 'x', status: 'published' })
  await a.settled()

  for (const url of ['/v1/articles/cached', '/v1/articles?limit=5', '/v1/tags/news', '/v1/articles/cached/comments']) {
    const before = stats(a)
    const first = await get(a, url)
    t.equal(first.statusCode, 200, url)
    const second = await get(a, url)
    t.equal(stats(a).hits, before.hits + 1, `${url}: the second read is a hit`)
    t.equal(second.body, first.body, `${url}: same body`)
    t.same(sameHeaders(second), sameHeaders(first), `${url}: same headers`)
  }
  // The Link header of a list page comes back with it.
  t.match((await get(a, '/v1/articles?limit=5')).headers.link, /rel="next"/)

  // Compression, CORS and 304s apply to a cached body as to any other.
  const gzip = await get(a, '/v1/articles/cached', { 'accept-encoding': 'gzip', origin: 'https://front.example' })
  t.equal(gzip.headers['content-encoding'], 'gzip')
  t.match(gzip.headers.etag, /\+gzip"$/)
  t.equal(gzip.headers['access-control-allow-origin'], '*')
  const hitsBefore = stats(a).hits
  const revalidated = await get(a, '/v1/articles/cached', { 'if-none-match': gzip.headers.etag as string })
  t.equal(revalidated.statusCode, 304)
  t.equal(revalidated.body, '')
  t.equal(revalidated.headers.etag, gzip.headers.etag, 'the validator the client holds')
  t.equal(stats(a).hits, hitsBefore + 1)
  assertProblem(t, await get(a, '/v1/articles/cached', { 'if-none-match': 'not-a-tag' }), 422, 'validation')
})

// A hit answered from a variant's prepared headers (src/plugins/public-cache.ts) must be, on the wire,
// what a fresh answer is: the same status, the same header lines in the same order (all but Date and
// X-Request-Id), the same body bytes. Over real sockets, for every variant: Accept-Encoding absent,
// gzip, or a browser's; Origin absent, listed or not (CORS_ORIGINS as a list, and `*`); GET and HEAD;
// If-None-Match (the identity and the coded validator: 304s) and If-Modified-Since; a client's own
// X-Request-Id. The fresh answers come from a second app on the same file with the cache off.
interface Wire { status: number, lines: string[], id: string | undefined, body: Buffer }

function wire (port: number, method: string, url: string, headers: Record<string, string>): Promise<Wire> {
  return new Promise((resolve, reject) => {
    // One Host for both apps: feeds and sitemaps hold absolute URLs made from it.
    const req = httpRequest({ host: '127.0.0.1', port, method, path: url, headers: { host: 'news.example', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const lines: string[] = []
        let id: string | undefined
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase()
          if (name === 'x-request-id') id = res.rawHeaders[i + 1]
          else if (name !== 'date') lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`)
        }
        resolve({ status: res.statusCode!, lines, id, body: Buffer.concat(chunks) })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function listening (t: Test, config: Partial<typeof defaultConfig>): Promise<{ a: TestApp, port: number, freshPort: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-variants-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const databasePath = join(dir, 'gazette.db')
  const a = await build(t, { ...config, databasePath })
  const fresh = await buildApp({
    config: {
      ...defaultConfig,
      ...config,
      databasePath,
      seedDemo: false,
      maxEventLoopDelay: 0,
      queryBudgetMs: 10_000,
      responseCacheMb: 0,
      ...(a.pg === undefined ? {} : { postgres: { url: a.pg.url, poolSize: 2 } })
    },
    clock: () => a.clock.now
  })
  t.teardown(() => fresh.close())
  await a.app.listen({ host: '127.0.0.1', port: 0 })
  await fresh.listen({ host: '127.0.0.1', port: 0 })
  const portOf = (app: typeof fresh) => (app.server.address() as AddressInfo).port
  return { a, port: portOf(a.app), freshPort: portOf(fresh) }
}

for (const cors of [['https://front.example'], '*'] as const) {
  t.test(`a hit from prepared headers is a fresh answer on the wire, in every variant (CORS_ORIGINS=${String(cors)})`, async (t) => {
    const { a, port, freshPort } = await listening(t, { corsOrigins: cors === '*' ? '*' : [...cors] })
    await createArticle(a, { title: 'Long read', body: 'Paragraph of the long read. '.repeat(200), status: 'published', tags: ['News'] })
    await createArticle(a, { title: 'Brief', body: 'x', summary: 'Short.', status: 'published' })
    for (let i = 0; i < 4; i++) await createArticle(a, { title: `Filler ${i}`, body: 'x', status: 'published' })
    a.clock.advance(5_000) // past the second of the last change: feeds send Last-Modified
    await a.settled()
    const urls = ['/v1/articles/long-read', '/v1/articles/brief', '/v1/articles?limit=2', '/v1/tags/news', '/feeds/rss', '/sitemap.xml']
    const codings: Record<string, string>[] = [{}, { 'accept-encoding': 'gzip' }, { 'accept-encoding': 'gzip, deflate, br' }]
    const origins: Record<string, string>[] = [{}, { origin: 'https://front.example' }, { origin: 'https://elsewhere.example' }]
    const ids = new Set<string>()
    let compressed = 0
    for (const url of urls) {
      for (const coding of codings) {
        for (const origin of origins) {
          const headers: Record<string, string> = { ...coding, ...origin }
          const name = `${url} ${JSON.stringify(headers)}`
          const fresh = await wire(freshPort, 'GET', url, headers)
          t.equal(fresh.status, 200, name)
          if (/content-encoding/i.test(fresh.lines.join('\n'))) compressed++
          // The first answer of a variant may be a miss or a hit through the whole pipeline; from the
          // second on, it comes from the prepared headers.
          await wire(port, 'GET', url, headers)
          for (const method of ['GET', 'HEAD', 'GET']) {
            const before = stats(a)
            const hit = await wire(port, method, url, headers)
            t.equal(stats(a).prepared, before.prepared + 1, `${method} ${name}: from the prepared headers`)
            const expected = method === 'GET' ? fresh : await wire(freshPort, 'HEAD', url, headers)
            t.equal(hit.status, expected.status, `${method} ${name}: status`)
            t.same(hit.lines, expected.lines, `${method} ${name}: every header line, in order`)
            t.ok(hit.body.equals(expected.body), `${method} ${name}: the same bytes`)
            t.match(hit.id, /^[0-9a-f-]{36}$/, `${method} ${name}: a request id`)
            t.notOk(ids.has(hit.id!), `${method} ${name}: a new request id`)
            ids.add(hit.id!)
          }
          // Conditionals take the whole pipeline, and still answer from memory as a fresh app would.
          const etag = fresh.lines.find((l) => /^etag:/i.test(l))!.replace(/^etag: /i, '')
          const lastModified = fresh.lines.find((l) => /^last-modified:/i.test(l))?.replace(/^last-modified: /i, '')
          const conditionals: Record<string, string>[] = [
            { 'if-none-match': etag }, { 'if-none-match': etag.replace(/\+\w+"$/, '"') }, { 'if-none-match': '"other"' },
            ...(lastModified === undefined ? [] : [{ 'if-modified-since': lastModified }])
          ]
          for (const condition of conditionals) {
            const h = { ...headers, ...condition }
            const before = stats(a)
            const hit = await wire(port, 'GET', url, h)
            const expected = await wire(freshPort, 'GET', url, h)
            t.equal(stats(a).hits, before.hits + 1, `${name} ${JSON.stringify(condition)}: from memory`)
            t.equal(stats(a).prepared, before.prepared, `${name} ${JSON.stringify(condition)}: through the pipeline`)
            t.equal(hit.status, expected.status, `${name} ${JSON.stringify(condition)}: status`)
            t.same(hit.lines, expected.lines, `${name} ${JSON.stringify(condition)}: every header line, in order`)
            t.ok(hit.body.equals(expected.body), `${name} ${JSON.stringify(condition)}: the same bytes`)
          }
        }
      }
    }
    t.ok(compressed >= 8, `compressed variants were compared (${compressed})`)
    // A client's own request id is echoed by a prepared hit too.
    const echoed = await wire(port, 'GET', '/v1/articles/long-read', { 'x-request-id': 'client-id-1' })
    t.equal(echoed.id, 'client-id-1')
  })
}

t.test('prepared answers step aside while requests are shed, and for searches (each one counts)', async (t) => {
  const a = await build(t, { searchRateLimit: 100 })
  await createArticle(a, { title: 'Shed', body: 'Text', status: 'published' })
  for (let i = 0; i < 2; i++) await get(a, '/v1/articles/shed')
  let before = stats(a)
  await get(a, '/v1/articles/shed')
  t.equal(stats(a).prepared, before.prepared + 1, 'prepared')
  const shedding = a.app.shedding
  a.app.shedding = () => true
  t.teardown(() => { a.app.shedding = shedding })
  before = stats(a)
  await get(a, '/v1/articles/shed')
  t.equal(stats(a).prepared, before.prepared, 'not while shedding: the request goes through the limits first')
  a.app.shedding = shedding

  const remaining: string[] = []
  for (let i = 0; i < 4; i++) remaining.push(String((await get(a, '/v1/articles?q=shed')).headers['ratelimit-remaining']))
  t.same(remaining, ['99', '98', '97', '96'], 'every search counts, from memory too')
  t.ok(stats(a).hits > before.hits + 1, 'searches were answered from memory')
})

t.test('a hit from prepared headers is counted by metrics and logged like any answer', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = { write (line: string) { lines.push(JSON.parse(line)) } }
  const a = await build(t, { metrics: true })
  await createArticle(a, { title: 'Counted', body: 'Text', status: 'published' })
  const count = async () => metric(await scrape(a), 'gazette_http_request_duration_seconds_count', { route: '/v1/articles/:slug', method: 'GET', status_class: '2xx' })
  const before = await count()
  for (let i = 0; i < 5; i++) t.equal((await get(a, '/v1/articles/counted')).statusCode, 200)
  t.ok(stats(a).prepared >= 3, 'answered from the prepared headers')
  t.equal(await count(), before + 5, 'every answer counted')

  const logged = await buildApp({
    config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, maxEventLoopDelay: 0 },
    logger: { level: 'info', stream }
  })
  t.teardown(() => logged.close())
  await logged.ready()
  await logged.inject({ method: 'GET', url: '/v1/tags' })
  await logged.inject({ method: 'GET', url: '/v1/tags' })
  const res = await logged.inject({ method: 'GET', url: '/v1/tags', headers: { 'x-request-id': 'logged-hit' } })
  t.equal(res.headers['x-request-id'], 'logged-hit')
  t.ok(logged.responseCache.stats().prepared >= 1, 'answered from the prepared headers')
  const line = lines.find((l) => l.reqId === 'logged-hit')
  t.match(line, { msg: 'request', url: '/v1/tags', status: 200 }, 'one request line, with the request id bound')
})

t.test('every write shows at once', async (t) => {
  const a = await build(t, { commentModeration: 'all' })
  await createArticle(a, { title: 'Story', body: 'Text', status: 'published', tags: ['Old Name'] })
  const read = async () => (await get(a, '/v1/articles/story')).json()
  const list = async () => (await get(a, '/v1/articles')).json().data[0]
  t.equal((await read()).title, 'Story')
  t.equal((await list()).title, 'Story')

  await a.as('editor', { method: 'PATCH', url: '/v1/articles/story', payload: { title: 'Story, updated' } })
  t.equal((await read()).title, 'Story, updated', 'an edit')
  t.equal((await list()).title, 'Story, updated', 'an edit, in the list')

  await a.as('editor', { method: 'PATCH', url: '/v1/tags/old-name', payload: { name: 'New Name' } })
  t.same((await read()).tags.map((tag: { name: string }) => tag.name), ['New Name'], 'a tag renamed elsewhere')

  const posted = await postComment(a, 'story', { authorName: 'Ann', authorEmail: 'ann@example.com', body: 'Hello' })
  t.equal(posted.statusCode, 201)
  t.equal((await read()).commentCount, 0, 'a pending comment is not counted')
  t.same((await get(a, '/v1/articles/story/comments')).json().data, [])
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${posted.json().id}`, payload: { status: 'approved' } })
  t.equal((await read()).commentCount, 1, 'an approval')
  t.equal((await get(a, '/v1/articles/story/comments')).json().data.length, 1)

  await a.as('editor', { method: 'DELETE', url: '/v1/articles/story' })
  assertProblem(t, await get(a, '/v1/articles/story'), 404, 'not-found')
  t.same((await get(a, '/v1/articles')).json().data, [], 'a deletion')
})

t.test('a scheduled article appears at its time, with nothing written', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Now', body: 'Text', status: 'published', tags: ['desk'] })
  const at = new Date(a.clock.now + 3_600_000).toISOString()
  await createArticle(a, { title: 'Later', body: 'Text', status: 'published', publishedAt: at, tags: ['desk'] })
  await a.settled()
  const titles = async () => (await get(a, '/v1/articles')).json().data.map((x: { title: string }) => x.title)
  t.same(await titles(), ['Now'])
  t.same(await titles(), ['Now'])
  assertProblem(t, await get(a, '/v1/articles/later'), 404, 'not-found')
  t.equal((await get(a, '/v1/tags/desk')).json().articleCount, 1)
  const hits = stats(a).hits
  t.ok(hits >= 1, 'the list was served from memory before the time')

  a.clock.advance(3_600_000 - 1)
  t.same(await titles(), ['Now'], 'one millisecond before')
  a.clock.advance(1)
  t.same(await titles(), ['Later', 'Now'], 'at publishedAt')
  t.equal((await get(a, '/v1/articles/later')).statusCode, 200)
  t.equal((await get(a, '/v1/tags/desk')).json().articleCount, 2)

  // A clock that goes back (a test, or a system clock corrected) starts afresh too.
  a.clock.advance(-10)
  t.same(await titles(), ['Now'])
})

t.test('a write by another process is seen within the poll interval', onSqlite, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-cache-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'gazette.db')
  const a = await build(t, { databasePath: path })
  await createArticle(a, { title: 'Shared', body: 'Text', status: 'published' })
  t.equal((await get(a, '/v1/articles/shared')).json().title, 'Shared')
  t.equal((await get(a, '/v1/articles/shared')).json().title, 'Shared')

  const other = new Database(path)
  loadNative(other) // the triggers call Gazette's SQLite functions, as in any process that writes
  t.teardown(() => other.close())
  other.prepare("UPDATE articles SET title = 'Changed elsewhere' WHERE slug = 'shared'").run()
  await new Promise((resolve) => setTimeout(resolve, VERSION_POLL_MS + 20))
  t.equal((await get(a, '/v1/articles/shared')).json().title, 'Changed elsewhere')
})

t.test('nothing made for a token is stored or served to anyone else', async (t) => {
  const a = await build(t, { commentModeration: 'none' })
  await createArticle(a, { title: 'Public', body: 'Text', status: 'published' })
  await createArticle(a, { title: 'Secret draft', body: 'Text', status: 'draft' })
  await postComment(a, 'public', { authorName: 'Ann', authorEmail: 'ann@example.com', body: 'Hi' })

  const editorList = await a.as('editor', { method: 'GET', url: '/v1/articles?status=any' })
  t.equal(editorList.json().data.length, 2)
  t.equal(editorList.headers['cache-control'], 'private, no-store')
  const moderated = await a.as('moderator', { method: 'GET', url: '/v1/articles/public/comments' })
  t.match(moderated.body, /ann@example\.com/)

  const before = stats(a)
  const publicComments = await get(a, '/v1/articles/public/comments')
  t.notMatch(publicComments.body, /ann@example\.com/, 'the public never gets a moderator\'s view')
  t.equal(stats(a).hits, before.hits, 'not a hit')
  const again = await a.as('moderator', { method: 'GET', url: '/v1/articles/public/comments' })
  t.match(again.body, /ann@example\.com/, 'and a moderator never gets the public one')
  t.equal(stats(a).hits, before.hits)
  assertProblem(t, await get(a, '/v1/articles?status=any'), 401, 'unauthorized')
})

t.test('memory is bounded, and RESPONSE_CACHE_MB=0 turns the cache off', async (t) => {
  const a = await build(t, { responseCacheMb: 1 })
  for (let i = 0; i < 30; i++) await createArticle(a, { title: `Long ${i}`, body: 'word '.repeat(12_000), status: 'published' })
  for (let i = 0; i < 30; i++) t.equal((await get(a, `/v1/articles/long-${i}`)).statusCode, 200)
  const s = stats(a)
  t.ok(s.bytes <= 1024 * 1024, `at most 1 MB kept (${s.bytes})`)
  t.ok(s.entries < 30 && s.entries > 0, `the oldest went first (${s.entries} kept)`)
  t.equal(s.evictions, s.stores - s.entries, 'every stored entry not kept was evicted, and counted')
  const hits = s.hits
  await get(a, '/v1/articles/long-29')
  t.equal(stats(a).hits, hits + 1, 'the newest is still there')
  await get(a, '/v1/articles/long-0')
  t.equal(stats(a).hits, hits + 1, 'the oldest is not')

  const off = await build(t, { responseCacheMb: 0 })
  await createArticle(off, { title: 'Uncached', body: 'Text', status: 'published' })
  await get(off, '/v1/articles/uncached')
  await get(off, '/v1/articles/uncached')
  t.same(stats(off), { entries: 0, bytes: 0, hits: 0, prepared: 0, misses: 0, stores: 0, evictions: 0, clears: 0, purged: 0 })
})

t.test('only routes that opt in with config.publicCache are served from memory', async (t) => {
  const app = await buildApp({ config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, maxEventLoopDelay: 0 } })
  t.teardown(() => app.close())
  let count = 0
  const counter = (publicCache: boolean | undefined) => ({
    ...(publicCache === undefined ? {} : { config: { publicCache } }),
    schema: { response: { 200: Type.Object({ n: Type.Integer() }), ...(publicCache === undefined ? {} : { 304: NotModified }) } },
    handler: (request: FastifyRequest, reply: FastifyReply) => reply.represent({ n: ++count })
  })
  app.get('/counter/undeclared', counter(undefined))
  app.get('/counter/declined', counter(false))
  app.get('/counter/cached', counter(true))
  await app.ready()
  const n = async (url: string) => (await app.inject({ method: 'GET', url })).json().n as number
  for (const url of ['/counter/undeclared', '/counter/declined']) {
    const first = await n(url)
    t.equal(await n(url), first + 1, `${url}: answered by the route every time`)
  }
  const hits = app.responseCache.stats().hits
  const first = await n('/counter/cached')
  t.equal(await n('/counter/cached'), first, 'opted in: the second answer comes from memory')
  t.equal(app.responseCache.stats().hits, hits + 1)
})

t.test('a public GET that declares 304 must say whether it may be cached', async (t) => {
  const app = await buildApp({ config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, maxEventLoopDelay: 0 } })
  t.teardown(() => app.close())
  await t.rejects(async () => {
    await app.register(async (routes) => {
      routes.get('/conditional', { schema: { response: { 200: Type.String(), 304: NotModified } } }, async () => 'x')
    })
    await app.ready()
  }, /GET \/conditional is a public GET that declares 304: set config\.publicCache/)
})

// Invalidation by dependency: a write drops exactly the entries whose keys it touched. For every kind of
// write, a newsroom's public URLs are warmed, the write is made, and then every cached answer must equal
// a fresh one (a second app on the same database with the cache off, on the same clock), and, on SQLite,
// the entries the write did not touch must still be served from memory. Take one invalidation out (a key a write
// declares, a key a route declares, the public clock) and one of these fails.
interface Newsroom {
  a: TestApp
  fresh: Awaited<ReturnType<typeof buildApp>>
  c1: number
  c1Token: string
  c2: number
  urls: string[]
}

async function newsroom (t: Test): Promise<Newsroom> {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-deps-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const databasePath = join(dir, 'gazette.db')
  const config = { databasePath, commentModeration: 'first' as const, commentReportThreshold: 1, commentRateLimit: 100 }
  const a = await build(t, config)
  // The same database, the same clock, no cache: what a fresh answer is. It writes nothing.
  const fresh = await buildApp({
    config: {
      ...defaultConfig,
      ...config,
      seedDemo: false,
      maxEventLoopDelay: 0,
      queryBudgetMs: 10_000,
      responseCacheMb: 0,
      ...(a.pg === undefined ? {} : { postgres: { url: a.pg.url, poolSize: 2 } })
    },
    clock: () => a.clock.now
  })
  t.teardown(() => fresh.close())
  await fresh.ready()
  // The app's clock at the real time, then five minutes on: the public clock (public_changes, which triggers
  // set from the database's real clock) then falls after the articles' and comments' own times and
  // before now, so feeds and sitemaps show it as their Last-Modified, and a missed purge of it shows.
  a.clock.advance(Date.now() - a.clock.now)
  await createArticle(a, { title: 'Alpha', body: 'Alpha text', status: 'published', tags: ['World', 'Desk'] })
  await createArticle(a, { title: 'Beta', body: 'Beta text', status: 'published', tags: ['Desk'] })
  await createArticle(a, { title: 'Gamma', body: 'Gamma text', status: 'published', tags: ['Sports'] })
  await createArticle(a, { title: 'Delta', body: 'Delta text', status: 'draft', tags: ['Desk'] })
  const ann = await postWithToken(a, 'alpha', { authorName: 'Ann', authorEmail: 'ann@example.com', body: 'First' })
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${ann.id}`, payload: { status: 'approved' } })
  const bob = await postWithToken(a, 'beta', { authorName: 'Bob', authorEmail: 'bob@example.com', body: 'Second' })
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${bob.id}`, payload: { status: 'approved' } })
  a.clock.advance(5 * 60_000) // within comments' edit window (15 minutes)
  const urls = [
    '/v1/articles/alpha', '/v1/articles/beta', '/v1/articles/gamma',
    '/v1/articles/alpha/comments', '/v1/articles/beta/comments', `/v1/comments/${ann.id}`, `/v1/comments/${bob.id}`,
    '/v1/articles', '/v1/articles?tag=sports', '/v1/articles?tag=desk&include=total', '/v1/articles?q=gamma',
    '/v1/tags', '/v1/tags?sort=-articleCount', '/v1/tags/world', '/v1/tags/desk', '/v1/tags/sports',
    '/feeds/rss', '/feeds/json?tag=desk', '/feeds/atom?comments=alpha',
    '/sitemap.xml', '/sitemaps/articles-1.xml', '/sitemaps/news.xml',
    '/openapi.json'
  ]
  return { a, fresh, c1: ann.id, c1Token: ann.editToken, c2: bob.id, urls }
}

/** Reads every URL until each is a hit (each is answered 200 and stored). */
async function warm (t: Test, n: Newsroom): Promise<void> {
  // On PostgreSQL the notifications of the writes before are heard first (those that declared nothing empty the cache).
  await n.a.settled()
  const missed: string[] = []
  for (const url of n.urls) {
    const res = await get(n.a, url)
    t.equal(res.statusCode, 200, `warming ${url}`)
    const hits = stats(n.a).hits
    await get(n.a, url)
    if (stats(n.a).hits !== hits + 1) missed.push(url)
  }
  t.same(missed, [], 'every URL is kept after one read')
}

const COMPARED = ['etag', 'last-modified', 'link', 'location', 'surrogate-key', 'content-type'] as const

/** Every URL's cached answer against a fresh one; the untouched ones must be hits. */
async function compareAll (t: Test, n: Newsroom, label: string, untouched: string[]): Promise<void> {
  const stale: string[] = []
  const dropped: string[] = []
  for (const url of n.urls) {
    const hits = stats(n.a).hits
    const cached = await get(n.a, url)
    const hit = stats(n.a).hits === hits + 1
    const fresh = await n.fresh.inject({ method: 'GET', url })
    const differs = cached.statusCode !== fresh.statusCode || cached.body !== fresh.body ||
      COMPARED.some((h) => cached.headers[h] !== fresh.headers[h])
    if (differs) stale.push(`${url}${hit ? ' (from memory)' : ''}`)
    if (untouched.includes(url) && !hit) dropped.push(url)
  }
  t.same(stale, [], `${label}: every answer equals a fresh one`)
  t.same(dropped, [], `${label}: what it did not touch is still served from memory`)
}

interface WriteKind {
  name: string
  write: (n: Newsroom) => Promise<unknown>
  /** The URLs that must still be hits afterwards. */
  untouched: (n: Newsroom) => string[]
}

const ok = async (res: Promise<LightMyRequestResponse>, status: number) => {
  const r = await res
  if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`)
  return r
}

/** The id of the newest comment by `email` (every status), through the moderation queue. */
async function newestBy (n: Newsroom, name: string): Promise<number> {
  const queue = (await n.a.as('moderator', { method: 'GET', url: '/v1/comments?status=any&limit=100' })).json().data as { id: number, authorName: string }[]
  return Math.max(...queue.filter((c) => c.authorName === name).map((c) => c.id))
}

/** The settled time of the stored article counts (src/articles/counts.ts), on either engine. */
async function countsSettledAt (a: TestApp): Promise<number> {
  const storage = a.app.storage
  if (storage.engine === 'postgres') return Number((await storage.db.$client.query<{ at: string }>('SELECT at FROM counts_settled WHERE id = 1')).rows[0]!.at)
  return storage.db.$client.prepare('SELECT at FROM counts_settled WHERE id = 1').pluck().get() as number
}

// Groups of URLs a write leaves alone.
const otherArticles = (n: Newsroom) => ['/v1/articles/beta', '/v1/articles/gamma', '/v1/articles/beta/comments', `/v1/comments/${n.c2}`, '/openapi.json']
const allArticlesAndThreads = (n: Newsroom) => [
  '/v1/articles/alpha', '/v1/articles/beta', '/v1/articles/gamma',
  '/v1/articles/alpha/comments', '/v1/articles/beta/comments', `/v1/comments/${n.c1}`, `/v1/comments/${n.c2}`, '/openapi.json'
]
/** A comment on alpha that withdraws nothing: the lists without alpha, the tags, feeds and sitemaps stay. */
const besideAlphasComments = (n: Newsroom) => [
  ...otherArticles(n), '/v1/articles?tag=sports', '/v1/articles?q=gamma',
  '/v1/tags', '/v1/tags?sort=-articleCount', '/v1/tags/world', '/v1/tags/desk', '/v1/tags/sports',
  '/feeds/rss', '/feeds/json?tag=desk', '/sitemap.xml', '/sitemaps/articles-1.xml', '/sitemaps/news.xml'
]
/** A comment on alpha withdrawn from public view: the public clock moves, so feeds and sitemaps go too. */
const besideAlphasWithdrawal = (n: Newsroom) => [
  ...otherArticles(n), '/v1/articles?tag=sports', '/v1/articles?q=gamma',
  '/v1/tags', '/v1/tags?sort=-articleCount', '/v1/tags/world', '/v1/tags/desk', '/v1/tags/sports'
]
const besideTags = (n: Newsroom) => ['/v1/articles/gamma', '/v1/articles/alpha/comments', '/v1/articles/beta/comments', `/v1/comments/${n.c1}`, `/v1/comments/${n.c2}`, '/openapi.json']

// Each chain runs on one newsroom, write after write; each write's comparison reads every URL again,
// which stores what the write dropped, so the next write starts from a full cache.
const CHAINS: Record<string, WriteKind[]> = {
  'comments on one article': [
    {
      name: 'a comment posted and approved at once',
      write: (n) => ok(postComment(n.a, 'alpha', { authorName: 'Ann', authorEmail: 'ann@example.com', body: 'Again' }), 201),
      untouched: besideAlphasComments
    },
    {
      name: 'a comment posted with an Idempotency-Key (the stored answer touches nothing public)',
      write: (n) => ok(postComment(n.a, 'alpha', { authorName: 'Ann', authorEmail: 'ann@example.com', body: 'Once' }, { 'idempotency-key': 'a3f1c9e2-0000-4000-8000-000000000001' }), 201),
      untouched: besideAlphasComments
    },
    {
      name: 'a comment posted for moderation',
      write: (n) => ok(postComment(n.a, 'alpha', { authorName: 'Cy', authorEmail: 'cy@example.com', body: 'New here' }), 201),
      untouched: besideAlphasComments
    },
    {
      name: 'a comment approved',
      write: async (n) => ok(n.a.as('moderator', { method: 'PATCH', url: `/v1/comments/${await newestBy(n, 'Cy')}`, payload: { status: 'approved' } }), 200),
      untouched: besideAlphasComments
    },
    {
      name: 'a comment edited by its author',
      write: (n) => ok(authorEdit(n.a, n.c1, n.c1Token, { body: 'First, edited' }), 200),
      untouched: besideAlphasComments
    },
    {
      name: 'a comment reported past the threshold',
      write: (n) => ok(n.a.inject({ method: 'POST', url: `/v1/comments/${n.c1}/reports`, payload: { reason: 'spam' } }), 202),
      untouched: besideAlphasWithdrawal
    },
    {
      name: 'a comment marked as spam',
      write: async (n) => ok(n.a.as('moderator', { method: 'PATCH', url: `/v1/comments/${await newestBy(n, 'Ann')}`, payload: { status: 'spam' } }), 200),
      untouched: besideAlphasWithdrawal
    },
    {
      name: 'a comment deleted',
      write: async (n) => ok(n.a.as('moderator', { method: 'DELETE', url: `/v1/comments/${await newestBy(n, 'Cy')}` }), 204),
      untouched: besideAlphasWithdrawal
    },
    {
      name: 'a reported comment approved again',
      write: (n) => ok(n.a.as('moderator', { method: 'PATCH', url: `/v1/comments/${n.c1}`, payload: { status: 'approved' } }), 200),
      untouched: besideAlphasComments
    },
    {
      name: 'a commenter\'s data erased',
      write: (n) => ok(n.a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: 'ANN@example.com' } }), 200),
      untouched: besideAlphasWithdrawal
    }
  ],
  'writes to one article': [
    {
      name: 'an article edited',
      write: (n) => ok(n.a.as('editor', { method: 'PATCH', url: '/v1/articles/alpha', payload: { title: 'Alpha, updated', body: 'New gamma words' } }), 200),
      untouched: otherArticles
    },
    {
      name: 'an article\'s tags changed',
      write: (n) => ok(n.a.as('editor', { method: 'PATCH', url: '/v1/articles/alpha', payload: { tags: ['Sports'] } }), 200),
      untouched: otherArticles
    },
    {
      name: 'comments closed',
      write: (n) => ok(n.a.as('editor', { method: 'PATCH', url: '/v1/articles/alpha', payload: { commentsOpen: false } }), 200),
      untouched: otherArticles
    },
    {
      name: 'a revision restored',
      write: (n) => ok(n.a.as('editor', { method: 'POST', url: '/v1/articles/alpha/revisions/1/restore' }), 200),
      untouched: otherArticles
    },
    {
      name: 'an article unpublished',
      write: (n) => ok(n.a.as('editor', { method: 'PATCH', url: '/v1/articles/alpha', payload: { status: 'draft' } }), 200),
      untouched: otherArticles
    },
    {
      name: 'an article published again',
      write: (n) => ok(n.a.as('editor', { method: 'PATCH', url: '/v1/articles/alpha', payload: { status: 'published' } }), 200),
      untouched: otherArticles
    },
    {
      name: 'an article re-slugged',
      write: (n) => ok(n.a.as('editor', { method: 'PATCH', url: '/v1/articles/alpha', payload: { slug: 'alpha-moved' } }), 200),
      untouched: otherArticles
    },
    {
      name: 'an article deleted',
      write: (n) => ok(n.a.as('editor', { method: 'DELETE', url: '/v1/articles/alpha-moved' }), 204),
      untouched: otherArticles
    }
  ],
  'new articles, publication, scheduling': [
    {
      // Upkeep folds the articles due since the settled time into the stored counts (src/articles/counts.ts):
      // stored plus deltas is the same sum before and after, so it declares no key and nothing is dropped.
      name: 'the article counts settled (upkeep: no answer changes)',
      write: async (n) => {
        const before = await countsSettledAt(n.a)
        await n.a.app.upkeep.settle()
        if (await countsSettledAt(n.a) === before) throw new Error('the settle folded nothing in: this step would prove nothing')
      },
      untouched: (n) => n.urls
    },
    {
      // A secret the server makes on first use (the PostgreSQL rate limiter's HMAC key, at the first counted
      // request) was an undeclared write, and emptied every process's cache in the middle of a read.
      name: 'a server secret made on first use (settings)',
      write: async (n) => {
        if (await n.a.app.settings.get('test_secret') !== undefined) throw new Error('the secret is there already: this step would prove nothing')
        await n.a.app.settings.getOrCreate('test_secret', () => 'made once')
      },
      untouched: (n) => n.urls
    },
    {
      name: 'an article created',
      write: (n) => createArticle(n.a, { title: 'Epsilon', body: 'Epsilon text', status: 'published', tags: ['Desk', 'Sports'] }),
      untouched: allArticlesAndThreads
    },
    {
      name: 'a draft created (with a new tag)',
      write: (n) => createArticle(n.a, { title: 'Zeta', body: 'Zeta text', status: 'draft', tags: ['Hidden'] }),
      untouched: allArticlesAndThreads
    },
    {
      name: 'a draft published',
      write: (n) => ok(n.a.as('editor', { method: 'PATCH', url: '/v1/articles/delta', payload: { status: 'published' } }), 200),
      untouched: allArticlesAndThreads
    },
    {
      name: 'a draft scheduled',
      write: (n) => ok(n.a.as('editor', { method: 'PATCH', url: '/v1/articles/zeta', payload: { status: 'published', publishedAt: new Date(n.a.clock.now + 60_000).toISOString() } }), 200),
      untouched: allArticlesAndThreads
    },
    {
      name: 'a scheduled publication coming due (the clock, no write)',
      write: async (n) => { n.a.clock.advance(60_000) },
      untouched: () => []
    }
  ],
  'tags, and a write that declares nothing': [
    {
      name: 'a tag created',
      write: (n) => ok(n.a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Curated' } }), 201),
      untouched: allArticlesAndThreads
    },
    {
      name: 'a tag renamed',
      write: (n) => ok(n.a.as('editor', { method: 'PATCH', url: '/v1/tags/world', payload: { name: 'Planet' } }), 200),
      untouched: (n) => ['/v1/articles/beta', ...besideTags(n)]
    },
    {
      name: 'a tag re-slugged',
      write: (n) => ok(n.a.as('editor', { method: 'PATCH', url: '/v1/tags/desk', payload: { slug: 'the-desk' } }), 200),
      untouched: besideTags
    },
    {
      name: 'a tag deleted',
      write: (n) => ok(n.a.as('editor', { method: 'DELETE', url: '/v1/tags/world' }), 204),
      untouched: (n) => ['/v1/articles/beta', ...besideTags(n)]
    },
    {
      name: 'a write that declares nothing (an API token made)',
      write: (n) => n.a.app.tokens.create('another', 'editor'),
      untouched: () => []
    }
  ]
}

for (const [chain, kinds] of Object.entries(CHAINS)) {
  t.test(`dependencies: ${chain}`, async (t) => {
    const n = await newsroom(t)
    await warm(t, n)
    for (const kind of kinds) {
      const before = stats(n.a)
      await kind.write(n)
      // A write made without a request (the token below): on PostgreSQL its notification is heard first.
      await n.a.settled()
      const untouched = kind.untouched(n)
      await compareAll(t, n, kind.name, untouched)
      const after = stats(n.a)
      if (untouched.length === 0) t.equal(after.clears, before.clears + 1, `${kind.name}: the cache was emptied`)
      else t.equal(after.clears, before.clears, `${kind.name}: the cache was not emptied`)
    }
  })
}

t.test('a public cached answer names its keys in Surrogate-Key, from memory too', async (t) => {
  const n = await newsroom(t)
  const alpha = (await get(n.a, '/v1/articles/alpha')).json()
  const expect: Record<string, string> = {
    '/v1/articles/alpha': `article:${alpha.id} tag:world tag:desk`,
    '/v1/articles/alpha/comments': `comments:${alpha.id}`,
    [`/v1/comments/${n.c1}`]: `comments:${alpha.id}`,
    '/v1/tags': 'list:tags',
    '/v1/tags/desk': 'tag:desk list:tags',
    '/feeds/rss': 'list:articles public-clock',
    '/feeds/atom?comments=alpha': `comments:${alpha.id} public-clock`,
    '/sitemap.xml': 'list:articles public-clock'
  }
  for (const [url, value] of Object.entries(expect)) {
    t.equal((await get(n.a, url)).headers['surrogate-key'], value, `${url} (miss)`)
    t.equal((await get(n.a, url)).headers['surrogate-key'], value, `${url} (hit)`)
  }
  const front = (await get(n.a, '/v1/articles')).headers['surrogate-key']
  t.match(front, /^list:articles( article:\d+){3}$/, 'a list: its membership, and each row')
  // Not for a token's answer: a CDN must not keep it.
  t.equal((await n.a.as('editor', { method: 'GET', url: '/v1/articles/alpha' })).headers['surrogate-key'], undefined)
})

t.test('a read that a write overtook is not stored when the write touched what it read', onSqlite, async (t) => {
  const app = await buildApp({ config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, maxEventLoopDelay: 0 } })
  t.teardown(() => app.close())
  let hold: Promise<void> | undefined
  let count = 0
  app.get('/slow/:key', {
    config: { publicCache: true },
    schema: { response: { 200: Type.Object({ n: Type.Integer() }), 304: NotModified } }
  }, async (request, reply) => {
    const n = ++count
    await hold
    return reply.represent({ n }, { keys: [`thing:${(request.params as { key: string }).key}`] })
  })
  await app.ready()
  const write = (keys: string[]) => declareWrite(app.db, keys, () =>
    app.db.$client.prepare("INSERT INTO settings (key, value) VALUES (?, 'x')").run(`test-${++count}`))
  const n = async (url: string) => (await app.inject({ method: 'GET', url })).json().n as number

  for (const [key, touched] of [['a', true], ['b', false]] as const) {
    let release!: () => void
    hold = new Promise((resolve) => { release = resolve })
    const pending = app.inject({ method: 'GET', url: `/slow/${key}` })
    await new Promise((resolve) => setTimeout(resolve, 50)) // the read has begun and waits
    write([touched ? `thing:${key}` : 'thing:other'])
    release()
    hold = undefined
    const first = (await pending).json().n as number
    if (touched) t.not(await n(`/slow/${key}`), first, 'a write to what it read came first: not kept, read again')
    else t.equal(await n(`/slow/${key}`), first, 'a write to something else: kept')
  }
})
