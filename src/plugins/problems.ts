// Turns every error, and every unmatched route, into an RFC 9457 problem (application/problem+json).
import fp from 'fastify-plugin'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { ProblemBody } from '../http/schemas.js'
import { ruleFor } from '../http/problem-rules.js'

/** What a route may have set for the representation it meant to send, before the error replaced it. */
const REPRESENTATION_HEADERS = ['etag', 'last-modified', 'link', 'location']

function send (reply: FastifyReply, body: ProblemBody, headers?: Record<string, string>): FastifyReply {
  // A problem describes the error, not the resource: no validator, page link or location of it (a list
  // page's Link, a feed's Last-Modified, set before a stale If-Match was found, would otherwise stay).
  for (const name of REPRESENTATION_HEADERS) reply.removeHeader(name)
  if (headers) reply.headers(headers)
  return reply.code(body.status).type('application/problem+json').send(body)
}

export default fp(async (app) => {
  // Every route's path, so that a wrong method on a known path answers 405 with Allow.
  const paths = FindMyWay({ ignoreTrailingSlash: false })
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      if (route.url === '*' || route.url.endsWith('*')) continue
      try {
        paths.on(method as HTTPMethod, route.url, () => undefined)
      } catch {
        // The same method and path registered twice (HEAD beside GET): nothing to add.
      }
    }
  })

  function allowedMethods (url: string): string[] {
    const path = url.split('?')[0] ?? url
    const allowed: string[] = []
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      if (paths.find(method, path)) allowed.push(method)
    }
    return allowed
  }

  function unmatched (request: FastifyRequest, reply: FastifyReply) {
    const allowed = allowedMethods(request.url)
    if (allowed.length > 0) {
      return send(reply, {
        type: '/problems/method-not-allowed',
        title: 'Method Not Allowed',
        status: 405,
        detail: `${request.method} is not allowed here; use ${allowed.join(', ')}.`,
        instance: request.url.split('?')[0]
      }, { allow: allowed.join(', ') })
    }
    return send(reply, {
      type: '/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: `No route ${request.method} ${request.url.split('?')[0]}.`,
      instance: request.url.split('?')[0]
    })
  }

  // A request no route takes is answered before its body is read (after authentication and the limits
  // on the request line): its body cannot change the answer into a 400 (QUERY without Content-Type,
  // refused by Fastify while reading it), 413 or 415. The not-found handler is set in a context of its
  // own, so that this preParsing hook runs for it alone, not for every matched route.
  await app.register(async (notFound) => {
    notFound.addHook('preParsing', (request, reply) => { unmatched(request, reply) })
    notFound.setNotFoundHandler(unmatched)
  })

  // The error table is src/http/problem-rules.ts. The body's keys are in this order (the problem metric
  // reads `type` first from the bytes, src/observability/prometheus.ts).
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const rule = ruleFor(error)
    if (rule.log) request.log[rule.log.level]({ err: error }, rule.log.message)
    const { type, title, status, detail, errors, headers } = rule.problem(error, String(request.id))
    return send(reply, { type, title, status, detail, instance: request.url.split('?')[0], ...(errors && { errors }) }, headers)
  })
}, { name: 'problems' })
