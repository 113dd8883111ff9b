// /health, /health/live and /health/ready (src/observability/health.ts), and load shedding's start
// (src/plugins/limits.ts, issue 13 item 10).
import { createServer } from 'node:http'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import { assertProblem, build, onSqlite } from '../helper.js'

t.test('live and ready answer 200 on a healthy server, uncached', async (t) => {
  const a = await build(t)
  const live = await a.inject({ method: 'GET', url: '/health/live' })
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })
  t.equal(live.headers['cache-control'], 'no-store')
  const ready = await a.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ok', checks: { database: 'ok', migrations: 'ok', shutdown: 'ok', load: 'ok' } })
  t.equal(ready.headers['cache-control'], 'no-store')
  t.same((await a.inject({ method: 'GET', url: '/health' })).json(), { status: 'ok' }, '/health as before')
})

t.test('not ready while a migration of this build is missing', onSqlite, async (t) => {
  const a = await build(t)
  const sqlite = a.app.db.$client
  const last = sqlite.prepare('SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1').get() as { hash: string, created_at: number }
  t.equal(sqlite.prepare('DELETE FROM __drizzle_migrations WHERE created_at = ?').run(last.created_at).changes, 1)
  const body = assertProblem(t, await a.inject({ method: 'GET', url: '/health/ready' }), 503, 'not-ready')
  t.match(body.detail, /lacks migrations/)
  t.equal((await a.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'alive all the same')
  sqlite.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run(last.hash, last.created_at)
  t.equal((await a.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)
})

t.test('not ready when the database does not answer; live stays 200', onSqlite, async (t) => {
  const a = await build(t)
  a.app.db.$client.close()
  const body = assertProblem(t, await a.inject({ method: 'GET', url: '/health/ready' }), 503, 'not-ready')
  t.match(body.detail, /the database does not answer/)
  assertProblem(t, await a.inject({ method: 'GET', url: '/health' }), 503, 'unavailable')
  t.equal((await a.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
})

t.test('not ready from the start of shutdown, while everything else is still served', async (t) => {
  const a = await build(t)
  a.app.beginShutdown()
  const ready = await a.inject({ method: 'GET', url: '/health/ready' })
  const body = assertProblem(t, ready, 503, 'not-ready')
  t.match(body.detail, /shutting down/)
  t.equal(ready.headers['retry-after'], '1')
  t.equal((await a.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles' })).statusCode, 200, 'requests are still answered')
})

t.test('under overload: ready is 503 "shedding load", live and /metrics are never shed', async (t) => {
  const a = await build(t, { maxEventLoopUtilization: 0.5, loadSampleInterval: 100, metrics: true })
  // Past the start-up grace (two samples), then a saturated loop.
  await new Promise((resolve) => setTimeout(resolve, 250))
  const busyUntil = Date.now() + 400
  while (Date.now() < busyUntil) { /* saturate the event loop */ }
  await new Promise((resolve) => setTimeout(resolve, 1))
  t.ok(a.app.shedding(), 'the sample is over the limit')
  assertProblem(t, await a.inject({ method: 'GET', url: '/health' }), 503, 'overloaded')
  const ready = assertProblem(t, await a.inject({ method: 'GET', url: '/health/ready' }), 503, 'not-ready')
  t.match(ready.detail, /shedding load/)
  t.equal((await a.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
  const scrape = await a.inject({ method: 'GET', url: '/metrics' })
  t.equal(scrape.statusCode, 200)
  t.match(scrape.body, /\ngazette_load_shedding 1\n/)
})

// Issue 13 item 10: the first load sample covered start-up (migrations, schema compilation), so a server
// that had just started shed every request, /health included, for up to a sample interval.
// test/process/health.test.ts checks the same on a real server process.
t.test('a slow start-up is not taken for overload: the first answers after start are 200', async (t) => {
  // fetch's own first use blocks this process for a while; get it over with before the server starts.
  const warm = createServer((_req, res) => { res.end('warm') })
  await new Promise<void>((resolve) => warm.listen(0, '127.0.0.1', resolve))
  await (await fetch(`http://127.0.0.1:${(warm.address() as { port: number }).port}/`)).text()
  warm.close()

  // The default delay limit; utilisation-based shedding on, as an operator may set it; a 2 s sample.
  const app = await buildApp({
    config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, maxEventLoopUtilization: 0.9, loadSampleInterval: 2000 }
  })
  t.teardown(() => app.close())
  // Start-up work that blocks the event loop, as migrating a big database does.
  const busyUntil = Date.now() + 2500
  while (Date.now() < busyUntil) { /* start-up */ }
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  // The first sample interval after listening: the one the old sampling got wrong.
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) {
    statuses.push((await fetch(`http://127.0.0.1:${port}/health`)).status)
    statuses.push((await fetch(`http://127.0.0.1:${port}/health/ready`)).status)
  }
  t.same(statuses, Array(10).fill(200), `the first answers after start: ${statuses.join(' ')}`)
})
