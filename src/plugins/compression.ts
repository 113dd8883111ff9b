// Response compression (brotli or gzip, as the client prefers) for bodies of 1 KiB or more: below that
// the saving does not pay for the CPU and the headers.
import fp from 'fastify-plugin'
import compress from '@fastify/compress'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { mergeVary } from '../http/vary.js'
import { REQUEST_ENCODINGS } from '../http/headers.js'

/**
 * A strong ETag names one representation, and a compressed body is another one (RFC 9110 8.8.1), so
 * the ETag of a compressed response gets the coding as a suffix (`"abc+gzip"`). src/http/conditional.ts
 * ignores the suffix when comparing, so either validator works for If-Match and If-None-Match.
 */
function tagCoding (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) {
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

export default fp(async (app) => {
  // Request bodies may come compressed too (gzip, deflate or br; anything else is a 415). The body limit
  // (413) counts the decoded bytes, so a small compressed bomb is refused as soon as its output passes it.
  // The list is explicit so that a newer Node (zstd) does not silently accept what the document omits.
  await app.register(compress, { global: true, threshold: 1024, encodings: ['br', 'gzip'], requestEncodings: [...REQUEST_ENCODINGS] })
  // Compression runs as a route-level onSend hook added by the plugin's onRoute hook; this one is
  // added after it, so it sees the Content-Encoding that was chosen.
  app.addHook('onRoute', (route) => {
    const onSend = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]
    const hooks = [...onSend, tagCoding]
    // The HEAD twin Fastify makes of each GET route drops the body in an onSend hook of its own, which
    // would come before compression; moved last, HEAD gets GET's Content-Encoding and ETag.
    const dropBody = hooks.findIndex((hook) => hook.name === 'headRouteOnSendHandler')
    if (dropBody !== -1) hooks.push(...hooks.splice(dropBody, 1))
    route.onSend = hooks
  })
}, { name: 'compression' })
