// What the metric families fed by other parts of the server count (src/observability/prometheus.ts):
// database operations, comment moderation, rate limits, the response cache, webhook deliveries and the
// gauges other parts add (app.addMetricGauge). metrics.test.ts has the rest.
import t from 'tap'
import { publish, webhookDelivery, type WebhookDeliveryMessage } from '../../src/observability/channels.js'
import { instrumented } from '../../src/observability/instrument.js'
import { assertProblem, build, createArticle, metric, parseMetrics, postComment, scrape } from '../helper.js'

const reader = { authorName: 'Ivan', authorEmail: 'ivan@example.com', body: 'Hello.' }

t.test('database time by repository operation, for every repository method', async (t) => {
  const a = await build(t, { metrics: true })
  await createArticle(a, { title: 'Timed', status: 'published', tags: ['News'] })
  await a.inject({ method: 'GET', url: '/v1/articles/timed' })
  await a.inject({ method: 'GET', url: '/v1/tags/news' })
  await a.inject({ method: 'GET', url: '/v1/articles?limit=5' })
  const m = await scrape(a)
  const ops = new Set(m.filter((s) => s.name === 'gazette_db_operation_duration_seconds_count').map((s) => s.labels.operation))
  for (const op of ['tokens.findBySecret', 'articles.create', 'articles.answer', 'articles.list', 'tags.findBySlug']) {
    t.ok(ops.has(op), `${op} is timed`)
  }
  t.ok([...ops].every((op) => /^[a-zA-Z]+\.[a-zA-Z]+$/.test(op!)), `labels are <repository>.<method>: ${[...ops].join(', ')}`)
  t.ok(metric(m, 'gazette_db_operation_duration_seconds_sum', { operation: 'articles.create' }) > 0)
  // The services call the same (wrapped) objects: a slug check made by the article service is counted.
  t.ok(metric(m, 'gazette_db_operation_duration_seconds_count', { operation: 'articles.slugTaken' }) >= 1)
})

t.test('every repository the app is decorated with is timed: a new one cannot be forgotten', async (t) => {
  const a = await build(t, { metrics: true })
  // Repositories and services are plain objects of functions; services call repositories (timed there),
  // the response cache is not the database, the query budget arms the connection's watchdog, and upkeep
  // runs background steps outside any request (its own log line says when the budget stops one); so do
  // the retention job and the webhook dispatcher (over repositories timed there), and the outbox writes
  // inside other repositories' transactions, timed as part of them.
  // (A repository may hold a part of itself as a nested object of functions: articles.announcements.)
  const plain = (value: unknown): value is Record<string, unknown> =>
    value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
  const objectsOfFunctions = Object.keys(a.app).filter((key) => {
    const value = (a.app as unknown as Record<string, unknown>)[key]
    return plain(value) && Object.values(value).some((v) => typeof v === 'function') &&
      Object.values(value).every((v) => typeof v === 'function' || (plain(v) && Object.values(v).every((w) => typeof w === 'function')))
  })
  const repositories = objectsOfFunctions.filter((key) => !key.endsWith('Service') && !['responseCache', 'queryBudget', 'upkeep', 'retention', 'webhookDispatcher', 'outbox'].includes(key))
  t.ok(repositories.includes('articles') && repositories.includes('comments'), `found: ${repositories.join(', ')}`)
  for (const key of repositories) {
    t.ok(instrumented.has((a.app as unknown as Record<string, object>)[key]!), `app.${key} is in the list of src/plugins/repositories.ts`)
  }
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
  await a.settled()
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
  t.equal(metric(m, 'gazette_response_cache_purged_total'), stats.purged)
  t.ok(stats.bytes <= 1024 * 1024)
  t.equal(metric(m, 'gazette_response_cache_max_bytes'), 1024 * 1024)
  // A write to big-5 drops its page (a purge by its dependency keys); one that declares nothing empties the cache.
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/big-5', payload: { title: 'Big 5, edited' } })
  await a.inject({ method: 'GET', url: '/v1/articles/big-5' })
  const purged = await scrape(a)
  t.ok(metric(purged, 'gazette_response_cache_purged_total') > metric(m, 'gazette_response_cache_purged_total'), 'a write purges what it touched')
  t.equal(metric(purged, 'gazette_response_cache_invalidations_total'), metric(m, 'gazette_response_cache_invalidations_total'), 'and empties nothing else')
  await a.app.tokens.create('a write that declares nothing', 'editor')
  await a.settled() // on PostgreSQL, its notification heard
  await a.inject({ method: 'GET', url: '/v1/articles/big-5' })
  t.ok(metric(await scrape(a), 'gazette_response_cache_invalidations_total') > metric(m, 'gazette_response_cache_invalidations_total'), 'a write that declares nothing empties it')
})

