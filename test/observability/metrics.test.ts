// GET /metrics (src/observability/metrics.ts, prometheus.ts): off by default, protected by METRICS_TOKEN,
// and what each family counts, checked against requests this test makes.
import { createRequire } from 'node:module'
import t from 'tap'
import { assertProblem, build, createArticle, metric, scrape } from '../helper.js'

// First in this file, before any test loads prom-client.
t.test('off unless METRICS=true: 404, and no hook, probe, prom-client or OpenTelemetry at all', async (t) => {
  const a = await build(t)
  await a.inject({ method: 'GET', url: '/v1/articles' })
  assertProblem(t, await a.inject({ method: 'GET', url: '/metrics' }), 404, 'not-found')
  t.equal(a.app.operationProbes.length, 0, 'repositories are not wrapped')
  const loaded = Object.keys(createRequire(import.meta.url).cache)
  t.ok(loaded.some((file) => file.includes('/node_modules/fastify/')), 'the module cache is where CommonJS packages show')
  t.notOk(loaded.some((file) => /\/node_modules\/(prom-client|@opentelemetry)\//.test(file)), 'neither prom-client nor OpenTelemetry was loaded')
})

t.test('requests by route template, method and status class, with a latency histogram', async (t) => {
  const a = await build(t, { metrics: true })
  await createArticle(a, { title: 'Counted', status: 'published' })
  for (let i = 0; i < 3; i++) await a.inject({ method: 'GET', url: '/v1/articles/counted' })
  await a.inject({ method: 'GET', url: '/v1/articles/missing' })
  await a.inject({ method: 'GET', url: '/no/such/route' })
  await a.inject({ method: 'DELETE', url: '/health' })
  // light-my-request 6.6.0 (pinned for Node 20) types seven methods but sends any.
  await a.inject({ method: 'PROPFIND' as unknown as 'GET', url: '/v1/articles' })
  await a.inject({ method: 'HEAD', url: '/v1/articles/counted' })
  const m = await scrape(a)

  const count = (labels: Record<string, string>) => metric(m, 'gazette_http_request_duration_seconds_count', labels)
  t.equal(count({ route: '/v1/articles/:slug', method: 'GET', status_class: '2xx' }), 3)
  t.equal(count({ route: '/v1/articles/:slug', method: 'HEAD', status_class: '2xx' }), 1)
  t.equal(count({ route: '/v1/articles/:slug', method: 'GET', status_class: '4xx' }), 1)
  t.equal(count({ route: '/v1/articles', method: 'POST', status_class: '2xx' }), 1)
  t.equal(count({ route: 'unmatched', status_class: '4xx' }), 3, 'unknown paths and methods: one label, not their URLs')
  t.equal(count({ method: 'OTHER' }), 1, 'an unusual method is OTHER')
  t.equal(metric(m, 'gazette_http_request_duration_seconds_bucket', { route: '/v1/articles/:slug', method: 'GET', status_class: '2xx', le: '+Inf' }), 3)
  t.ok(metric(m, 'gazette_http_request_duration_seconds_sum', { route: '/v1/articles/:slug', status_class: '2xx' }) > 0)
  t.notOk(m.some((s) => Object.values(s.labels).some((v) => v.includes('counted') || v.includes('missing') || v.includes('/no/such'))), 'no raw URL in any label')

  t.equal(metric(m, 'gazette_http_problems_total', { type: 'not-found', status: '404' }), 2)
  t.equal(metric(m, 'gazette_http_problems_total', { type: 'method-not-allowed', status: '405' }), 2)
  for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'gazette_event_loop_busy_seconds_total',
    'gazette_load_event_loop_delay_seconds', 'gazette_load_event_loop_utilization', 'process_cpu_seconds_total', 'process_resident_memory_bytes']) {
    t.ok(m.some((s) => s.name === name), `${name} is exposed`)
  }
  t.equal(metric(m, 'gazette_load_shedding'), 0)
  t.ok(metric(m, 'gazette_event_loop_busy_seconds_total') > 0)

  const res = await a.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  t.equal(res.headers['cache-control'], 'no-store')
})

