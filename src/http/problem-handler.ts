// Turns every error, and every unmatched route, into an RFC 9457 problem (application/problem+json).
import fp from 'fastify-plugin'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isInterrupted } from '../db/native.js'
import { HttpProblem, type FieldError } from './errors.js'
import { EMAIL_PATTERN, EMAIL_RULE, type ProblemBody } from './schemas.js'
import { HEADER_RULES } from './headers.js'
import { TIMESTAMP_RULE } from './time.js'

const contexts: Record<string, FieldError['in']> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' }

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** A property name as one JSON Pointer token (RFC 6901): `~` is `~0`, `/` is `~1`. */
const escapePointer = (name: string) => name.replace(/~/g, '~0').replace(/\//g, '~1')

function fieldErrors (error: FastifyError): FieldError[] {
  const where = contexts[error.validationContext ?? 'body'] ?? 'body'
  const seen = new Set<string>()
  // One error per location: the first is the most specific (for a nullable field, the branch that
  // failed on the value rather than "must be null" and "must match a schema in anyOf").
  return (error.validation as unknown as AjvError[]).map((e) => {
    let pointer = e.instancePath
    let message = e.message ?? 'is invalid'
    if (e.keyword === 'required') {
      pointer += `/${escapePointer(String(e.params.missingProperty))}`
      message = 'is required'
    } else if (e.keyword === 'format' && e.params.format === 'date-time') {
      message = TIMESTAMP_RULE
    } else if ((e.keyword === 'pattern' && e.params.pattern === EMAIL_PATTERN) || (e.keyword === 'format' && e.params.format === 'email')) {
      message = EMAIL_RULE
    } else if (e.keyword === 'pattern' && HEADER_RULES[String(e.params.pattern)] !== undefined) {
      message = HEADER_RULES[String(e.params.pattern)]!
    } else if (e.keyword === 'additionalProperties') {
      pointer += `/${escapePointer(String(e.params.additionalProperty))}`
      message = where === 'query' ? 'is not a known query parameter' : 'is not a known field'
    }
    return { in: where, pointer, message }
  }).filter((e) => !seen.has(e.pointer) && seen.add(e.pointer))
}

/** What a route may have set for the representation it meant to send, before the error replaced it. */
const REPRESENTATION_HEADERS = ['etag', 'last-modified', 'link', 'location']

function send (reply: FastifyReply, body: ProblemBody, headers?: Record<string, string>): FastifyReply {
  // A problem describes the error, not the resource: no validator, page link or location of it (a list
  // page's Link, a feed's Last-Modified, set before a stale If-Match was found, would otherwise stay).
  for (const name of REPRESENTATION_HEADERS) reply.removeHeader(name)
  if (headers) reply.headers(headers)
  return reply.code(body.status).type('application/problem+json').send(body)
}

// Fastify's own 4xx errors, by code, as Gazette's problems.
const frameworkProblems: Record<string, [number, string, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported-media-type', 'Unsupported Media Type'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload-too-large', 'Payload Too Large'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'malformed-request', 'Malformed Request'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'malformed-request', 'Malformed Request'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'malformed-request', 'Malformed Request'],
  // @fastify/compress, decoding a request body (src/plugins/compression.ts).
  FST_CP_ERR_INVALID_CONTENT_ENCODING: [415, 'unsupported-media-type', 'Unsupported Media Type'],
  FST_CP_ERR_INVALID_CONTENT: [400, 'malformed-request', 'Malformed Request']
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

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const instance = request.url.split('?')[0]
    if (error instanceof HttpProblem) {
      const body: ProblemBody = { type: `/problems/${error.problem}`, title: error.title, status: error.status, detail: error.message, instance }
      if (error.errors) body.errors = error.errors
      return send(reply, body, error.headers)
    }
    if (error.validation) {
      const errors = fieldErrors(error)
      const first = errors[0]
      return send(reply, {
        type: '/problems/validation',
        title: 'Validation Failed',
        status: 422,
        detail: first ? `${first.in}${first.pointer} ${first.message}` : 'The request does not match the schema.',
        instance,
        errors
      })
    }
    const known = error.code ? frameworkProblems[error.code] : undefined
    if (known) {
      return send(reply, { type: `/problems/${known[1]}`, title: known[2], status: known[0], detail: error.message, instance })
    }
    if (error instanceof SyntaxError || (error.statusCode === 400)) {
      return send(reply, { type: '/problems/malformed-request', title: 'Malformed Request', status: 400, detail: 'The request could not be parsed.', instance })
    }
    if (error.statusCode === 429) {
      return send(reply, { type: '/problems/rate-limited', title: 'Too Many Requests', status: 429, detail: error.message, instance })
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return send(reply, { type: '/problems/bad-request', title: 'Bad Request', status: error.statusCode, detail: error.message, instance })
    }
    // A statement stopped by the query budget (src/plugins/query-budget.ts): the server is fine, this
    // request took too long; routes whose input is the problem answer 422 themselves.
    if (isInterrupted(error)) {
      request.log.warn({ err: error }, 'query budget exceeded')
      return send(reply, {
        type: '/problems/query-timeout',
        title: 'Service Unavailable',
        status: 503,
        detail: `A query of this request ran longer than the server allows one to run (QUERY_BUDGET_MS). Retry in a moment; quote request id ${String(request.id)} if it persists.`,
        instance
      }, { 'retry-after': '1' })
    }
    request.log.error({ err: error }, 'unhandled error')
    return send(reply, {
      type: '/problems/internal',
      title: 'Internal Server Error',
      status: 500,
      detail: `Something went wrong on our side. Quote request id ${String(request.id)} when reporting it.`,
      instance
    })
  })
}, { name: 'problems' })
