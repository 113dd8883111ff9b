// GET /metrics: Prometheus text exposition. Off unless METRICS=true (then prom-client is loaded and the
// hooks of src/observability/prometheus.ts are added; otherwise neither, and /metrics is a 404). With
// METRICS_TOKEN set, a scrape must send `Authorization: Bearer <METRICS_TOKEN>`. That token is not an API
// token: it is checked here, before the API's authentication, which then does not see it.
//
// Two plugins: the default one is registered before every other route and hook (src/app.ts), so that each
// route gets its metrics hook and the token is checked before authentication; `metricsRoute` adds the
// route itself once the OpenAPI plugin is there to document it.
//
// Other parts of the server add metrics without importing prom-client (which stays unloaded when metrics
// are off): events are published on node:diagnostics_channel (src/observability/channels.ts) and counted
// by prometheus.ts; a state read at scrape time (a queue's depth, the outbox's oldest entry) is a gauge
// given to `app.addMetricGauge`, which does nothing when metrics are off.
import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { Registry } from 'prom-client'
import { Type } from 'typebox'
import { NotFound, Unauthorized } from '../http/errors.js'
import { problems } from '../http/schemas.js'

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest()

/** One value of a labelled gauge. */
export interface GaugeValue { labels: Record<string, string>, value: number }

/** A gauge read at each scrape (never per request). */
export interface GaugeSource {
  /** `gazette_<what>_<unit>`, e.g. `gazette_outbox_oldest_age_seconds`; listed in the README's Operations section. */
  name: string
  help: string
  /** When read() returns labelled values: their names. Label values must come from a small fixed set. */
  labelNames?: string[]
  /** The value now, or one per label set. A read that throws is logged and leaves the gauge out of that scrape. */
  read: () => number | GaugeValue[] | Promise<number | GaugeValue[]>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** prom-client's registry when METRICS=true. */
    metricsRegistry: Registry | undefined
    /** Exposes a gauge at /metrics when METRICS=true; does nothing otherwise (see GaugeSource). */
    addMetricGauge: (source: GaugeSource) => void
  }
}

export default fp(async (app) => {
  const { metrics, metricsToken } = app.config
  const installed = metrics ? (await import('./prometheus.js')).installMetrics(app) : undefined
  const registry = installed?.registry
  app.decorate('metricsRegistry', registry)
  app.decorate('addMetricGauge', installed?.addGauge ?? (() => {}))

  if (registry !== undefined && metricsToken !== undefined) {
    const expected = sha256(metricsToken)
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.routeOptions.url !== '/metrics') {
        done()
        return
      }
      const given = /^Bearer ([\x21-\x7e]{1,200})$/i.exec(request.headers.authorization ?? '')?.[1]
      if (given === undefined || !timingSafeEqual(sha256(given), expected)) {
        done(new Unauthorized('/metrics needs Authorization: Bearer <METRICS_TOKEN>.'))
        return
      }
      delete request.headers.authorization
      done()
    })
  }
}, { name: 'metrics' })

export const metricsRoute = fp(async (app) => {
  const registry = app.metricsRegistry
  app.get('/metrics', {
    // A scrape during overload is when the numbers matter most: never shed.
    config: { shedding: false },
    schema: {
      tags: ['meta'],
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      description: [
        'Metrics in the Prometheus text exposition format (`text/plain; version=0.0.4`): requests by route template, method and status class with a latency histogram, problems by type, the response cache, database time by repository operation, comment moderation outcomes, rate-limit refusals, event-loop delay and utilisation, load shedding, and the Node.js process. The README\'s Operations section lists every name.',
        'Off unless the server runs with `METRICS=true` (404 otherwise). When `METRICS_TOKEN` is set, send it as `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise); it is not an API token, and API tokens do not open `/metrics`.'
      ].join('\n\n'),
      security: [{}, { metricsToken: [] }],
      response: {
        200: {
          description: 'The metrics.',
          content: {
            'text/plain': {
              schema: Type.String({
                examples: ['# HELP gazette_http_request_duration_seconds Time from a request\'s arrival to the end of its response, by route template, method and status class. Its _count is the request count.\n# TYPE gazette_http_request_duration_seconds histogram\ngazette_http_request_duration_seconds_bucket{le="0.001",route="/v1/articles/:slug",method="GET",status_class="2xx"} 1520\n']
              })
            }
          }
        },
        ...problems(404, 422)
      }
    }
  }, async (_request, reply) => {
    if (registry === undefined) throw new NotFound('Metrics are off on this server (METRICS=true turns them on).')
    reply.header('content-type', registry.contentType).header('cache-control', 'no-store')
    return await registry.metrics()
  })
}, { name: 'metrics-route', dependencies: ['metrics'] })
