// GET /metrics (src/observability/metrics.ts, prometheus.ts): off by default, protected by METRICS_TOKEN,
// and what each family counts, checked against requests this test makes.
import { createRequire } from 'node:module'
import t from 'tap'
import { assertProblem, build, createArticle, metric, parseMetrics, postComment, type TestApp } from '../helper.js'

async function scrape (a: TestApp, headers: Record<string, string> = {}) {
  const res = await a.inject({ method: 'GET', url: '/metrics', headers })
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}: ${res.body}`)
  return parseMetrics(res.body)
}

const reader = { authorName: 'Ivan', authorEmail: 'ivan@example.com', body: 'Hello.' }

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
  await a.inject({ method: 'PROPFIND', url: '/v1/articles' })
  const m = await scrape(a)

  const count = (labels: Record<string, string>) => metric(m, 'gazette_http_request_duration_seconds_count', labels)
  t.equal(count({ route: '/v1/articles/:slug', method: 'GET', status_class: '2xx' }), 3)
  t.equal(count({ route: '/v1/articles/:slug', method: 'GET', status_class: '4xx' }), 1)
  t.equal(count({ route: '/v1/articles', method: 'POST', status_class: '2xx' }), 1)
  t.equal(count({ route: 'unmatched', status_class: '4xx' }), 3, 'unknown paths and methods: one label, not their URLs')
  t.equal(count({ method: 'OTHER' }), 1, 'an unusual method is OTHER')
  t.equal(metric(m, 'gazette_http_request_duration_seconds_bucket', { route: '/v1/articles/:slug', status_class: '2xx', le: '+Inf' }), 3)
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

t.test('database time by repository operation, for every repository method', async (t) => {
  const a = await build(t, { metrics: true })
  await createArticle(a, { title: 'Timed', status: 'published', tags: ['News'] })
  await a.inject({ method: 'GET', url: '/v1/articles/timed' })
  await a.inject({ method: 'GET', url: '/v1/tags/news' })
  await a.inject({ method: 'GET', url: '/v1/articles?limit=5' })
  const m = await scrape(a)
  const ops = new Set(m.filter((s) => s.name === 'gazette_db_operation_duration_seconds_count').map((s) => s.labels.operation))
  for (const op of ['tokens.findBySecret', 'articles.create', 'articles.findRowBySlug', 'articles.list', 'tags.findBySlug']) {
    t.ok(ops.has(op), `${op} is timed`)
  }
  t.ok([...ops].every((op) => /^[a-zA-Z]+\.[a-zA-Z]+$/.test(op!)), `labels are <repository>.<method>: ${[...ops].join(', ')}`)
  t.ok(metric(m, 'gazette_db_operation_duration_seconds_sum', { operation: 'articles.create' }) > 0)
  // The services call the same (wrapped) objects: a slug check made by the article service is counted.
  t.ok(metric(m, 'gazette_db_operation_duration_seconds_count', { operation: 'articles.slugTaken' }) >= 1)
})

t.test('comment moderation outcomes and rate-limit refusals', async (t) => {
  const a = await build(t, { metrics: true, commentModeration: 'first', commentRateLimit: 3 })
  await createArticle(a, { title: 'Talk', status: 'published' })
  const first = (await postComment(a, 'talk', reader)).json()
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${first.id}`, payload: { status: 'approved' } })
  const second = (await postComment(a, 'talk', reader)).json()
  t.equal(second.status, 'approved', 'the known author is approved at once')
  const third = (await postComment(a, 'talk', { ...reader, authorEmail: 'new@example.com' })).json()
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${third.id}`, payload: { status: 'spam' } })
  await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${second.id}` })
  assertProblem(t, await postComment(a, 'talk', reader), 429, 'rate-limited')
  assertProblem(t, await postComment(a, 'talk', reader), 429, 'rate-limited')

  const m = await scrape(a)
  const moderation = (labels: Record<string, string>) => metric(m, 'gazette_comment_moderation_total', labels)
  t.equal(moderation({ by: 'auto', status: 'pending' }), 2)
  t.equal(moderation({ by: 'auto', status: 'approved' }), 1)
  t.equal(moderation({ by: 'moderator', status: 'approved' }), 1)
  t.equal(moderation({ by: 'moderator', status: 'spam' }), 1)
  t.equal(moderation({ by: 'moderator', status: 'deleted' }), 1)
  t.equal(metric(m, 'gazette_rate_limited_total', { route: '/v1/articles/:slug/comments' }), 2)
  t.equal(metric(m, 'gazette_http_problems_total', { type: 'rate-limited' }), 2)
})

t.test('the response cache: hits, misses, stores, evictions, invalidations, entries, bytes', async (t) => {
  const a = await build(t, { metrics: true, responseCacheMb: 1 })
  // Six articles of ~200 KB (body and bodyHtml): their pages do not all fit in 1 MB, so the oldest are evicted.
  for (let i = 0; i < 6; i++) await createArticle(a, { title: `Big ${i}`, body: `${'word '.repeat(20_000)}`, status: 'published' })
  for (let i = 0; i < 6; i++) await a.inject({ method: 'GET', url: `/v1/articles/big-${i}` })
  await a.inject({ method: 'GET', url: '/v1/articles/big-5' })
  const m = await scrape(a)
  const stats = a.app.responseCache.stats()
  t.equal(metric(m, 'gazette_response_cache_requests_total', { result: 'hit' }), 1)
  t.equal(metric(m, 'gazette_response_cache_requests_total', { result: 'miss' }), stats.misses)
  t.ok(stats.misses >= 6)
  t.equal(metric(m, 'gazette_response_cache_stores_total'), 6)
  t.ok(metric(m, 'gazette_response_cache_evictions_total') >= 1, 'entries were evicted to stay within 1 MB')
  t.equal(metric(m, 'gazette_response_cache_evictions_total'), stats.evictions)
  t.equal(metric(m, 'gazette_response_cache_entries'), stats.entries)
  t.equal(metric(m, 'gazette_response_cache_bytes'), stats.bytes)
  t.ok(stats.bytes <= 1024 * 1024)
  t.equal(metric(m, 'gazette_response_cache_max_bytes'), 1024 * 1024)
  await createArticle(a, { title: 'A write', status: 'published' })
  await a.inject({ method: 'GET', url: '/v1/articles/big-5' })
  t.ok(metric(await scrape(a), 'gazette_response_cache_invalidations_total') > metric(m, 'gazette_response_cache_invalidations_total'), 'a write empties it')
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
