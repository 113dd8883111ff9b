// Builds the Gazette application from options. It never listens: src/server.ts does, and tests use
// app.inject() or listen on an ephemeral port themselves.
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyHttpOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Server } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Config } from './config.js'
import dbPlugin from './db/plugin.js'
import { buildValidator } from './http/validation.js'
import problemHandler from './http/problem-handler.js'
import { HttpProblem } from './http/errors.js'
import { Problem, PageInfo, problems } from './http/schemas.js'
import authPlugin from './plugins/auth.js'
import limitsPlugin from './plugins/limits.js'
import { clientErrorHandler, frameworkErrors } from './http/client-errors.js'
import openapiPlugin from './plugins/openapi.js'
import repositories from './plugins/repositories.js'
import articleRoutes from './articles/routes.js'
import { Article, ArticleList, ArticleSummary, CreateArticleBody, UpdateArticleBody } from './articles/schemas.js'
import { TagRef } from './tags/schemas.js'
import tokenRoutes from './tokens/routes.js'
import { CreatedToken, Token, TokenList } from './tokens/schemas.js'

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
}

const REQUEST_ID = /^[\w.:@-]{1,128}$/

// Schemas named in the OpenAPI document as components, in dependency order.
const sharedSchemas = [
  Problem, PageInfo, TagRef, Token, CreatedToken, TokenList,
  Article, ArticleSummary, ArticleList, CreateArticleBody, UpdateArticleBody
]

export async function buildApp (opts: AppOptions): Promise<FastifyInstance> {
  const { config } = opts
  const serverOptions: FastifyHttpOptions<Server> = {
    logger: opts.logger ?? false,
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
    schemaController: { compilersFactory: { buildValidator } },
    ajv: { customOptions: { removeAdditional: false } }
  }
  const app = Fastify(serverOptions).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('config', config)
  app.decorate('clock', opts.clock ?? Date.now)
  for (const schema of sharedSchemas) app.addSchema(schema)

  // A body must be JSON: drop Fastify's text/plain parser so anything else is a 415.
  app.removeContentTypeParser('text/plain')

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })

  // A documented route with no query parameters still refuses unknown ones (422), like every other.
  app.addHook('onRoute', (route) => {
    const schema = route.schema as Record<string, unknown> | undefined
    if (schema?.operationId !== undefined && schema.querystring === undefined) {
      schema.querystring = Type.Object({}, { additionalProperties: false })
    }
  })

  await app.register(problemHandler)
  await app.register(limitsPlugin)
  await app.register(openapiPlugin)
  await app.register(dbPlugin, { databasePath: config.databasePath })
  await app.register(repositories)
  await app.register(authPlugin)

  app.get('/health', {
    schema: {
      tags: ['meta'],
      operationId: 'getHealth',
      summary: 'Health check',
      description: '200 when the database answers, 503 otherwise.',
      response: {
        200: Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false }),
        ...problems(503)
      }
    }
  }, async (request) => {
    try {
      app.db.$client.prepare('SELECT 1').get()
      return { status: 'ok' as const }
    } catch (err) {
      request.log.error({ err }, 'health check failed')
      throw new HttpProblem(503, 'unavailable', 'Service Unavailable', 'The database does not answer.')
    }
  })

  await app.register(async (v1) => {
    await v1.register(articleRoutes)
    await v1.register(tokenRoutes)
  }, { prefix: '/v1' })

  return app
}
