// Security headers for a JSON API (@fastify/helmet). API responses are never rendered as pages, so
// their Content-Security-Policy forbids everything; Swagger UI on /docs sets its own policy (see
// src/plugins/openapi.ts). Resources may be read cross-origin: that is what CORS is configured for.
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'

export default fp(async (app) => {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    frameguard: { action: 'deny' }
  })
}, { name: 'security-headers' })
