// Last-Modified and If-Modified-Since (RFC 9110 8.8.2 and 13.1.3), for representations whose time of
// last change the server knows: feeds and sitemaps. Entity tags stay the primary validator
// (src/http/etag.ts): If-Modified-Since is read only when the request has no If-None-Match.
//
// HTTP dates have whole seconds. A representation changed at 10:00:00.400 and again at 10:00:00.700
// would carry the same date, and a client holding the first would be told it is current: so the header
// is sent only once the second of the last change is over, and otherwise left out (the ETag still works).
import type { FastifyReply, FastifyRequest } from 'fastify'
import { checkIfMatch, sendRepresentation } from './etag.js'

/** The Last-Modified value for a representation last changed at `changedAt` (ms), as seen at `now`. */
export function lastModifiedHeader (changedAt: number, now: number): string | undefined {
  if (Math.floor(changedAt / 1000) >= Math.floor(now / 1000)) return undefined
  return new Date(changedAt).toUTCString()
}

/** Whether If-Modified-Since says the client holds a representation at least as new as `lastModified`. */
function notModifiedSince (request: FastifyRequest, lastModified: string): boolean {
  if ((request.method !== 'GET' && request.method !== 'HEAD') || request.headers['if-none-match'] !== undefined) return false
  const since = request.headers['if-modified-since']
  if (since === undefined) return false
  const sinceMs = Date.parse(since)
  // A value that is not an HTTP date is ignored, as RFC 9110 asks.
  return Number.isFinite(sinceMs) && /GMT$/.test(since.trim()) && Date.parse(lastModified) <= sinceMs
}

/**
 * Sends a representation with its ETag and, when known, its Last-Modified; answers 304 when the client's
 * If-None-Match, or failing that its If-Modified-Since, shows it already has it.
 */
export function sendWithLastModified (request: FastifyRequest, reply: FastifyReply, payload: string | Buffer, etag: string, lastModified: string | undefined): FastifyReply {
  if (lastModified !== undefined) {
    reply.header('last-modified', lastModified)
    if (notModifiedSince(request, lastModified)) {
      // If-Match is evaluated first (a stale one is a 412), as for any conditional GET.
      checkIfMatch(request, etag)
      return reply.code(304).header('etag', etag).send()
    }
  }
  return sendRepresentation(request, reply, payload, etag)
}
