import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { assertProblem, build } from '../helper.js'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'

t.test('admins create, list and revoke tokens', async (t) => {
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
