// What happens to every route as it is registered, in one place. Registered before any route, so that it
// sees them all:
// 1. @fastify/compress and @fastify/rate-limit, whose onRoute hooks add compression (and request-body
//    decoding) and the per-route rate limits (`config.rateLimit`), and their decorators;
// 2. the route contract (src/http/route-contract.ts): the route's schema documented from what it declares;
// 3. the route-level hooks of ROUTE_HOOKS, composed around the route's own and those the libraries added,
//    each at a stated end of its chain; and every GET made to serve HEAD too, with one chain for both.
// Nothing here looks a hook up by name or relies on how Fastify builds HEAD routes: the server runs with
// `exposeHeadRoutes: false`, and a GET route is registered for ['GET', 'HEAD'] (onRoute may change a
// route's method: Fastify adds the route to its router after the onRoute hooks ran). Node sends no body
// for HEAD; `headLength` gives it the Content-Length GET's body would have, after compression, so a HEAD
// answers with GET's headers exactly (test/http/head.test.ts).
// The 405 registry (src/plugins/problems.ts) and the metrics recorder (src/observability/prometheus.ts)
// add onRoute hooks of their own that only read a route (and append one onResponse); src/http/README.md
// lists every hook in order.
import fp from 'fastify-plugin'
import compress from '@fastify/compress'
import rateLimit from '@fastify/rate-limit'
import { pgRateLimitStore } from '../db/pg/rate-limits.js'
import type { PgDb } from '../db/pg/connection.js'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { describeRoute, hasMethod } from '../http/route-contract.js'
import { COMPRESSION, tagCoding } from './compression.js'
import { idempotencyStages } from './idempotency.js'

type Stage = 'preHandler' | 'onSend' | 'onResponse'
type AnyHook = (...args: never[]) => unknown

/** A route-level hook: which chain, at which end, on which routes, and why there. */
export interface RouteHook {
  name: string
  hook: Stage
  at: 'first' | 'last'
  when: (route: RouteOptions, servesHead: boolean) => boolean
  fn: (app: FastifyInstance) => AnyHook
  why: string
}

const isPost = (route: RouteOptions) => hasMethod(route, ['POST'])

/**
 * HEAD of a route that also serves GET: the Content-Length of GET's (possibly compressed) body, and no body.
 * A stream is drained (Node would discard what it writes anyway, but the file or socket behind it must close).
 */
function headLength (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  if (request.method !== 'HEAD') {
    done(null, payload)
    return
  }
  if (payload === undefined || payload === null) {
    reply.header('content-length', '0')
  } else if (typeof (payload as { resume?: unknown }).resume === 'function') {
    const stream = payload as NodeJS.ReadableStream
    stream.on('error', (err) => reply.log.error({ err }, 'error in a stream answered to HEAD'))
    stream.resume()
  } else if (typeof (payload as { cancel?: unknown }).cancel === 'function') {
    (payload as ReadableStream).cancel().catch((err: unknown) => reply.log.error({ err }, 'error in a stream answered to HEAD'))
  } else {
    reply.header('content-length', String(Buffer.byteLength(payload as string | Buffer)))
  }
  done(null, null)
}

/** Applied in this order; `first` hooks go before the route's own, `last` ones after everything else. */
export const ROUTE_HOOKS: readonly RouteHook[] = [
  {
    name: 'idempotency claim',
    hook: 'preHandler',
    at: 'first',
    when: isPost,
    fn: (app) => idempotencyStages(app).claimKey,
    why: 'After validation and authentication, before rate limiting and the handler: a replay is no new comment, and counts as none.'
  },
  {
    name: 'idempotency store',
    hook: 'onSend',
    at: 'first',
    when: isPost,
    fn: (app) => idempotencyStages(app).storeResponse,
    why: 'Before compression: the stored (and replayed) body is the uncompressed one, coded afresh for each retry.'
  },
  {
    name: 'tag coding',
    hook: 'onSend',
    at: 'last',
    when: () => true,
    fn: () => tagCoding,
    why: 'After compression (@fastify/compress\'s route-level onSend): the ETag names the coded representation ("…+gzip"), Vary spelt once.'
  },
  {
    name: 'HEAD length',
    hook: 'onSend',
    at: 'last',
    when: (_route, servesHead) => servesHead,
    fn: () => headLength,
    why: 'Last: HEAD gets the Content-Length of the body GET would send, compressed as GET would be.'
  },
  {
    name: 'idempotency release',
    hook: 'onResponse',
    at: 'first',
    when: isPost,
    fn: (app) => idempotencyStages(app).releaseKey,
    why: 'A response that never reached onSend (the client went away) must not leave its key claimed.'
  }
]

const chain = (existing: unknown): AnyHook[] =>
  existing === undefined ? [] : Array.isArray(existing) ? existing as AnyHook[] : [existing as AnyHook]

export default fp(async (app) => {
  await app.register(compress, COMPRESSION)
  // Off by default: routes opt in with config.rateLimit, or call app.rateLimit() for a preHandler (comments).
  // Uses the IETF draft's RateLimit-* header names; the key is request.ip, which honours TRUST_PROXY.
  // On PostgreSQL the counters are the database's, shared by every process (src/db/pg/rate-limits.ts);
  // on SQLite each process counts in memory.
  const database = (): PgDb => {
    if (app.storage.engine !== 'postgres') throw new Error('the shared rate-limit store needs PostgreSQL')
    return app.storage.db
  }
  const shared = app.config.postgres === undefined ? {} : { store: pgRateLimitStore(database) }
  await app.register(rateLimit, { global: false, enableDraftSpec: true, ...shared })

  app.addHook('onRoute', describeRoute)
  const hooks = ROUTE_HOOKS.map((h) => ({ ...h, fn: h.fn(app) }))
  app.addHook('onRoute', (route) => {
    const servesHead = route.method === 'GET'
    if (servesHead) route.method = ['GET', 'HEAD']
    const r = route as unknown as Record<Stage, unknown>
    for (const h of hooks) {
      if (!h.when(route, servesHead)) continue
      r[h.hook] = h.at === 'first' ? [h.fn, ...chain(r[h.hook])] : [...chain(r[h.hook]), h.fn]
    }
  })
}, { name: 'route-pipeline' })
