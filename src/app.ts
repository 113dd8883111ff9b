// Builds the Gazette application from options. It never listens: src/server.ts does, and tests use
// app.inject() or listen on an ephemeral port themselves.
//
// The application is a list: server options, decorations, then PIPELINE (every plugin that adds hooks or
// decorators, in the order their hooks run), then the routes. src/http/README.md explains the order, row by
// row; test/http/lifecycle.test.ts holds the two to each other.
import Fastify, { type FastifyInstance, type FastifyHttpOptions, type FastifyPluginAsync, type FastifyPluginCallback, type FastifyServerOptions } from 'fastify'
import type { Server } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { configWarnings, type Config } from './config.js'
import { sharedSchemas } from './components.js'
import dbPlugin from './db/plugin.js'
import { buildValidator } from './http/validation.js'
import { buildSerializer } from './http/serialization.js'
import { clientErrorHandler, frameworkErrors } from './http/client-errors.js'
import problemsPlugin from './plugins/problems.js'
import authPlugin from './plugins/auth.js'
import cacheControlPlugin from './plugins/cache-control.js'
import publicCachePlugin, { preparedHits } from './plugins/public-cache.js'
import representationPlugin from './plugins/representation.js'
import corsPlugin from './plugins/cors.js'
import idempotencyPlugin from './plugins/idempotency.js'
import securityHeadersPlugin from './plugins/security-headers.js'
import limitsPlugin from './plugins/limits.js'
import openapiPlugin from './plugins/openapi.js'
import repositories from './plugins/repositories.js'
import queryBudgetPlugin from './plugins/query-budget.js'
import requestIdPlugin, { requestId } from './plugins/request-id.js'
import routePipeline from './plugins/route-pipeline.js'
import upkeepPlugin from './plugins/upkeep.js'
import searchRateLimitPlugin from './plugins/search-rate-limit.js'
import articleRoutes from './articles/routes.js'
import revisionRoutes from './revisions/routes.js'
import tagRoutes from './tags/routes.js'
import commentRoutes from './comments/routes.js'
import privacyRoutes from './privacy/routes.js'
import retentionPlugin from './privacy/retention.js'
import tokenRoutes from './tokens/routes.js'
import eventLogPlugin, { type SchedulerOptions } from './events/plugin.js'
import eventRoutes from './events/routes.js'
import webhooksPlugin, { type WebhookOptions } from './webhooks/plugin.js'
import webhookRoutes from './webhooks/routes.js'
import feedRoutes from './feeds/routes.js'
import sitemapRoutes from './sitemaps/routes.js'
import healthPlugin from './observability/health.js'
import requestLogPlugin, { OneLinePerRequest } from './observability/logging.js'
import metricsPlugin, { metricsRoute } from './observability/metrics.js'
import tracingPlugin, { beginTrace, createRequestTracer, tracesUrl, type RequestTracer } from './observability/tracing.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** Milliseconds since the epoch; tests pass a clock they control. */
    clock: () => number
  }
}

export interface AppOptions {
  config: Config
  clock?: () => number
  logger?: FastifyServerOptions['logger']
  /** Background work: the publication scheduler and the webhook dispatcher (tests shorten their intervals and backoff). */
  workers?: Partial<SchedulerOptions> & WebhookOptions
}

/** What a stage's options are made from. */
interface Build { opts: AppOptions, tracer: RequestTracer }

/** One registration of PIPELINE: a plugin, its options, and why it stands where it does. */
export interface Stage {
  name: string
  // Plugins take differently shaped options; each stage passes what its own plugin declares.
  plugin: FastifyPluginAsync<any> | FastifyPluginCallback<any>
  options?: (b: Build) => object
  why: string
}

/**
 * Every plugin that adds hooks or decorators, in registration order. Hooks of one kind run in this order,
 * and an onRoute hook sees only routes registered after it. src/http/README.md has this table with the
 * hooks each stage adds.
 */
