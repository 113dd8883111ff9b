// Builds the Gazette application from options. It never listens: src/server.ts does, and tests use
// app.inject() or listen on an ephemeral port themselves.
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyHttpOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Server } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import dbPlugin from './db/plugin.js'
import { buildValidator } from './http/validation.js'
import problemHandler from './plugins/problems.js'
import { IncludeTotal, Problem, PageInfo } from './http/schemas.js'
import routePipeline from './plugins/route-pipeline.js'
import authPlugin from './plugins/auth.js'
import cachingPlugin from './plugins/cache-control.js'
import representationPlugin from './plugins/representation.js'
import responseCachePlugin from './plugins/public-cache.js'
import { ContentEncoding } from './http/headers.js'
import corsPlugin from './plugins/cors.js'
import idempotencyPlugin from './plugins/idempotency.js'
import securityHeadersPlugin from './plugins/security-headers.js'
import limitsPlugin from './plugins/limits.js'
import { clientErrorHandler, frameworkErrors } from './http/client-errors.js'
import openapiPlugin, { OpenApiDocument } from './plugins/openapi.js'
import repositories from './plugins/repositories.js'
import queryBudgetPlugin from './plugins/query-budget.js'
import upkeepPlugin from './plugins/upkeep.js'
import searchRateLimitPlugin from './plugins/search-rate-limit.js'
import articleRoutes from './articles/routes.js'
import {
  Article, ArticleImage, ArticleList, ArticleSort, ArticleStatus, ArticleStatusFilter, ArticleSummary, CreateArticleBody, UpdateArticleBody
} from './articles/schemas.js'
import revisionRoutes from './revisions/routes.js'
import { revisionSchemas } from './revisions/schemas.js'
import tagRoutes from './tags/routes.js'
import { CreateTagBody, Tag, TagList, TagRef, TagSort, UpdateTagBody } from './tags/schemas.js'
import commentRoutes from './comments/routes.js'
import {
  Comment, CommentList, CommentQueueSort, CommentStatus, CommentStatusFilter, CreateCommentBody, CreatedComment, CreateReportBody,
  ModeratedComment, ModeratedCommentList, ModerationStatus, ReportReason, UpdateCommentBody
} from './comments/schemas.js'
import privacyRoutes from './privacy/routes.js'
import retentionPlugin from './privacy/retention.js'
import { ErasureResult, PrivacyEraseRequest, PrivacyExportRequest } from './privacy/schemas.js'
import tokenRoutes from './tokens/routes.js'
import { CreatedToken, CreateTokenBody, Role, Token, TokenList } from './tokens/schemas.js'
import eventLogPlugin, { type SchedulerOptions } from './events/plugin.js'
import eventRoutes from './events/routes.js'
import { eventComponents } from './events/schemas.js'
import webhooksPlugin, { type WebhookOptions } from './webhooks/plugin.js'
import webhookRoutes from './webhooks/routes.js'
import { webhookComponents } from './webhooks/schemas.js'
import feedRoutes from './feeds/routes.js'
import { JsonFeed, JsonFeedAuthor, JsonFeedItem } from './feeds/schemas.js'
import sitemapRoutes from './sitemaps/routes.js'
import healthPlugin from './observability/health.js'
import requestLogPlugin, { OneLinePerRequest } from './observability/logging.js'
import metricsPlugin, { metricsRoute } from './observability/metrics.js'
import tracingPlugin, { beginTrace, createRequestTracer, tracesUrl } from './observability/tracing.js'

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

const REQUEST_ID = /^[\w.:@-]{1,128}$/

// Schemas named in the OpenAPI document as components, in dependency order.
const sharedSchemas = [
  Problem, PageInfo, IncludeTotal, ContentEncoding, OpenApiDocument, TagRef, Role, Token, CreatedToken, TokenList, CreateTokenBody,
  ArticleStatus, ArticleStatusFilter, ArticleSort, ArticleImage, Article, ArticleSummary, ArticleList, CreateArticleBody, UpdateArticleBody,
  Tag, TagList, TagSort, CreateTagBody, UpdateTagBody,
  CommentStatus, ModerationStatus, CommentStatusFilter, CommentQueueSort,
  Comment, ModeratedComment, CommentList, ModeratedCommentList, CreateCommentBody, UpdateCommentBody,
  JsonFeedAuthor, JsonFeedItem, JsonFeed,
  CreatedComment, ReportReason, CreateReportBody,
  PrivacyExportRequest, PrivacyEraseRequest, ErasureResult,
  ...revisionSchemas,
  ...eventComponents, ...webhookComponents
]

