// Strong ETags computed from the representation itself, so any change to what a client would receive
// (a renamed tag, a new approved comment) changes the validator, and nothing else does.
import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { invalid, PreconditionFailed } from './errors.js'

export function etagOf (representation: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(representation)).digest('base64url').slice(0, 27)}"`
}

const ENTITY_TAG = /^\s*(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"\s*$/

function parseList (header: string): string[] | '*' {
  if (header.trim() === '*') return '*'
  return header.split(',').map((t) => {
    if (!ENTITY_TAG.test(t)) throw invalid('header', '/if-match', 'must be * or a list of quoted entity tags')
    return t.trim()
  })
}

/** If-Match on a write: 412 unless it names the current ETag (strong comparison) or is `*`. */
export function checkIfMatch (request: FastifyRequest, currentEtag: string): void {
  const header = request.headers['if-match']
  if (header === undefined) return
  const tags = parseList(header)
  if (tags === '*') return
  if (!tags.includes(currentEtag)) throw new PreconditionFailed()
}

/** Whether If-None-Match names this ETag (weak comparison, as RFC 9110 asks for GET). */
export function notModified (request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match']
  if (header === undefined) return false
  if (header.trim() === '*') return true
  const bare = etag.replace(/^W\//, '')
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare)
}

/**
 * Sends a representation with its ETag, or 304 with no body when the client already has it.
 * Use as `return sendTagged(request, reply, body)` from a handler.
 */
export function sendTagged<T> (request: FastifyRequest, reply: FastifyReply, body: T, status = 200): FastifyReply {
  const etag = etagOf(body)
  reply.header('etag', etag)
  if (status === 200 && (request.method === 'GET' || request.method === 'HEAD') && notModified(request, etag)) {
    return reply.code(304).send()
  }
  return reply.code(status).send(body)
}