export const PIPELINE: readonly Stage[] = [
  { name: 'prepared-hits', plugin: preparedHits, why: 'First: a public-cache hit with a prepared answer skips every other hook (its headers hold their work).' },
  { name: 'request-id', plugin: requestIdPlugin, why: 'Every answer carries X-Request-Id, early 503s too.' },
  { name: 'tracing', plugin: tracingPlugin, options: (b) => ({ tracer: b.tracer }), why: 'Its hooks put the request\'s span in context for every later hook.' },
  { name: 'request-log', plugin: requestLogPlugin, why: 'One line per request, whatever answered it.' },
  { name: 'metrics', plugin: metricsPlugin, why: 'Before auth: METRICS_TOKEN is no API token; before any route, so each gets its recorder.' },
  { name: 'route-pipeline', plugin: routePipeline, why: 'Before any route is registered: the route contract, route-level hooks, GET+HEAD.' },
  { name: 'security-headers', plugin: securityHeadersPlugin, why: 'On early answers too.' },
  { name: 'cors', plugin: corsPlugin, why: 'Before auth: preflights carry no token.' },
  { name: 'problems', plugin: problemsPlugin, why: 'Before anything can throw: every error becomes problem+json; 405s need every route.' },
  { name: 'limits', plugin: limitsPlugin, why: 'Before auth: no token lookup when shedding, closing or refusing a long URL.' },
  { name: 'openapi', plugin: openapiPlugin, why: 'Collects every route registered after it.' },
  { name: 'metrics-route', plugin: metricsRoute, why: 'GET /metrics, checked by the metrics stage\'s token hook.' },
  { name: 'db', plugin: dbPlugin, options: (b) => ({ databasePath: b.opts.config.databasePath, cacheMb: b.opts.config.sqliteCacheMb, mmapMb: b.opts.config.sqliteMmapMb, postgres: b.opts.config.postgres, queryBudgetMs: b.opts.config.queryBudgetMs }), why: 'SQLite or PostgreSQL, migrated.' },
  { name: 'query-budget', plugin: queryBudgetPlugin, why: 'Armed after validation: a statement deadline per request.' },
  { name: 'repositories', plugin: repositories, why: 'Data access as decorators.' },
  { name: 'retention', plugin: retentionPlugin, why: 'After repositories: erases what the retention period ends.' },
  { name: 'upkeep', plugin: upkeepPlugin, why: 'After repositories: count settling and the sweeper.' },
  { name: 'auth', plugin: authPlugin, why: 'After limits and cors: request.caller; 401/403.' },
  { name: 'search-rate-limit', plugin: searchRateLimitPlugin, why: 'Before public-cache: a search answered from memory still counts.' },
  { name: 'public-cache', plugin: publicCachePlugin, why: 'After auth (tells a public request from a token\'s); stores the uncompressed body.' },
  { name: 'idempotency', plugin: idempotencyPlugin, why: 'Its stages are composed by route-pipeline: claim after validation.' },
  { name: 'cache-control', plugin: cacheControlPlugin, why: 'The last global onSend: Cache-Control and Vary on every answer.' },
  { name: 'representation', plugin: representationPlugin, why: 'reply.represent and reply.etagOf.' },
  { name: 'event-log', plugin: eventLogPlugin, options: (b) => ({ pollMs: b.opts.workers?.pollMs ?? 1000 }), why: 'After repositories: the scheduler of due publications.' },
  { name: 'webhooks', plugin: webhooksPlugin, options: (b) => b.opts.workers ?? {}, why: 'After repositories: the dispatcher.' },
  { name: 'health', plugin: healthPlugin, why: 'After every onRoute hook: /health, /health/live, /health/ready.' }
]

