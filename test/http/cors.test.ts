import t from 'tap'
import { build } from '../helper.js'

const preflight = (origin: string, url = '/v1/articles', method = 'POST') => ({
  method: 'OPTIONS' as const,
  url,
  headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type, idempotency-key' }
})

t.test('CORS_ORIGINS=* (the default): any origin, preflights answered before authentication', async (t) => {
  const a = await build(t)
  const res = await a.inject(preflight('https://front.example'))
  t.equal(res.statusCode, 204, 'a preflight for a protected route is not a 401')
  t.equal(res.body, '')
  t.equal(res.headers['access-control-allow-origin'], '*')
  t.match(res.headers['access-control-allow-methods'], /POST/)
  t.match(res.headers['access-control-allow-methods'], /PATCH/)
  const allowed = String(res.headers['access-control-allow-headers']).split(', ')
  for (const name of ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'X-Request-Id']) {
    t.ok(allowed.includes(name), `allows ${name}`)
  }
  t.equal(res.headers['access-control-max-age'], '600')

  const get = await a.inject({ method: 'GET', url: '/v1/articles', headers: { origin: 'https://front.example' } })
  t.equal(get.headers['access-control-allow-origin'], '*')
  t.notOk(get.headers['access-control-allow-credentials'])
  const exposed = String(get.headers['access-control-expose-headers']).split(', ')
  for (const name of ['ETag', 'Location', 'Link', 'X-Request-Id', 'Retry-After', 'Idempotent-Replayed', 'RateLimit-Remaining']) {
    t.ok(exposed.includes(name), `exposes ${name}`)
  }
  t.equal(get.headers.vary, 'Authorization, Accept-Encoding', 'with a fixed *, the response does not vary by Origin')

  // An OPTIONS that is not a preflight is still answered, not a plain-text 400 nor a 405.
  const bare = await a.inject({ method: 'OPTIONS', url: '/v1/articles/anything' })
  t.equal(bare.statusCode, 204)
})

t.test('CORS_ORIGINS as a list: listed origins are echoed, others get no CORS headers', async (t) => {
  const a = await build(t, { corsOrigins: ['https://front.example', 'https://admin.example'] })
  const ok = await a.inject(preflight('https://admin.example', '/v1/articles/x', 'PATCH'))
  t.equal(ok.statusCode, 204)
  t.equal(ok.headers['access-control-allow-origin'], 'https://admin.example')
  t.match(ok.headers.vary, /Origin/)

  const refused = await a.inject(preflight('https://evil.example'))
  t.notOk(refused.headers['access-control-allow-origin'], 'the browser will block the request')
  const get = await a.inject({ method: 'GET', url: '/v1/articles', headers: { origin: 'https://evil.example' } })
  t.equal(get.statusCode, 200, 'the server still answers (CORS is enforced by the browser)')
  t.notOk(get.headers['access-control-allow-origin'])

  const listed = await a.inject({ method: 'GET', url: '/v1/articles', headers: { origin: 'https://front.example' } })
  t.equal(listed.headers['access-control-allow-origin'], 'https://front.example')
  t.equal(listed.headers.vary, 'Origin, Authorization, Accept-Encoding', 'a cache keeps one copy per origin')
})
