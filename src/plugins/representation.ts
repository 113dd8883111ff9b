// The one way a route sends a representation: reply.represent(body, options). It serialises the body once
// (with the route's response schema for the status, or the schema named in `as`), tags it with the hash of
// those bytes as a strong ETag (or the one given: an article's, src/articles/stored.ts), adds Last-Modified when the route knows when the body last changed, tells
// the public cache how long the answer holds and what it was read from (Surrogate-Key), and answers a conditional GET/HEAD with 304 or 412
// (src/http/conditional.ts). reply.etagOf(body, as) is the ETag a read of a resource carries, for the
// If-Match check of a write (writeIfMatch's `etag` step), serialised exactly as represent would.
// Forgetting to use it shows: the route contract's 304 has no ETag to match, and test/contract.ts fails
// on a response without the ETag its operation documents.
import fp from 'fastify-plugin'
import type { FastifyReply } from 'fastify'
import type { TSchema } from 'typebox'
import { etagOf, lastModifiedHeader, sendConditional } from '../http/conditional.js'
import { cacheKeys, cacheUntil } from './public-cache.js'

/** A component's `$id` (`'Article'`), or a schema object that stays the same (Fastify caches compiled serialisers by identity). */
export type Shape = string | TSchema

export interface RepresentOptions {
  /** The status of a 200-like answer (201 for a create); conditionals apply to GET/HEAD 200s only. Default 200. */
  status?: number
  /** Serialise with this schema instead of the route's response schema for `status`. */
  as?: Shape
  /** The ETag names this body as `as` serialises it, instead of what is sent (a create's body with its shown-once secret). */
  etagOf?: { body: unknown, as: Shape }
  /**
   * The ETag, already known, of a body already serialised (a string): an article's, computed from its
   * stored form (src/articles/stored.ts), which every answer and If-Match of that resource must use alike.
   */
  etag?: string
  /** Default `application/json; charset=utf-8`. */
  contentType?: string
  /** The latest time anything in the body changed: Last-Modified, held back (and the cached copy with it) within its second. */
  modifiedAt?: { at: number, now: number }
  /** The public cache drops its copy at this time (app clock, ms): an answer that changes with time (the news window). */
  holdsUntil?: number
  /**
   * What the body was read from, as dependency keys (`article:12`, `comments:12`, `tag:world`,
   * `list:articles`, `list:tags`, `public-clock`): a public cached copy is dropped by a write that
   * touches one of them (src/plugins/public-cache.ts), and they are sent as `Surrogate-Key` for a CDN.
   * A cached route that gives none is dropped by every write.
   */
  keys?: readonly string[]
}

declare module 'fastify' {
  interface FastifyReply {
    /** Serialises once, tags with an ETag, answers conditionals: see src/plugins/representation.ts. */
    represent: (body: unknown, options?: RepresentOptions) => FastifyReply
    /** The ETag of `body` as serialised by `as`: what a read of the resource carries, for If-Match. */
    etagOf: (body: unknown, as: Shape) => string
  }
}

// One schema object per component, so Fastify compiles each serialiser once per route.
const refs = new Map<string, { $ref: string }>()

function serialise (reply: FastifyReply, as: Shape, body: unknown): string {
  let schema: object
  if (typeof as === 'string') {
    let ref = refs.get(as)
    if (ref === undefined) refs.set(as, ref = { $ref: as })
    schema = ref
  } else {
    schema = as
  }
  return reply.compileSerializationSchema(schema as Record<string, unknown>)(body as Record<string, unknown>)
}

function represent (this: FastifyReply, body: unknown, o: RepresentOptions = {}): FastifyReply {
  const status = o.status ?? 200
  const payload = typeof body === 'string' || Buffer.isBuffer(body)
    ? body
    : o.as !== undefined ? serialise(this, o.as, body) : this.code(status).serialize(body) as string
  const etag = o.etag ?? etagOf(o.etagOf === undefined ? payload : serialise(this, o.etagOf.as, o.etagOf.body))
  if (o.contentType !== undefined) this.header('content-type', o.contentType)
  let holdsUntil = o.holdsUntil
  let lastModified: string | undefined
  if (o.modifiedAt !== undefined) {
    lastModified = lastModifiedHeader(o.modifiedAt.at, o.modifiedAt.now)
    // Held back until the second of the last change is over: a cached copy must not outlive that.
    if (lastModified === undefined) holdsUntil = Math.min(holdsUntil ?? Infinity, (Math.floor(o.modifiedAt.at / 1000) + 1) * 1000)
  }
  if (holdsUntil !== undefined) cacheUntil(this, holdsUntil)
  if (o.keys !== undefined) cacheKeys(this, o.keys)
  return sendConditional(this.request, this, payload, etag, { status, lastModified })
}

export default fp(async (app) => {
  app.decorateReply('represent', represent)
  app.decorateReply('etagOf', function (this: FastifyReply, body: unknown, as: Shape): string {
    return etagOf(serialise(this, as, body))
  })
}, { name: 'representation' })
