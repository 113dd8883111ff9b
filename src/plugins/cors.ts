// CORS for browser front ends on other origins (CORS_ORIGINS: `*`, the default, or a list of origins).
// Preflights are answered before authentication (a browser never sends Authorization on a preflight).
// Credentials (cookies) are not allowed: Gazette authenticates with bearer tokens only.
import fp from 'fastify-plugin'
import cors from '@fastify/cors'

// Comment-Token: a reader's browser edits or deletes its own comment with the edit token (issue 21).
export const CORS_ALLOWED_HEADERS = [
  'Authorization', 'Comment-Token', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'X-Request-Id'
]

export const CORS_EXPOSED_HEADERS = [
  'ETag', 'Location', 'Link', 'X-Request-Id', 'Retry-After', 'Idempotent-Replayed', 'Allow', 'WWW-Authenticate',
  'RateLimit', 'RateLimit-Policy', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Surrogate-Key'
]

export default fp(async (app) => {
  await app.register(cors, {
    origin: app.config.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    // Browsers cap this (Chrome at 2 h); 10 min keeps a changed policy from lingering.
    maxAge: 600,
    // An OPTIONS without the preflight headers is answered like a preflight (204) rather than with the
    // plugin's plain-text 400, which would be the only error in the API that is not problem+json.
    strictPreflight: false
  })
}, { name: 'cors' })
