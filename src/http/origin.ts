// The public origin of the API, for the few documents that carry absolute URLs (feeds, sitemaps):
// PUBLIC_URL when it is set, else the origin the client asked for. That one comes from the Host header,
// or from X-Forwarded-Host and X-Forwarded-Proto when the request came through a trusted proxy
// (TRUST_PROXY; Fastify's request.host and request.protocol apply that rule), and it is checked to be a
// host name, so a forged value cannot put markup or another URL into a document.
//
// A response built from the request's origin differs per origin: the public response cache keys such
// routes (config.publicOrigin) by origin and URL, so a forged Host only ever reaches its own sender.
import type { FastifyRequest } from 'fastify'
import { HttpProblem } from './errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The response holds absolute URLs made from the public origin (see src/http/origin.ts). */
    publicOrigin?: boolean
  }
}

// A DNS name or an IPv4/IPv6 literal, with an optional port: nothing else can be a Host.
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?$/i

/** The origin (`http://127.0.0.1:3000`) the client asked for, or undefined when its Host is not a host. */
export function requestOrigin (request: FastifyRequest): string | undefined {
  const host = request.host
  if (typeof host !== 'string' || host.length > 300 || !HOST.test(host)) return undefined
  const scheme = request.protocol === 'https' ? 'https' : 'http'
  try {
    // Lower-cases the host and drops a default port, so equivalent spellings share one cache entry.
    return new URL(`${scheme}://${host}`).origin
  } catch {
    return undefined
  }
}

/** PUBLIC_URL, or the request's origin; a 400 when it must come from a Host that is not a host name. */
export function publicOrigin (publicUrl: string | undefined, request: FastifyRequest): string {
  if (publicUrl !== undefined) return publicUrl
  const origin = requestOrigin(request)
  if (origin === undefined) {
    throw new HttpProblem(400, 'malformed-request', 'Malformed Request', 'The Host header is not a host name, and PUBLIC_URL is not set.')
  }
  return origin
}
