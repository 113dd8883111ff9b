// Cache-Control and Vary on every response, decided in one place:
// - a request with Authorization: `private, no-store` (nothing made for a token is ever stored);
// - a public GET/HEAD answered 200, 301 or 304: `public, max-age=0, must-revalidate`, so shared caches
//   may keep it but must revalidate with its ETag each time (a scheduled article becomes visible at its
//   publishedAt, without any write that a cache could notice);
// - anything else (errors, writes): `no-store`. A Cache-Control a route set itself (Swagger UI's static
//   files) is kept for public requests.
// Vary names the request headers a response depends on: Authorization (an editor sees drafts),
// Accept-Encoding (compression), and Origin when CORS echoes a listed origin (set by @fastify/cors).
import fp from 'fastify-plugin'
import { mergeVary } from '../http/vary.js'

export const PUBLIC_REVALIDATE = 'public, max-age=0, must-revalidate'

export default fp(async (app) => {
  app.addHook('onSend', (request, reply, payload, done) => {
    // Preflight answers are cached by the browser per Access-Control-Max-Age, not by HTTP caches.
    if (request.method === 'OPTIONS') {
      done(null, payload)
      return
    }
    const status = reply.statusCode
    if (request.headers.authorization !== undefined) {
      reply.header('cache-control', 'private, no-store')
    } else if ((request.method === 'GET' || request.method === 'HEAD') && [200, 301, 304].includes(status)) {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', PUBLIC_REVALIDATE)
    } else {
      reply.header('cache-control', 'no-store')
    }
    if (reply.hasHeader('vary')) mergeVary(reply, 'Authorization', 'Accept-Encoding')
    else reply.header('vary', 'Authorization, Accept-Encoding')
    done(null, payload)
  })
}, { name: 'cache-control' })
