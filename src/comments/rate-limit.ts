// Flood control on readers' writes (@fastify/rate-limit, registered with global: false in app.ts), and
// its OpenAPI description. Two allowances per client address, each COMMENT_RATE_LIMIT a minute:
// - comment writes: posting a comment, and an author's edit or delete with its edit token, share one
//   allowance (an edit is rate-limited like a post, and alternating the two gains nothing);
// - reports: their own, so that flagging spam does not cost a reader the comment they meant to write.
import type { RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { HttpProblem } from '../http/errors.js'
import type { ScopedLimit } from '../db/pg/rate-limits.js'

/**
 * `max` `what` a minute per client address. request.ip honours TRUST_PROXY, so behind a proxy each
 * real client has its own allowance. Counted after validation: a request refused for its shape is not
 * a write and does not count.
 */
const limitOptions = (max: number, what: string, note = ''): RateLimitOptions & ScopedLimit => ({
  // Each allowance its own counters where they are shared (PostgreSQL: src/db/pg/rate-limits.ts).
  nameSpace: what,
  max,
  timeWindow: 60_000,
  keyGenerator: (request) => request.ip,
  errorResponseBuilder: (_request, context) => new HttpProblem(429, 'rate-limited', 'Too Many Requests',
    `At most ${context.max} ${what} a minute from one address${note}. Retry in ${context.after}.`)
})

type Limiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** The preHandlers that count readers' writes; each call of `app.rateLimit` makes its own store. */
export function readerLimits (app: FastifyInstance, max: number): { commentWrites: Limiter, reports: Limiter } {
  return {
    commentWrites: app.rateLimit(limitOptions(max, 'comments', ', counting edits and deletes by their authors')) as Limiter,
    reports: app.rateLimit(limitOptions(max, 'reports')) as Limiter
  }
}

const seconds = (description: string) => ({ type: 'integer', minimum: 0, description })

/** Headers @fastify/rate-limit sets on every response of a limited route (IETF draft names). */
export const rateLimitHeaders = (what: string) => ({
  'ratelimit-limit': seconds(`${what} allowed per window (one minute) from this client address.`),
  'ratelimit-remaining': seconds(`${what} left in the current window.`),
  'ratelimit-reset': seconds('Seconds until the window resets.')
})

export const rateLimitedResponse = (what: string) => ({
  429: Type.Unsafe({
    description: `Too many ${what.toLowerCase()} from this client address (\`COMMENT_RATE_LIMIT\` a minute). Wait \`Retry-After\` seconds.`,
    headers: {
      'retry-after': seconds('Seconds to wait before trying again.'),
      ...rateLimitHeaders(what)
    },
    content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
  })
})

export const COMMENT_WRITES = 'Comment writes'
export const REPORTS = 'Reports'
