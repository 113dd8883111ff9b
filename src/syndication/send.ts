// How feeds and sitemaps answer: the body with its strong ETag (the hash of its bytes), its
// Last-Modified, and conditional requests answered from either validator (src/http/last-modified.ts).
// `changedAt` must be the latest time anything in the body changed, as the repositories compute it.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { etagOf } from '../http/etag.js'
import { lastModifiedHeader, sendWithLastModified } from '../http/last-modified.js'
import { cacheUntil } from '../plugins/public-cache.js'

export function sendDocument (request: FastifyRequest, reply: FastifyReply, payload: string, contentType: string, changedAt: number, now: number): FastifyReply {
  const lastModified = lastModifiedHeader(changedAt, now)
  // Held back until the second of the last change is over: a cached copy must not outlive that.
  if (lastModified === undefined) cacheUntil(reply, (Math.floor(changedAt / 1000) + 1) * 1000)
  reply.header('content-type', contentType)
  return sendWithLastModified(request, reply, payload, etagOf(payload), lastModified)
}
