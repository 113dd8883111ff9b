// Response compression (brotli or gzip, as the client prefers) for bodies of 1 KiB or more: below that
// the saving does not pay for the CPU and the headers. src/plugins/route-pipeline.ts registers
// @fastify/compress with these options and puts tagCoding after its route-level onSend hook.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { mergeVary } from '../http/vary.js'
import { REQUEST_ENCODINGS } from '../http/headers.js'

/**
 * A strong ETag names one representation, and a compressed body is another one (RFC 9110 8.8.1), so
 * the ETag of a compressed response gets the coding as a suffix (`"abc+gzip"`). src/http/conditional.ts
 * ignores the suffix when comparing, so either validator works for If-Match and If-None-Match.
 */
export function tagCoding (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) {
  const coding = reply.getHeader('content-encoding')
  if (typeof coding === 'string' && coding !== 'identity') {
    const etag = reply.getHeader('etag')
    if (typeof etag === 'string' && etag.endsWith('"') && !etag.startsWith('W/') && !etag.endsWith(`+${coding}"`)) {
      reply.header('etag', `${etag.slice(0, -1)}+${coding}"`)
    }
    // @fastify/compress appended a lower-case `accept-encoding`; keep one spelling of each name.
    if (reply.hasHeader('vary')) mergeVary(reply)
  }
  done(null, payload)
}

/**
 * @fastify/compress's options, registered by src/plugins/route-pipeline.ts. Request bodies may come
 * compressed too (gzip, deflate or br; anything else is a 415). The body limit (413) counts the decoded
 * bytes, so a small compressed bomb is refused as soon as its output passes it. The list is explicit so
 * that a newer Node (zstd) does not silently accept what the document omits.
 */
export const COMPRESSION = { global: true, threshold: 1024, encodings: ['br', 'gzip'] as ('br' | 'gzip')[], requestEncodings: [...REQUEST_ENCODINGS] }
