// Security headers for a JSON API, as chosen by `helmet`. API responses are never rendered as pages, so
// their Content-Security-Policy forbids everything; Swagger UI on /docs sets its own policy (see
// src/plugins/openapi.ts). Resources may be read cross-origin: that is what CORS is configured for.
//
// The policy does not depend on the request, so helmet runs once, at start, and every response gets the
// headers it chose. (@fastify/helmet ran helmet's eleven middlewares again on every request: measured in
// bench/README.md#security-headers-once.)
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'

export const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginResourcePolicy: { policy: 'cross-origin' },
  frameguard: { action: 'deny' }
}

/** The headers helmet sets for these options, found by running it once on a response that records them. */
export function securityHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader (name: string, value: unknown) { headers[name.toLowerCase()] = String(value) },
    removeHeader (name: string) { delete headers[name.toLowerCase()] }
  }
  let failure: unknown
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => { failure = err })
  if (failure !== undefined) throw failure
  return headers
}

export default fp(async (app) => {
  const headers = securityHeaders(HELMET_OPTIONS)
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}, { name: 'security-headers' })
