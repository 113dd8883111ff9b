import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { assertProblem, build, onSqlite } from '../helper.js'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'

t.test('admins create, list and revoke tokens', onSqlite, async (t) => {
  const a = await build(t)
  const created = await a.as('admin', { method: 'POST', url: '/v1/tokens', payload: { name: 'newsdesk', role: 'editor' } })
  t.equal(created.statusCode, 201)
  const token = created.json()
  t.match(token, { id: Number, name: 'newsdesk', role: 'editor', createdAt: String, token: /^gz_[\w-]{43}$/ })
  t.equal(created.headers.location, `/v1/tokens/${token.id}`)

  // The new token works for its role.
  const auth = { authorization: `Bearer ${token.token}` }
  const article = await a.inject({ method: 'POST', url: '/v1/articles', headers: auth, payload: { title: 'By token' } })
  t.equal(article.statusCode, 201)

  const list = await a.as('admin', { method: 'GET', url: '/v1/tokens?include=total' })
  t.equal(list.statusCode, 200)
  t.equal(list.json().page.total, 4)
  t.notMatch(list.body, /gz_/, 'no secrets in the list')
  t.notMatch(list.body, /tokenHash|token_hash/)
  const raw = a.app.db.$client.prepare('SELECT token_hash FROM tokens WHERE id = ?').get(token.id) as { token_hash: string }
  t.not(raw.token_hash, token.token, 'only a hash is stored')
  t.match(raw.token_hash, /^[0-9a-f]{64}$/)

  const page1 = await a.as('admin', { method: 'GET', url: '/v1/tokens?limit=3' })
  t.equal(page1.json().data.length, 3)
  t.match(page1.headers.link, /<\/v1\/tokens\?limit=3&cursor=[\w-]+>; rel="next"/)
  const page2 = await a.as('admin', { method: 'GET', url: `/v1/tokens?limit=3&cursor=${page1.json().page.nextCursor as string}` })
  t.same(page2.json().data.map((x: { name: string }) => x.name), ['newsdesk'])
  t.equal(page2.json().page.nextCursor, null)

  const revoked = await a.as('admin', { method: 'DELETE', url: `/v1/tokens/${token.id}` })
  t.equal(revoked.statusCode, 204)
  const after = await a.inject({ method: 'GET', url: '/v1/articles', headers: auth })
  assertProblem(t, after, 401, 'unauthorized')
  assertProblem(t, await a.as('admin', { method: 'DELETE', url: `/v1/tokens/${token.id}` }), 404, 'not-found')
  assertProblem(t, await a.as('admin', { method: 'DELETE', url: '/v1/tokens/abc' }), 422, 'validation')
  assertProblem(t, await a.as('admin', { method: 'POST', url: '/v1/tokens', payload: { name: 'x', role: 'root' } }), 422, 'validation')
  assertProblem(t, await a.as('editor', { method: 'POST', url: '/v1/tokens', payload: { name: 'x', role: 'admin' } }), 403, 'forbidden')
})

t.test('ADMIN_TOKEN is registered on start, once; a first admin token is made when none exists', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-'))
  const databasePath = join(dir, 'boot.db')
  const { bootstrap } = await import('../../src/db/bootstrap.js')
  const secret = 'operator-chosen-secret-0123456789'
  for (let run = 0; run < 2; run++) {
    const app = await buildApp({ config: { ...defaultConfig, databasePath, adminToken: secret, seedDemo: true } })
    await app.ready()
    const result = await bootstrap(app)
    t.equal(result.createdAdminSecret, undefined, 'no extra token when ADMIN_TOKEN is set')
    const res = await app.inject({ method: 'GET', url: '/v1/tokens', headers: { authorization: `Bearer ${secret}` } })
    t.equal(res.statusCode, 200)
    t.equal(res.json().data.length, 1, `still one token after start ${run + 1}`)
    const articles = await app.inject({ method: 'GET', url: '/v1/articles' })
    t.equal(articles.json().data.length, 1, 'one welcome article, seeded once')
    t.match(articles.json().data[0], { slug: 'welcome-to-gazette', tags: [{ slug: 'gazette' }] })
    await app.close()
  }

  const fresh = await buildApp({ config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false } })
  await fresh.ready()
  const first = await bootstrap(fresh)
  t.match(first.createdAdminSecret, /^gz_/)
  const again = await bootstrap(fresh)
  t.equal(again.createdAdminSecret, undefined, 'only when no token exists')
  const articles = await fresh.inject({ method: 'GET', url: '/v1/articles' })
  t.equal(articles.json().data.length, 0, 'SEED_DEMO=false seeds nothing')
  await fresh.close()
})

