// The public response cache (src/plugins/public-cache.ts): served only while provably current.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { FastifyReply, FastifyRequest, LightMyRequestResponse } from 'fastify'
import { Type } from 'typebox'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import { NotModified } from '../../src/http/schemas.js'
import { VERSION_POLL_MS } from '../../src/plugins/public-cache.js'
import { assertProblem, build, createArticle, postComment, type TestApp } from '../helper.js'
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

t.test('a write by another process is seen within the poll interval', async (t) => {
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
  t.same(stats(off), { entries: 0, bytes: 0, hits: 0, misses: 0, stores: 0, evictions: 0, clears: 0 })
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
