// The Prometheus metrics (prom-client), made when METRICS=true: src/observability/metrics.ts imports this
// file only then. Every name is listed in the README's Operations section.
//
// Labels are bounded by construction: a route is its template (`/v1/articles/:slug`, or `unmatched`),
// never the URL; methods outside the usual few are `OTHER`; statuses are classes (`2xx`); problem types,
// repository operations and moderation outcomes are the server's own finite sets.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { commentModeration, webhookDelivery, type CommentModerationMessage, type WebhookDeliveryMessage } from './channels.js'
import type { OperationProbe } from './instrument.js'

/** The route label of a request that matched no route (a 404 or 405). */
export const UNMATCHED = 'unmatched'
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
const PROBLEM_TYPE = /^\{"type":"\/problems\/([a-z0-9-]{1,64})"/

type HttpLabels = { route: string, method: string, status_class: string }

export function installMetrics (app: FastifyInstance): Registry {
  const registry = new Registry()
  const registers = [registry]
  // process_* and nodejs_*: CPU, memory, heap, GC, handles, and event-loop lag (nodejs_eventloop_lag_*).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })

  const http = new Histogram<keyof HttpLabels>({
    name: 'gazette_http_request_duration_seconds',
    help: 'Time from a request\'s arrival to the end of its response, by route template, method and status class. Its _count is the request count.',
    labelNames: ['route', 'method', 'status_class'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers
  })
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
  const db = new Histogram<'operation'>({
    name: 'gazette_db_operation_duration_seconds',
    help: 'Time spent in each repository operation (<repository>.<method>): the database time of a request.',
    labelNames: ['operation'],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers
  })
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

  // The response cache's own counters (src/http/response-cache.ts), read at scrape time.
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
  cacheCounter('gazette_response_cache_invalidations_total', 'Times the response cache was emptied because the database or the clock moved on.', (s) => s.clears)
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

  // Per request: one histogram observation with a cached label set, and a counter for the rare 429.
  const labelCache = new Map<string, HttpLabels>()
  function httpLabels (route: string, method: string, status: number): HttpLabels {
    const m = METHODS.has(method) ? method : 'OTHER'
    const statusClass = `${Math.floor(status / 100)}xx`
    const key = `${m} ${statusClass} ${route}`
    let labels = labelCache.get(key)
    if (labels === undefined) {
      labels = { route, method: m, status_class: statusClass }
      labelCache.set(key, labels)
    }
    return labels
  }
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED
    const status = reply.statusCode
    http.observe(httpLabels(route, request.method, status), reply.elapsedTime / 1000)
    if (status === 429) rateLimited.inc({ route })
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

  const operationLabels = new Map<string, { operation: string }>()
  const probe: OperationProbe = (operation) => {
    const start = performance.now()
    let labels = operationLabels.get(operation)
    if (labels === undefined) {
      labels = { operation }
      operationLabels.set(operation, labels)
    }
    const bound = labels
    return () => { db.observe(bound, (performance.now() - start) / 1000) }
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

  return registry
}