// Issue 13, item 11 (contract section 2): ADMIN_TOKEN is registered on every start, which used to bring
// back a secret revoked through the API. A revoked secret now stays revoked across restarts, the server
// says so at start, and a different secret works.
t.test('a revoked ADMIN_TOKEN stays revoked across restarts, and the log says so', onSqlite, async (t) => {
  const databasePath = join(mkdtempSync(join(tmpdir(), 'gazette-')), 'revoked.db')
  const { bootstrap } = await import('../../src/db/bootstrap.js')
  const { Writable } = await import('node:stream')
  const secret = 'operator-chosen-secret-0123456789'
  async function start (adminToken: string) {
    const logs: string[] = []
    const stream = new Writable({ write (chunk, _enc, done) { logs.push(String(chunk)); done() } })
    const app = await buildApp({ config: { ...defaultConfig, databasePath, adminToken, seedDemo: false }, logger: { level: 'info', stream } })
    await app.ready()
    const result = await bootstrap(app)
    const warned = logs.some((l) => JSON.parse(l).level === 40 && /ADMIN_TOKEN is revoked/.test(l))
    const get = (token: string) => app.inject({ method: 'GET', url: '/v1/tokens', headers: { authorization: `Bearer ${token}` } })
    return { app, result, warned, logs, get }
  }

  const first = await start(secret)
  t.notOk(first.warned)
  const list = await first.get(secret)
  t.equal(list.statusCode, 200)
  const id = list.json().data[0].id as number
  t.equal((await first.app.inject({ method: 'DELETE', url: `/v1/tokens/${id}`, headers: { authorization: `Bearer ${secret}` } })).statusCode, 204, 'the admin revokes its own token')
  assertProblem(t, await first.get(secret), 401, 'unauthorized')
  const stored = JSON.stringify(first.app.db.$client.prepare('SELECT * FROM settings').all())
  t.notMatch(stored, secret, 'the secret itself is not stored')
  await first.app.close()

  for (let restart = 0; restart < 2; restart++) {
    const again = await start(secret)
    t.ok(again.warned, `restart ${restart + 1}: the log says ADMIN_TOKEN is revoked`)
    t.notMatch(again.logs.join('\n'), secret, 'without printing the secret')
    t.equal(again.result.createdAdminSecret, undefined)
    assertProblem(t, await again.get(secret), 401, 'unauthorized')
    await again.app.close()
  }

  const other = 'another-operator-secret-9876543210'
  const changed = await start(other)
  t.notOk(changed.warned)
  t.equal((await changed.get(other)).statusCode, 200, 'a different secret works')
  assertProblem(t, await changed.get(secret), 401, 'unauthorized')
  await changed.app.close()
})

t.test('two processes starting on a new database make one first admin and one welcome article', async (t) => {
  const databasePath = join(mkdtempSync(join(tmpdir(), 'gazette-')), 'twice.db')
  const { bootstrap } = await import('../../src/db/bootstrap.js')
  const apps = await Promise.all([1, 2].map(async () => {
    // Load shedding off, as in test/helper.ts: on a busy machine a 503 `overloaded` is not what this tests.
    const app = await buildApp({ config: { ...defaultConfig, databasePath, seedDemo: true, maxEventLoopDelay: 0 } })
    await app.ready()
    return app
  }))
  const results = await Promise.all(apps.map((app) => bootstrap(app)))
  t.equal(results.filter((r) => r.createdAdminSecret !== undefined).length, 1, 'one first admin token')
  const articles = await apps[0]!.inject({ method: 'GET', url: '/v1/articles' })
  t.same(articles.json().data.map((a: { slug: string }) => a.slug), ['welcome-to-gazette'], 'one welcome article')
  for (const app of apps) await app.close()
})