function serverOptions (opts: AppOptions, tracer: RequestTracer): FastifyHttpOptions<Server> {
  const { config } = opts
  // Every request gets a trace id (the caller's traceparent, or a new one) when something uses it: the
  // logs, or exported spans. Bound to the request's logger before any hook runs (src/observability/tracing.ts).
  const logs = opts.logger !== undefined && opts.logger !== false &&
    (typeof opts.logger !== 'object' || (opts.logger as { level?: string }).level !== 'silent')
  const traced = logs || tracesUrl(config.otlpEndpoint, config.otlpTracesEndpoint) !== undefined
  return {
    // LOG_LEVEL=silent writes nothing, so the server runs with no logger at all: Fastify then gives each
    // request the server's null logger instead of a pino child with its bindings (2-3% of a cached GET,
    // bench/README.md "A cheaper public-cache hit"), and no pino-pretty worker is started.
    logger: logs ? opts.logger : false,
    // One line per request, written by src/observability/logging.ts, instead of Fastify's two.
    logController: new OneLinePerRequest(),
    ...(traced
      ? {
          childLoggerFactory: (logger, bindings, childOptions, raw) => {
            const trace = beginTrace(tracer, raw)
            // Spans without logs: the trace is begun, and there is nothing to bind it to.
            if (!logs) return logger
            const withTrace: Record<string, unknown> = { ...bindings, trace_id: trace.traceId }
            if (trace.spanId !== undefined) withTrace.span_id = trace.spanId
            return logger.child(withTrace, childOptions)
          }
        }
      : {}),
    // Starting may wait for migrations (an index built over a large PostgreSQL table, or another process's
    // migration holding the lock) longer than Fastify's 10 s per plugin; the db plugin bounds the connection
    // attempt itself (src/db/plugin.ts).
    pluginTimeout: 0,
    bodyLimit: config.bodyLimit,
    http: { maxHeaderSize: config.maxHeaderSize },
    clientErrorHandler,
    frameworkErrors,
    // Path parameters as long as the URL limit allows, so that a too-long slug is a 422 from its schema.
    routerOptions: { maxParamLength: config.maxUrlLength },
    trustProxy: config.trustProxy,
    genReqId: requestId,
    requestIdHeader: false,
    // src/plugins/limits.ts answers requests that arrive while closing, as problems.
    return503OnClosing: false,
    // GET routes serve HEAD themselves (src/plugins/route-pipeline.ts), with one hook chain for both.
    exposeHeadRoutes: false,
    schemaController: { compilersFactory: { buildValidator, buildSerializer } },
    ajv: { customOptions: { removeAdditional: false } }
  }
}

function decorate (app: FastifyInstance, opts: AppOptions): void {
  for (const warning of configWarnings(opts.config)) app.log.warn(warning)
  app.decorate('config', opts.config)
  app.decorate('clock', opts.clock ?? Date.now)
  app.decorate('operationProbes', [])
  for (const schema of sharedSchemas) app.addSchema(schema)
  // A body must be JSON: drop Fastify's text/plain parser so anything else is a 415.
  app.removeContentTypeParser('text/plain')
}

export async function buildApp (opts: AppOptions): Promise<FastifyInstance> {
  const b: Build = { opts, tracer: createRequestTracer() }
  const app = Fastify(serverOptions(opts, b.tracer)).withTypeProvider<TypeBoxTypeProvider>()
  decorate(app, opts)
  for (const stage of PIPELINE) await app.register(stage.plugin, stage.options?.(b) ?? {})

  await app.register(async (v1) => {
    await v1.register(articleRoutes)
    await v1.register(revisionRoutes)
    await v1.register(tagRoutes)
    await v1.register(tokenRoutes)
    await v1.register(commentRoutes)
    await v1.register(privacyRoutes)
    await v1.register(eventRoutes)
    await v1.register(webhookRoutes)
  }, { prefix: '/v1' })
  // Syndication lives outside /v1, where feed readers and crawlers expect it (API.md section 8).
  await app.register(feedRoutes)
  await app.register(sitemapRoutes)
  return app
}
