// Idempotency-Key on every POST, so a client on a flaky network can retry a create without creating twice.
// - The key is scoped to the caller (its token, or the client's IP for public posts): nobody can replay
//   another caller's response.
// - After authentication and validation, the key is claimed for a hash of the request (method, URL,
//   body). The response (status, Content-Type, Location, ETag, Link and body) is stored when sent, and
//   replayed as it was, with `Idempotent-Replayed: true`, to a retry of the same request within 24 h.
//   Requests refused before the handler ran (401, 403, 415, 422 validation) store nothing.
// - The same key with another request → 422 idempotency-key-reused; while the first request is still
//   running → 409 idempotency-key-in-use with Retry-After. Never a second write.
// - 5xx and 429 responses are not stored: the claim is released so that a retry can succeed.
// - A secret shown once (an API token, a webhook secret, a comment's edit token) is never stored: a route
//   names such top-level body fields in `config: { shownOnce: ['token'] }`, the stored body has them set
//   to null, and a replay answers the same status, headers and body with the secret null. The route's
//   ETag must name the resource without its secret (as a later GET would), so that it stays true.
import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpProblem, invalid } from '../http/errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Top-level response body fields holding a secret shown once: stored as null, so a replay shows null (the route's note says so: src/http/route-contract.ts). */
    shownOnce?: readonly string[]
  }
  interface FastifyRequest {
    /** The idempotency key this request claimed, until its response is stored. */
    idempotencyClaim: { scope: string, key: string } | null
  }
}

const KEY = /^[\x20-\x7e]{1,255}$/

/** Response headers worth replaying; the others (dates, request id, caching) belong to each response. */
const STORED_HEADERS = ['content-type', 'location', 'etag', 'link']

const scopeOf = (request: FastifyRequest) =>
  request.caller.tokenId !== null ? `token:${request.caller.tokenId}` : `client:${request.ip}`

const hashOf = (request: FastifyRequest) =>
  createHash('sha256').update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`).digest('base64url')

/**
 * The body to store for a response: `payload` with the shown-once fields nulled. A body serialised by the
 * route's schema survives JSON.parse and JSON.stringify byte for byte (both write no whitespace and escape
 * strings alike), so only those fields change.
 */
export function withoutSecrets (payload: string, fields: readonly string[] | undefined): string {
  if (fields === undefined || fields.length === 0 || !payload.startsWith('{')) return payload
  let body: unknown
  try {
    body = JSON.parse(payload)
  } catch {
    return payload
  }
  const record = body as Record<string, unknown>
  const present = fields.filter((field) => Object.hasOwn(record, field) && record[field] !== null)
  if (present.length === 0) return payload
  for (const field of present) record[field] = null
  return JSON.stringify(record)
}

function replay (reply: FastifyReply, response: { statusCode: number, headers: Record<string, string>, body: string }) {
  return reply.code(response.statusCode).headers(response.headers).header('idempotent-replayed', 'true')
    .send(response.body === '' ? undefined : response.body)
}

/**
 * The three route-level hooks of a POST, composed by src/plugins/route-pipeline.ts (ROUTE_HOOKS): the claim
 * goes first among the route's preHandlers (before rate limiting), the stored body first among its onSend
 * hooks (before compression), the release first among its onResponse hooks.
 */
export function idempotencyStages (app: FastifyInstance) {
  async function claimKey (request: FastifyRequest, reply: FastifyReply) {
    const key = request.headers['idempotency-key']
    if (request.method !== 'POST' || typeof key !== 'string') return
    // Routes with a schema validate the header already; this covers any POST registered without one.
    if (!KEY.test(key)) throw invalid('header', '/idempotency-key', 'must be 1 to 255 printable ASCII characters')
    const scope = scopeOf(request)
    const claim = await app.idempotencyKeys.claim(scope, key, hashOf(request))
    switch (claim.outcome) {
      case 'claimed':
        request.idempotencyClaim = { scope, key }
        return
      case 'replay':
        return replay(reply, claim.response)
      case 'reused':
        throw new HttpProblem(422, 'idempotency-key-reused', 'Idempotency Key Reused',
          'This Idempotency-Key was already used for a different request (another method, URL or body); use a new key.')
      case 'in-flight':
        throw new HttpProblem(409, 'idempotency-key-in-use', 'Conflict',
          'A request with this Idempotency-Key is still being processed; retry shortly.', undefined, { 'retry-after': '1' })
    }
  }

  async function storeResponse (request: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const claim = request.idempotencyClaim
    if (!claim) return payload
    request.idempotencyClaim = null
    const status = reply.statusCode
    const storable = status < 500 && status !== 429 && (payload == null || typeof payload === 'string')
    if (!storable) {
      await app.idempotencyKeys.release(claim.scope, claim.key)
      return payload
    }
    const headers: Record<string, string> = {}
    for (const name of STORED_HEADERS) {
      const value = reply.getHeader(name)
      if (value !== undefined) headers[name] = String(value)
    }
    const body = withoutSecrets((payload as string | null | undefined) ?? '', request.routeOptions.config.shownOnce)
    await app.idempotencyKeys.complete(claim.scope, claim.key, { statusCode: status, headers, body })
    return payload
  }

  // A response that never reached onSend (the client went away first) must not leave its key blocked.
  async function releaseKey (request: FastifyRequest) {
    const claim = request.idempotencyClaim
    if (claim) await app.idempotencyKeys.release(claim.scope, claim.key)
  }

  return { claimKey, storeResponse, releaseKey }
}

export default fp(async (app) => {
  app.decorateRequest('idempotencyClaim', null)
}, { name: 'idempotency', dependencies: ['repositories', 'auth'] })