t.test('webhook delivery outcomes, published on their channel by whoever delivers', async (t) => {
  const a = await build(t, { metrics: true })
  for (const outcome of ['delivered', 'delivered', 'failed', 'gave-up'] as const) publish<WebhookDeliveryMessage>(webhookDelivery, { outcome })
  const m = await scrape(a)
  t.equal(metric(m, 'gazette_webhook_deliveries_total', { outcome: 'delivered' }), 2)
  t.equal(metric(m, 'gazette_webhook_deliveries_total', { outcome: 'failed' }), 1)
  t.equal(metric(m, 'gazette_webhook_deliveries_total', { outcome: 'gave-up' }), 1)
  await a.app.close()
  publish<WebhookDeliveryMessage>(webhookDelivery, { outcome: 'delivered' })
  t.equal(metric(parseMetrics(await a.app.metricsRegistry!.metrics()), 'gazette_webhook_deliveries_total', { outcome: 'delivered' }), 2, 'a closed app no longer listens')
})

t.test('gauges of other parts (app.addMetricGauge): read at each scrape, labelled or not; one that fails is left out', async (t) => {
  const a = await build(t, { metrics: true })
  let oldest = 12.5
  let reads = 0
  a.app.addMetricGauge({ name: 'gazette_test_oldest_age_seconds', help: 'Age of the oldest entry.', read: async () => { reads++; return oldest } })
  a.app.addMetricGauge({
    name: 'gazette_test_queue_depth',
    help: 'Entries waiting, by queue.',
    labelNames: ['queue'],
    read: () => [{ labels: { queue: 'a' }, value: 3 }, { labels: { queue: 'b' }, value: 0 }]
  })
  a.app.addMetricGauge({ name: 'gazette_test_broken', help: 'Cannot be read.', read: () => { throw new Error('the table is gone') } })
  t.throws(() => a.app.addMetricGauge({ name: 'gazette_test_queue_depth', help: 'Again.', read: () => 1 }), /already been registered/, 'a name is taken once')
  t.throws(() => a.app.addMetricGauge({ name: 'gazette-outbox', help: 'Bad.', read: () => 1 }), /not a Prometheus name/)
  t.throws(() => a.app.addMetricGauge({ name: 'gazette_outbox', help: 'Bad.', labelNames: ['a b'], read: () => 1 }), /not a Prometheus name/)
  await a.inject({ method: 'GET', url: '/v1/articles' })
  t.equal(reads, 0, 'not read per request')

  let m = await scrape(a)
  t.equal(metric(m, 'gazette_test_oldest_age_seconds'), 12.5)
  t.equal(metric(m, 'gazette_test_queue_depth', { queue: 'a' }), 3)
  t.equal(metric(m, 'gazette_test_queue_depth', { queue: 'b' }), 0)
  t.notOk(m.some((s) => s.name === 'gazette_test_broken'), 'the failing gauge is left out, the scrape still answers')
  oldest = 0.25
  m = await scrape(a)
  t.equal(metric(m, 'gazette_test_oldest_age_seconds'), 0.25, 'read again at the next scrape')
  t.equal(reads, 2)

  const off = await build(t)
  off.app.addMetricGauge({ name: 'gazette_test_oldest_age_seconds', help: 'Age.', read: () => { reads++; return 1 } })
  assertProblem(t, await off.inject({ method: 'GET', url: '/metrics' }), 404, 'not-found')
  t.equal(reads, 2, 'metrics off: accepted and never read')
})
