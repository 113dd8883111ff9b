// Flood control on posting comments (@fastify/rate-limit, registered with global: false in app.ts), and
// its OpenAPI description.
import type { RateLimitOptions } from '@fastify/rate-limit'
import { Type } from 'typebox'
import { HttpProblem } from '../http/errors.js'

/**
 * `max` comments a minute per client address. request.ip honours TRUST_PROXY, so behind a proxy each
 * real client has its own allowance. Counted after validation: a request refused for its shape is not
 * a comment and does not count.
 */
export const commentRateLimit = (max: number): RateLimitOptions => ({
  max,
  timeWindow: 60_000,
  hook: 'preHandler',
  keyGenerator: (request) => request.ip,
  errorResponseBuilder: (_request, context) => new HttpProblem(429, 'rate-limited', 'Too Many Requests',
    `At most ${context.max} comments a minute from one address. Retry in ${context.after}.`)
})

const seconds = (description: string) => ({ type: 'integer', minimum: 0, description })

/** Headers @fastify/rate-limit sets on every response of a limited route (IETF draft names). */
export const rateLimitHeaders = {
  'ratelimit-limit': seconds('Comments allowed per window (one minute) from this client address.'),
  'ratelimit-remaining': seconds('Comments left in the current window.'),
  'ratelimit-reset': seconds('Seconds until the window resets.')
}

export const rateLimitedResponse = {
  429: Type.Unsafe({
    description: 'Too many comments from this client address (`COMMENT_RATE_LIMIT` a minute). Wait `Retry-After` seconds.',
    headers: {
      'retry-after': seconds('Seconds to wait before commenting again.'),
      ...rateLimitHeaders
    },
    content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
  })
}
