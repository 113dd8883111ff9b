// The OpenAPI description of the comment flood control (@fastify/rate-limit on POST comments).
import { Type } from 'typebox'

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
