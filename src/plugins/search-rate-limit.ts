// SEARCH_RATE_LIMIT: searches (GET /v1/articles with `q`) per minute per client address, 429 with
// Retry-After beyond it (@fastify/rate-limit, with a store of its own). A search is the most expensive read
// there is, and without this any visitor could repeat one without end. Counted in onRequest, before the
// response cache answers (src/plugins/public-cache.ts), so a search served from memory counts too: what a
// client may do does not depend on what other clients asked before. request.ip honours TRUST_PROXY.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RateLimitOptions } from '@fastify/rate-limit'
import { HttpProblem } from '../http/errors.js'
import type { ScopedLimit } from '../db/pg/rate-limits.js'

const isSearch = (request: FastifyRequest): boolean =>
  (request.method === 'GET' || request.method === 'HEAD') && request.routeOptions.url === '/v1/articles' &&
  (request.query as { q?: unknown } | undefined)?.q !== undefined

export default fp(async (app) => {
  const options: RateLimitOptions & ScopedLimit = {
    // Its own counters where they are shared by processes (PostgreSQL: src/db/pg/rate-limits.ts).
    nameSpace: 'searches',
    max: app.config.searchRateLimit,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => request.ip,
    errorResponseBuilder: (_request, context) => new HttpProblem(429, 'rate-limited', 'Too Many Requests',
      `At most ${context.max} searches a minute from one address. Retry in ${context.after}.`)
  }
  const limit = app.rateLimit(options)
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (isSearch(request)) await limit.call(app, request, reply)
  })
}, { name: 'search-rate-limit' })
