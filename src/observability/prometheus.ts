// The Prometheus metrics (prom-client), made when METRICS=true: src/observability/metrics.ts imports this
// file only then. Every name is listed in the README's Operations section.
//
// Labels are bounded by construction: a route is its template (`/v1/articles/:slug`, or `unmatched`),
// never the URL; methods outside the usual few are `OTHER`; statuses are classes (`2xx`); problem types,
// repository operations and moderation outcomes are the server's own finite sets.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import type { FastifyInstance, onResponseHookHandler } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client'
import { commentModeration, webhookDelivery, type CommentModerationMessage, type WebhookDeliveryMessage } from './channels.js'
import type { OperationProbe } from './instrument.js'
import type { GaugeSource } from './metrics.js'

/** The route label of a request that matched no route (a 404 or 405). */
export const UNMATCHED = 'unmatched'
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
const PROBLEM_TYPE = /^\{"type":"\/problems\/([a-z0-9-]{1,64})"/

/** One series of a histogram: observing is a bucket search and three additions. */
class Series {
  readonly counts: Float64Array
  sum = 0
  count = 0
  constructor (readonly labels: Record<string, string>, private readonly bounds: number[]) {
    this.counts = new Float64Array(bounds.length)
  }

  observe (value: number): void {
    const { bounds } = this
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    if (i < bounds.length) this.counts[i]!++
    this.sum += value
    this.count++
  }
}

/**
 * A histogram for the per-request and per-query hot paths. prom-client's own Histogram validates and hashes
 * the label set on every observation, even through `labels()`; here a series is looked up once (callers keep
 * it) and an observation is a few additions (measured: bench/README.md#histogram-observations). It is
 * registered in prom-client's registry, which writes the exposition: `getForPromString()` returns what
 * prom-client's Histogram returns (the `le` label, then the series' labels as shared labels), so the text
 * is byte for byte the same (test/observability/metrics.test.ts compares them).
 */
export class FastHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly all = new Map<string, Series>()

  constructor (readonly name: string, readonly help: string, readonly labelNames: string[], private readonly bounds: number[], registry: Registry) {
    registry.registerMetric(this as unknown as Metric)
  }

  /** The series of these label values (in labelNames' order), made on first use. */
  series (...values: string[]): Series {
    const key = values.join('\u0000')
    let series = this.all.get(key)
    if (series === undefined) {
      series = new Series(Object.fromEntries(this.labelNames.map((name, i) => [name, values[i]!])), this.bounds)
      this.all.set(key, series)
    }
    return series
  }

  reset (): void { this.all.clear() }

  async getForPromString () {
    const bucket = `${this.name}_bucket`
    const values: Array<{ labels: Record<string, string | number>, sharedLabels: Record<string, string>, value: number, metricName: string }> = []
    for (const s of this.all.values()) {
      let cumulative = 0
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i]!
        values.push({ labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: bucket })
      })
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket })
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` })
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  /** As prom-client's get(): each value's labels whole (registry.getMetricsAsJSON()). */
  async get () {
    const data = await this.getForPromString()
    return { ...data, values: data.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName })) }
  }
}

export function installMetrics (app: FastifyInstance): { registry: Registry, addGauge: (source: GaugeSource) => void } {
  const registry = new Registry()
  const registers = [registry]
  // process_* and nodejs_*: CPU, memory, heap, GC, handles, and event-loop lag (nodejs_eventloop_lag_*).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })

  const http = new FastHistogram(
    'gazette_http_request_duration_seconds',
    'Time from a request\'s arrival to the end of its response, by route template, method and status class. Its _count is the request count.',
    ['route', 'method', 'status_class'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registry
  )
  const problems = new Counter<'type' | 'status'>({
    name: 'gazette_http_problems_total',
    help: 'Problem responses (application/problem+json) by problem type (/problems/<type>) and status.',
    labelNames: ['type', 'status'],
    registers
  })
  const rateLimited = new Counter<'route'>({
    name: 'gazette_rate_limited_total',
    help: 'Requests refused with 429 by a rate limit, by route template.',
    labelNames: ['route'],
    registers
  })
  const db = new FastHistogram(
    'gazette_db_operation_duration_seconds',
    'Time spent in each repository operation (<repository>.<method>): the database time of a request.',
    ['operation'],
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registry
  )
  const moderation = new Counter<'by' | 'status'>({
    name: 'gazette_comment_moderation_total',
    help: 'Comment moderation outcomes: by="auto" when a new comment is approved or held, by="moderator" for a moderator\'s status change or delete.',
    labelNames: ['by', 'status'],
    registers
  })
  const deliveries = new Counter<'outcome'>({
    name: 'gazette_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (delivered, failed, gave-up).',
    labelNames: ['outcome'],
    registers
  })

  // The response cache's own counters (src/plugins/public-cache.ts), read at scrape time.
  const cacheStats = () => app.responseCache?.stats()
  new Counter<'result'>({ // eslint-disable-line no-new
    name: 'gazette_response_cache_requests_total',
    help: 'Public GETs looked up in the response cache: result="hit" served from memory, "miss" went to the routes.',
    labelNames: ['result'],
    registers,
    collect () {
      const s = cacheStats()
      if (s === undefined) return
      this.reset()
      this.inc({ result: 'hit' }, s.hits)
      this.inc({ result: 'miss' }, s.misses)
    }
  })
  const cacheCounter = (name: string, help: string, read: (s: NonNullable<ReturnType<typeof cacheStats>>) => number) =>
    new Counter({ name, help, registers, collect () { const s = cacheStats(); if (s !== undefined) { this.reset(); this.inc(read(s)) } } })
  const cacheGauge = (name: string, help: string, read: (s: NonNullable<ReturnType<typeof cacheStats>>) => number) =>
    new Gauge({ name, help, registers, collect () { const s = cacheStats(); if (s !== undefined) this.set(read(s)) } })
  cacheCounter('gazette_response_cache_stores_total', 'Responses stored in the response cache.', (s) => s.stores)
  cacheCounter('gazette_response_cache_evictions_total', 'Entries evicted from the response cache to stay within RESPONSE_CACHE_MB (least recently used first).', (s) => s.evictions)
  cacheCounter('gazette_response_cache_invalidations_total', 'Times the response cache was emptied: a write that declared nothing, another process\'s write, or the clock moved on.', (s) => s.clears)
  cacheCounter('gazette_response_cache_purged_total', 'Entries dropped from the response cache by a write that touched what they were read from (their dependency keys).', (s) => s.purged)
  cacheGauge('gazette_response_cache_entries', 'Responses held in the response cache.', (s) => s.entries)
  cacheGauge('gazette_response_cache_bytes', 'Memory the response cache accounts for (bodies plus a per-entry overhead).', (s) => s.bytes)
  new Gauge({ // eslint-disable-line no-new
    name: 'gazette_response_cache_max_bytes',
    help: 'The response cache\'s budget (RESPONSE_CACHE_MB).',
    registers,
    collect () { this.set(app.config.responseCacheMb * 1024 * 1024) }
  })

  // The event loop: busy time as a counter (rate() of it is the utilisation over any window), and the
  // load sample that decides load shedding (src/plugins/limits.ts).
  new Counter({ // eslint-disable-line no-new
    name: 'gazette_event_loop_busy_seconds_total',
    help: 'Time the event loop spent busy (not waiting for I/O). rate() of it is the event-loop utilisation, 0 to 1.',
    registers,
    collect () { this.reset(); this.inc(performance.eventLoopUtilization().active / 1000) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gazette_load_event_loop_delay_seconds',
    help: 'Mean event-loop delay over the last load sample (LOAD_SAMPLE_INTERVAL), compared with MAX_EVENT_LOOP_DELAY.',
    registers,
    collect () { this.set(app.memoryUsage().eventLoopDelay / 1000) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gazette_load_event_loop_utilization',
    help: 'Event-loop utilisation over the last load sample, compared with MAX_EVENT_LOOP_UTILIZATION.',
    registers,
    collect () { this.set(app.memoryUsage().eventLoopUtilized) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gazette_load_shedding',
    help: '1 while requests are being shed with 503 because the event loop is overloaded, else 0.',
    registers,
    collect () { this.set(app.shedding() ? 1 : 0) }
  })

  // Per request, one observation in a series found without building a string: each route gets its own
  // onResponse hook (added as the route is registered) holding its series by method and status class;
  // requests that match no route are counted by one global hook.
  const classes = ['1xx', '2xx', '3xx', '4xx', '5xx']
  function recorder (route: string) {
    // By method, the series of each status class (1xx…5xx), each made when first needed.
    const byMethod = new Map<string, Array<Series | undefined>>()
    return (method: string, status: number, seconds: number): void => {
      let series = byMethod.get(method)
      if (series === undefined) {
        series = [undefined, undefined, undefined, undefined, undefined]
        byMethod.set(method, series)
      }
      const i = Math.min(Math.max(Math.floor(status / 100), 1), 5) - 1
      let s = series[i]
      if (s === undefined) {
        s = http.series(route, METHODS.has(method) ? method : 'OTHER', classes[i]!)
        series[i] = s
      }
      s.observe(seconds)
      if (status === 429) rateLimited.inc({ route })
    }
  }
  app.addHook('onRoute', (route) => {
    const record = recorder(route.url)
    const hook: onResponseHookHandler = (request, reply, done) => {
      record(request.method, reply.statusCode, reply.elapsedTime / 1000)
      done()
    }
    route.onResponse = route.onResponse === undefined ? [hook] : [...([] as onResponseHookHandler[]).concat(route.onResponse), hook]
  })
  const unmatched = recorder(UNMATCHED)
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) unmatched(request.method, reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
  // Problems are serialised with `type` first (the Problem schema's order): read it from the bytes.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.statusCode >= 400 && typeof payload === 'string') {
      const contentType = reply.getHeader('content-type')
      if (typeof contentType === 'string' && contentType.startsWith('application/problem+json')) {
        problems.inc({ type: PROBLEM_TYPE.exec(payload)?.[1] ?? 'unknown', status: String(reply.statusCode) })
      }
    }
    done(null, payload)
  })

  const probe: OperationProbe = (operation) => {
    const series = db.series(operation)
    const start = performance.now()
    return () => { series.observe((performance.now() - start) / 1000) }
  }
  app.operationProbes.push(probe)

  const onModeration = (message: unknown) => {
    const m = message as CommentModerationMessage
    moderation.inc({ by: m.by, status: m.status })
  }
  const onDelivery = (message: unknown) => { deliveries.inc({ outcome: (message as WebhookDeliveryMessage).outcome }) }
  subscribe(commentModeration.name, onModeration)
  subscribe(webhookDelivery.name, onDelivery)
  app.addHook('onClose', async () => {
    unsubscribe(commentModeration.name, onModeration)
    unsubscribe(webhookDelivery.name, onDelivery)
  })

  /**
   * A gauge of another part of the server, read at scrape time (app.addMetricGauge). Not prom-client's
   * Gauge, which reports 0 for an unlabelled gauge it has no value for: a gauge that could not be read
   * (say, the outbox's age) must be absent from the scrape, not 0, which would read as "all is well".
   */
  function addGauge (source: GaugeSource): void {
    const labelNames = source.labelNames ?? []
    for (const name of [source.name, ...labelNames]) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`not a Prometheus name: ${name}`)
    }
    const gauge = {
      name: source.name,
      help: source.help,
      type: 'gauge',
      aggregator: 'sum',
      labelNames,
      reset () {},
      async get () {
        let value: number | Array<{ labels: Record<string, string>, value: number }>
        try {
          value = await source.read()
        } catch (err) {
          app.log.warn({ err, metric: source.name }, 'a gauge could not be read; it is left out of this scrape')
          value = []
        }
        const values = typeof value === 'number' ? [{ labels: {}, value }] : value
        return { name: source.name, help: source.help, type: 'gauge', aggregator: 'sum', values }
      }
    }
    registry.registerMetric(gauge as unknown as Metric)
  }

  return { registry, addGauge }
}