export async function buildApp (opts: AppOptions): Promise<FastifyInstance> {
  const { config } = opts
  // Every request gets a trace id (the caller's traceparent, or a new one) when something uses it: the
  // logs, or exported spans. Bound to the request's logger before any hook runs (src/observability/tracing.ts).
  const tracer = createRequestTracer()
  const logs = opts.logger !== undefined && opts.logger !== false &&
    (typeof opts.logger !== 'object' || (opts.logger as { level?: string }).level !== 'silent')
  const traced = logs || tracesUrl(config.otlpEndpoint, config.otlpTracesEndpoint) !== undefined
  const serverOptions: FastifyHttpOptions<Server> = {
    logger: opts.logger ?? false,
    // One line per request, written by src/observability/logging.ts, instead of Fastify's two.
    logController: new OneLinePerRequest(),
    ...(traced
      ? {
          childLoggerFactory: (logger, bindings, childOptions, raw) => {
            const trace = beginTrace(tracer, raw)
            const withTrace: Record<string, unknown> = { ...bindings, trace_id: trace.traceId }
            if (trace.spanId !== undefined) withTrace.span_id = trace.spanId
            return logger.child(withTrace, childOptions)
          }
        }
      : {}),
    bodyLimit: config.bodyLimit,
    http: { maxHeaderSize: config.maxHeaderSize },
    clientErrorHandler,
    frameworkErrors,
    // Path parameters as long as the URL limit allows, so that a too-long slug is a 422 from its schema.
    routerOptions: { maxParamLength: config.maxUrlLength },
    trustProxy: config.trustProxy,
    // Echo a client's X-Request-Id when it is sane, so logs on both sides share one id.
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    requestIdHeader: false,
    // src/plugins/limits.ts answers requests that arrive while closing, as problems.
    return503OnClosing: false,
    // GET routes serve HEAD themselves (src/plugins/route-pipeline.ts), with one hook chain for both.
    exposeHeadRoutes: false,
    schemaController: { compilersFactory: { buildValidator } },
    ajv: { customOptions: { removeAdditional: false } }
  }
  const app = Fastify(serverOptions).withTypeProvider<TypeBoxTypeProvider>()

  if (config.trustProxy === true) {
    app.log.warn('TRUST_PROXY=true believes any client\'s X-Forwarded-For: anyone can choose the address that flood control counts and moderators see. Set TRUST_PROXY to your proxies\' addresses or CIDRs instead.')
  }
  app.decorate('config', config)
  app.decorate('clock', opts.clock ?? Date.now)
  app.decorate('operationProbes', [])
  for (const schema of sharedSchemas) app.addSchema(schema)

  // A body must be JSON: drop Fastify's text/plain parser so anything else is a 415.
  app.removeContentTypeParser('text/plain')

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })

  // Before any route: the route contract (src/http/route-contract.ts), @fastify/compress and
  // @fastify/rate-limit, and the route-level hooks composed in one table; GET routes serve HEAD.
  await app.register(routePipeline)

  // External plugins → database → repositories → cross-cutting hooks → routes. Hooks of one kind run
  // in this order: CORS answers preflights before authentication; compression (a route-level hook)
  // runs after every onSend hook here, so idempotency stores and replays the uncompressed body.
  // Tracing first: its hooks put the request's span in context for every later hook.
  await app.register(tracingPlugin, { tracer })
  await app.register(requestLogPlugin)
  // Before any route (each gets its metrics hook) and before authentication (the METRICS_TOKEN check).
  await app.register(metricsPlugin)
  await app.register(securityHeadersPlugin)
  await app.register(corsPlugin)
  await app.register(problemHandler)
  await app.register(limitsPlugin)
  await app.register(openapiPlugin)
  await app.register(metricsRoute)
  await app.register(dbPlugin, { databasePath: config.databasePath, cacheMb: config.sqliteCacheMb })
  await app.register(queryBudgetPlugin)
  await app.register(repositories)
  await app.register(retentionPlugin)
  await app.register(upkeepPlugin)
  await app.register(authPlugin)
  // Before the response cache: a search answered from memory still counts against its client's allowance.
  await app.register(searchRateLimitPlugin)
  // After authentication (its hook tells a public request from a token's), before the routes.
  await app.register(responseCachePlugin)
  await app.register(idempotencyPlugin)
  await app.register(cachingPlugin)
  await app.register(representationPlugin)
  // Background work, after the repositories: scheduled publications, retention, webhook deliveries.
  await app.register(eventLogPlugin, { pollMs: opts.workers?.pollMs ?? 1000 })
  await app.register(webhooksPlugin, opts.workers ?? {})

  await app.register(healthPlugin)

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