t.test('1,000 distinct slugs do not make 1,000 series', async (t) => {
  const a = await build(t, { metrics: true })
  const series = async () => (await scrape(a)).filter((s) => s.name.startsWith('gazette_')).map((s) => `${s.name}${JSON.stringify(s.labels)}`)
  for (let i = 0; i < 10; i++) await a.inject({ method: 'GET', url: `/v1/articles/warm-up-${i}` })
  for (let i = 0; i < 10; i++) await a.inject({ method: 'GET', url: `/nowhere/warm-up-${i}` })
  // The first scrape adds the series of /metrics itself; the second is the baseline.
  await series()
  const before = await series()
  for (let i = 0; i < 1000; i++) {
    await a.inject({ method: 'GET', url: `/v1/articles/slug-number-${i}` })
    await a.inject({ method: 'GET', url: `/nowhere/${i}` })
  }
  const after = await series()
  t.same(after, before, `the same ${before.length} series after 2,000 distinct URLs`)
  t.equal(metric(await scrape(a), 'gazette_http_request_duration_seconds_count', { route: '/v1/articles/:slug' }), 1010)
})

t.test('METRICS_TOKEN: a scrape needs it, API tokens do not open it, it opens nothing else', async (t) => {
  const token = 'metrics-scrape-token-0123456789'
  const a = await build(t, { metrics: true, metricsToken: token })
  assertProblem(t, await a.inject({ method: 'GET', url: '/metrics' }), 401, 'unauthorized')
  assertProblem(t, await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } }), 401, 'unauthorized')
  assertProblem(t, await a.as('admin', { method: 'GET', url: '/metrics' }), 401, 'unauthorized')
  const ok = await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } })
  t.equal(ok.statusCode, 200)
  t.match(ok.body, /gazette_http_request_duration_seconds_count\{route="\/metrics",method="GET",status_class="4xx"\} 3/)
  // As an API token it is unknown: everywhere else it is refused like any other unknown token.
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles', headers: { authorization: `Bearer ${token}` } }), 401, 'unauthorized')
})

t.test('the hot-path histogram writes what prom-client\'s Histogram writes, byte for byte', async (t) => {
  const { Histogram, Registry } = await import('prom-client')
  const { FastHistogram } = await import('../../src/observability/prometheus.js')
  const buckets = [0.001, 0.01, 0.1, 1]
  const ours = new Registry()
  const theirs = new Registry()
  const fast = new FastHistogram('h_seconds', 'A histogram.', ['route', 'method'], buckets, ours)
  const reference = new Histogram({ name: 'h_seconds', help: 'A histogram.', labelNames: ['route', 'method'], buckets, registers: [theirs] })
  // Values on the bounds, between them, below the first and above the last, on two series.
  const values = [0, 0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.99, 1, 1.5, 42]
  for (const [route, method] of [['/v1/articles/:slug', 'GET'], ['unmatched', 'OTHER']] as const) {
    const series = fast.series(route, method)
    values.forEach((v, i) => {
      for (let k = 0; k <= i % 3; k++) {
        series.observe(v)
        reference.observe({ route, method }, v)
      }
    })
  }
  t.equal(await ours.metrics(), await theirs.metrics())
  // As JSON too (prom-client adds an empty exemplar to its buckets).
  const json = async (r: InstanceType<typeof Registry>) => (await r.getMetricsAsJSON()).map((m) =>
    ({ ...m, values: m.values.map((v) => ({ labels: v.labels, value: v.value, metricName: (v as { metricName?: string }).metricName })) }))
  t.same(await json(ours), await json(theirs))
  ours.resetMetrics()
  theirs.resetMetrics()
  t.equal(await ours.metrics(), await theirs.metrics(), 'reset empties both')
})
