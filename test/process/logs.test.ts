// The log of a real server at LOG_LEVEL=trace through a whole session (tokens, a comment with an email,
// moderation, an edit, a scrape): one JSON line per request with route, status, duration, request id and
// trace id, and not one secret, token, email or comment body anywhere in it, nor in /metrics.
// LOG_FORMAT=pretty gives pino-pretty's lines instead.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv, freePort, startServer } from '../../scripts/harness.js'

const dir = mkdtempSync(join(tmpdir(), 'gazette-logs-'))
const adminToken = 'gz_logs-test-admin-secret-Kq8Zr2Wm5Tn'
const metricsToken = 'metrics-secret-Vx3Lp9Hc7Bd'
const email = 'Olga.Private@Example.org'
const body = 'Marmalade zebra 7731 says hello'
const edited = 'Quince otter 4412 corrected'
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

t.test('a whole session at LOG_LEVEL=trace: one line per request, no secret, token, email or comment body', async (t) => {
  const port = await freePort()
  const server = await startServer(cleanEnv({ HOST: '127.0.0.1', PORT: String(port), DATABASE_PATH: join(dir, 'session.db'), SEED_DEMO: 'true', LOG_LEVEL: 'trace', LOG_FORMAT: 'json', ADMIN_TOKEN: adminToken, METRICS: 'true', METRICS_TOKEN: metricsToken, COMMENT_MODERATION: 'all', MAX_EVENT_LOOP_DELAY: '0' }))
  t.teardown(() => { server.child.kill('SIGKILL') })
  const call = async (method: string, path: string, opts: { token?: string, json?: unknown, headers?: Record<string, string> } = {}) => {
    const res = await fetch(server.base + path, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers
      },
      ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {})
    })
    const text = await res.text()
    return { status: res.status, text, json: () => JSON.parse(text) as Record<string, any> }
  }
  const secrets: string[] = [adminToken, metricsToken]
  let requests = 0
  const expect = async (status: number, ...args: Parameters<typeof call>) => {
    const res = await call(...args)
    requests++
    t.equal(res.status, status, `${args[0]} ${args[1]}: ${res.text.slice(0, 200)}`)
    return res
  }

  const editor = (await expect(201, 'POST', '/v1/tokens', { token: adminToken, json: { name: 'newsdesk', role: 'editor' } })).json().token as string
  const moderator = (await expect(201, 'POST', '/v1/tokens', { token: adminToken, json: { name: 'mods', role: 'moderator' }, headers: { 'idempotency-key': 'token-key-1' } })).json().token as string
  await expect(201, 'POST', '/v1/tokens', { token: adminToken, json: { name: 'mods', role: 'moderator' }, headers: { 'idempotency-key': 'token-key-1' } })
  secrets.push(editor, moderator)
  await expect(401, 'GET', '/v1/articles', { token: 'gz_a-wrong-secret-presented-by-a-client' })
  secrets.push('gz_a-wrong-secret-presented-by-a-client')

  await expect(201, 'POST', '/v1/articles', { token: editor, json: { title: 'Harbour news', body: 'The ferry runs again.', status: 'published' }, headers: { traceparent } })
  const comment = (await expect(201, 'POST', '/v1/articles/harbour-news/comments', { json: { authorName: 'Olga', authorEmail: email, authorUrl: 'https://olga.example', body }, headers: { 'idempotency-key': 'comment-key-1', 'user-agent': 'Secret-Agent/1.0' } })).json()
  await expect(201, 'POST', '/v1/articles/harbour-news/comments', { json: { authorName: 'Olga', authorEmail: email, authorUrl: 'https://olga.example', body }, headers: { 'idempotency-key': 'comment-key-1', 'user-agent': 'Secret-Agent/1.0' } })
  await expect(422, 'POST', '/v1/articles/harbour-news/comments', { json: { authorName: 'Olga', authorEmail: `not an email ${email}`, body } })
  const queue = (await expect(200, 'GET', '/v1/comments?status=pending', { token: moderator })).json()
  t.equal(queue.data[0].authorEmail, email, 'moderators see the email')
  await expect(200, 'PATCH', `/v1/comments/${comment.id}`, { token: moderator, json: { status: 'approved' } })
  await expect(200, 'PATCH', `/v1/comments/${comment.id}`, { token: moderator, json: { body: edited } })
  await expect(200, 'GET', '/v1/articles/harbour-news/comments')
  await expect(200, 'GET', `/v1/comments/${comment.id}`, { token: moderator })
  await expect(204, 'DELETE', `/v1/comments/${comment.id}`, { token: moderator })
  const metrics = await expect(200, 'GET', '/metrics', { token: metricsToken })
  await expect(401, 'GET', '/metrics', { token: editor })

  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
  const log = server.output()

  for (const secret of [...secrets, email, email.toLowerCase(), 'Olga.Private', body, edited, 'Secret-Agent']) {
    t.notOk(log.includes(secret), `the log does not contain ${JSON.stringify(secret.slice(0, 12))}…`)
    t.notOk(metrics.text.includes(secret), `/metrics does not contain ${JSON.stringify(secret.slice(0, 12))}…`)
  }

  const lines = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>)
  t.ok(lines.length > requests, 'the log is JSON lines')
  const requestLines = lines.filter((l) => l.msg === 'request' && l.route !== '/health')
  t.equal(requestLines.length, requests, 'one line per request')
  for (const line of requestLines) {
    t.match(line, { reqId: String, trace_id: /^[0-9a-f]{32}$/, method: String, route: /^\//, url: String, status: Number, duration_ms: Number }, `${line.method} ${line.url}`)
  }
  t.equal(requestLines.find((l) => l.route === '/v1/articles' && l.method === 'POST')?.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736', 'the caller\'s trace id')
  t.match(requestLines.find((l) => l.route === '/v1/comments/:id' && l.method === 'PATCH'), { url: `/v1/comments/${comment.id}`, status: 200 })
  t.notOk(lines.some((l) => l.msg === 'incoming request' || l.msg === 'request completed'), 'not Fastify\'s two lines as well')
})

t.test('LOG_FORMAT=pretty prints pino-pretty lines, not JSON', async (t) => {
  const port = await freePort()
  const server = await startServer(cleanEnv({ HOST: '127.0.0.1', PORT: String(port), DATABASE_PATH: join(dir, 'pretty.db'), SEED_DEMO: 'false', LOG_LEVEL: 'info', LOG_FORMAT: 'pretty', MAX_EVENT_LOOP_DELAY: '0' }))
  t.teardown(() => { server.child.kill('SIGKILL') })
  t.equal((await fetch(`${server.base}/v1/articles`)).status, 200)
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
  const lines = server.output().split('\n').filter((l) => l.includes('/v1/articles'))
  t.ok(lines.length > 0, 'the request is logged')
  t.ok(lines.every((l) => !l.trimStart().startsWith('{')), 'not as JSON')
  t.match(server.output(), /INFO.*request/)
  t.match(server.output(), /route: "\/v1\/articles"/)
  t.match(server.output(), /trace_id: "[0-9a-f]{32}"/)
})
