// Secrets shown once (issue 13, item 1): a route that declares `config: { shownOnce: [...] }` has those
// top-level fields of its body stored as null in its idempotency record, so the secret is never at rest
// (not in the database, nor in its backups) and a replay answers the same response with the secret null.
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { Type } from 'typebox'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'

async function start (t: Test, logger: FastifyServerOptions['logger'] = false, routes?: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const app = await buildApp({ config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, maxEventLoopDelay: 0 }, logger })
  t.teardown(() => app.close())
  routes?.(app)
  await app.ready()
  return app
}

t.test('POST /v1/tokens with an Idempotency-Key stores no secret; a replay shows it as null', async (t) => {
  const logs: string[] = []
  const app = await start(t, { level: 'trace', stream: new Writable({ write (chunk, _enc, done) { logs.push(String(chunk)); done() } }) })
  const admin = `Bearer ${(await app.tokens.create('admin', 'admin')).token}`
  const request = { method: 'POST' as const, url: '/v1/tokens', payload: { name: 'newsdesk', role: 'editor' }, headers: { authorization: admin, 'idempotency-key': 'tok-1' } }
  const first = await app.inject(request)
  t.equal(first.statusCode, 201)
  const secret = first.json().token as string
  t.match(secret, /^gz_/)

  const rows = app.db.$client.prepare('SELECT * FROM idempotency_keys').all() as Record<string, unknown>[]
  t.equal(rows.length, 1)
  t.notMatch(JSON.stringify(rows), secret, 'the secret is not in the idempotency record')
  t.notMatch(JSON.stringify(rows), secret.slice(3, 20), 'nor any recognisable part of it')
  t.equal(JSON.parse(String(rows[0]!.body)).token, null, 'the stored body has the secret null')

  const replay = await app.inject(request)
  t.equal(replay.statusCode, 201)
  t.equal(replay.headers['idempotent-replayed'], 'true')
  for (const name of ['location', 'etag', 'content-type']) t.equal(replay.headers[name], first.headers[name], name)
  t.same(replay.json(), { ...first.json(), token: null }, 'the same body with the secret null')

  // The secret still works, and the replay made no second token.
  const list = await app.inject({ method: 'GET', url: '/v1/tokens?include=total', headers: { authorization: `Bearer ${secret}` } })
  t.equal(list.statusCode, 403, 'an editor token: known, but not an admin')
  const all = await app.inject({ method: 'GET', url: '/v1/tokens?include=total', headers: { authorization: admin } })
  t.equal(all.json().page.total, 2, 'the admin and the new one')

  // The OpenAPI document says so.
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  t.match(doc.paths['/v1/tokens'].post.description, /`token`.*null/s)
  t.same(doc.components.schemas.CreatedToken.properties.token.anyOf.map((s: { type: string }) => s.type), ['string', 'null'])

  t.ok(logs.length > 0, 'requests were logged')
  t.notMatch(logs.join('\n'), secret, 'the secret is not in the logs')
})

t.test('any POST route can declare shown-once fields; a body without them is stored as it is', async (t) => {
  const app = await start(t, false, (app) => {
    app.post('/secretive', {
      config: { shownOnce: ['secret', 'other'] },
      schema: {
        body: Type.Object({ fail: Type.Optional(Type.Boolean()) }),
        response: {
          201: Type.Object({ id: Type.Integer(), secret: Type.Union([Type.String(), Type.Null()]), nested: Type.Object({ secret: Type.String() }) }),
          409: Type.Object({ detail: Type.String() })
        }
      }
    }, async (request, reply) => {
      if ((request.body as { fail?: boolean }).fail) return reply.code(409).send({ detail: 'no secret here' })
      return reply.code(201).send({ id: 1, secret: 's3cr3t-value', nested: { secret: 'kept' } })
    })
  })
  const send = (key: string, payload: object) => app.inject({ method: 'POST', url: '/secretive', payload, headers: { 'idempotency-key': key } })
  const first = await send('k1', {})
  t.same(first.json(), { id: 1, secret: 's3cr3t-value', nested: { secret: 'kept' } })
  const replay = await send('k1', {})
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.equal(replay.body, '{"id":1,"secret":null,"nested":{"secret":"kept"}}', 'top-level fields only, the rest byte for byte')
  t.notMatch(JSON.stringify(app.db.$client.prepare('SELECT body FROM idempotency_keys').all()), 's3cr3t-value')
  const conflict = await send('k2', { fail: true })
  t.equal(conflict.statusCode, 409)
  const again = await send('k2', { fail: true })
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.body, conflict.body, 'a body without those fields at the top is stored as it is')
})
