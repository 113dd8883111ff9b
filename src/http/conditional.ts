// Strong ETags computed from the representation itself, so any change to what a client would receive
// (a renamed tag, a new approved comment) changes the validator, and nothing else does.
//
// A representation is serialised once, by the schema-compiled serialiser its route documents, and the
// ETag is the hash of those very bytes (reply.represent, src/plugins/representation.ts); an article's is
// the hash of its stored form's hash, tags and comment count (src/articles/stored.ts), on every answer and
// If-Match of an article alike. A write checks
// If-Match against the ETag of the current representation serialised the same way (reply.etagOf), so the
// two can never drift apart. This module is the pure part: validators, their comparison, and the send.
//
// Conditional requests follow RFC 9110 section 13:
// - If-Match uses the strong comparison (a weak tag never matches) and `*` matches any current
//   representation; it is evaluated first, on every method, and a false condition is a 412.
// - If-None-Match uses the weak comparison; when it matches (or is `*`), a GET or HEAD answers 304
//   and any other method 412.
// - A header that is not `*` nor a list of entity tags is a client bug that would otherwise silently
//   disable the condition (and lose an update), so it is refused: 422 validation, `in: "header"`.
// - A write's precondition and the write are one atomic step, across processes too (`writeIfMatch`): the
//   repository re-reads the row inside the write's immediate transaction, and when its ETag is no longer the
//   one checked, rolls back; the request then starts again from a fresh read, where a stale If-Match is a 412.
// - When compression applies, the ETag names the coded representation (`"abc+gzip"`, see
//   src/plugins/compression.ts); comparisons ignore that suffix, so a validator obtained with either
//   coding works in If-Match and If-None-Match.
// - Last-Modified and If-Modified-Since (RFC 9110 8.8.2 and 13.1.3), for representations whose time of last
//   change the server knows (feeds, sitemaps). Entity tags stay the primary validator: If-Modified-Since is
//   read only when the request has no If-None-Match. HTTP dates have whole seconds: a representation changed
//   at 10:00:00.400 and again at 10:00:00.700 would carry the same date, and a client holding the first
//   would be told it is current; so the header is sent only once the second of the last change is over,
//   and otherwise left out (the ETag still works).
import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { invalid, PreconditionFailed, retryStale } from './errors.js'

/** The strong ETag of a serialised representation. */
export function etagOf (payload: string | Buffer): string {
  return `"${createHash('sha256').update(payload).digest('base64url').slice(0, 27)}"`
}

export const JSON_TYPE = 'application/json; charset=utf-8'

/** The content codings the server applies, as ETag suffixes (`"tag+gzip"`). */
export const CODING_SUFFIX = /\+(?:gzip|br|deflate)"$/

// One list member: an optional weak prefix and an opaque tag (etagc = %x21 / %x23-7E / obs-text,
// which includes the comma, so a list cannot simply be split on commas). Empty members are allowed.
const MEMBER = /\s*(?:((?:W\/)?"[\x21\x23-\x7e\x80-\xff]*")\s*)?(?:,|$)/y

interface EntityTag { weak: boolean, tag: string }

function parseList (header: string, name: 'if-match' | 'if-none-match'): EntityTag[] | '*' {
  if (header.trim() === '*') return '*'
  const tags: EntityTag[] = []
  MEMBER.lastIndex = 0
  while (MEMBER.lastIndex < header.length) {
    const start = MEMBER.lastIndex
    const match = MEMBER.exec(header)
    if (match === null || MEMBER.lastIndex === start) {
      throw invalid('header', `/${name}`, 'must be * or a comma-separated list of quoted entity tags')
    }
    const raw = match[1]
    if (raw !== undefined) {
      const weak = raw.startsWith('W/')
      tags.push({ weak, tag: (weak ? raw.slice(2) : raw).replace(CODING_SUFFIX, '"') })
    }
  }
  if (tags.length === 0) throw invalid('header', `/${name}`, 'must be * or a comma-separated list of quoted entity tags')
  return tags
}

const bare = (etag: string) => etag.replace(CODING_SUFFIX, '"')

/** If-Match: 412 unless it is `*` or names the current ETag (strong comparison). 422 when malformed. */
function checkIfMatchHeader (request: FastifyRequest, currentEtag: string): void {
  const header = request.headers['if-match']
  if (header === undefined) return
  const tags = parseList(header, 'if-match')
  if (tags === '*') return
  if (!tags.some((t) => !t.weak && t.tag === bare(currentEtag))) throw new PreconditionFailed()
}

/** The If-None-Match member that matches the current ETag (weak comparison), or undefined. */
function matchIfNoneMatch (request: FastifyRequest, currentEtag: string): string | undefined {
  const header = request.headers['if-none-match']
  if (header === undefined) return undefined
  const tags = parseList(header, 'if-none-match')
  if (tags === '*') return currentEtag
  const current = bare(currentEtag)
  return tags.some((t) => t.tag === current) ? currentEtag : undefined
}

/**
 * Preconditions of a write (PATCH, DELETE) on a resource whose current representation has
 * `currentEtag`: 412 when If-Match does not match, or when If-None-Match does (e.g. `*`).
 */
export function checkIfMatch (request: FastifyRequest, currentEtag: string): void {
  checkIfMatchHeader(request, currentEtag)
  if (matchIfNoneMatch(request, currentEtag) !== undefined) {
    throw new PreconditionFailed('If-None-Match names the current ETag: the resource exists in that state.')
  }
}

/** Whether If-None-Match names this ETag (weak comparison, as RFC 9110 asks for GET). */
export function notModified (request: FastifyRequest, etag: string): boolean {
  return matchIfNoneMatch(request, etag) !== undefined
}

/** The Last-Modified value for a representation last changed at `changedAt` (ms), as seen at `now`. */
export function lastModifiedHeader (changedAt: number, now: number): string | undefined {
  if (Math.floor(changedAt / 1000) >= Math.floor(now / 1000)) return undefined
  return new Date(changedAt).toUTCString()
}

/** Whether If-Modified-Since says the client holds a representation at least as new as `lastModified`. */
export function notModifiedSince (request: FastifyRequest, lastModified: string): boolean {
  if ((request.method !== 'GET' && request.method !== 'HEAD') || request.headers['if-none-match'] !== undefined) return false
  const since = request.headers['if-modified-since']
  if (since === undefined) return false
  const sinceMs = Date.parse(since)
  // A value that is not an HTTP date is ignored, as RFC 9110 asks.
  return Number.isFinite(sinceMs) && /GMT$/.test(since.trim()) && Date.parse(lastModified) <= sinceMs
}

/**
 * Sends a serialised representation with its ETag (and its Last-Modified when known), or 304 with no body
 * when the client's If-None-Match, or failing that its If-Modified-Since, shows it already has it. On a GET
 * or HEAD 200, a stale If-Match is a 412 (RFC 9110 13.2.2). The content type defaults to JSON. Routes call
 * reply.represent (src/plugins/representation.ts), which serialises and tags; the public cache's hits come
 * here directly with the bytes they stored.
 */
export function sendConditional (
  request: FastifyRequest, reply: FastifyReply, payload: string | Buffer, etag: string,
  o: { status?: number, lastModified?: string } = {}
): FastifyReply {
  const status = o.status ?? 200
  if (o.lastModified !== undefined) {
    reply.header('last-modified', o.lastModified)
    if (notModifiedSince(request, o.lastModified)) {
      // If-Match is evaluated first (a stale one is a 412), as for any conditional GET.
      checkIfMatch(request, etag)
      return reply.code(304).header('etag', etag).send()
    }
  }
  if (status === 200 && (request.method === 'GET' || request.method === 'HEAD')) {
    checkIfMatchHeader(request, etag)
    if (notModified(request, etag)) {
      // A 304 carries the validator the client holds (it may name a compressed representation).
      const held = (request.headers['if-none-match'] ?? '').split(',').map((t) => t.trim().replace(/^W\//, ''))
        .find((t) => bare(t) === etag)
      // Like any 304 (RFC 9110 15.4.5), no representation metadata: the route (or the public cache) may
      // have set the 200's Content-Type and Link already.
      reply.removeHeader('content-type')
      reply.removeHeader('link')
      return reply.code(304).header('etag', held ?? etag).send()
    }
  }
  if (!reply.hasHeader('content-type')) reply.header('content-type', JSON_TYPE)
  return reply.code(status).header('etag', etag).send(payload)
}

/**
 * A write (PATCH, DELETE) under its preconditions, atomic with them. `load` reads the resource as the caller
 * may see it (404 when it cannot), `etag` is the ETag a read of it carries. If-Match and If-None-Match are
 * checked against it; `write` then applies the change computed from `current` and hands `unchanged` to the
 * repository, which calls it inside the write's immediate transaction on the row as it stands there and
 * throws StaleRead when it is false (someone wrote in between). The whole step then runs again from a fresh
 * read, so the second of two writes sent with the same If-Match gets a 412 (or a 404 when the first deleted
 * the resource), and a write without If-Match is merged onto the latest state instead of overwriting it.
 *
 * A write without a precondition compares `content` instead of the ETag, when given: what the change was
 * computed from, leaving out what moves on its own and never enters it. An article's ETag covers its
 * comment count, so under a stream of comments every comment committed between an edit's read and its
 * transaction made the edit start again, and after five tries it was a 409: an editor could not close the
 * comments of an article being flooded (test/pg/comments.test.ts). With If-Match the ETag is compared, as
 * the client asked (If-None-Match too; `If-Match: *` asks only that the resource exist).
 */
export async function writeIfMatch<Row, Result> (
  request: FastifyRequest,
  steps: {
    load: () => Promise<Row>
    etag: (row: Row) => string
    write: (current: Row, unchanged: (fresh: Row) => boolean) => Promise<Result>
    /** Whether the caller may still see the row (as `load` decides), when that can change without its ETag. */
    visible?: (row: Row) => boolean
    /** What a write without If-Match or If-None-Match must find unchanged (default: the ETag). */
    content?: (row: Row) => string
  }
): Promise<Result> {
  // `If-Match: *` asks only that the resource exist, which the write's check of the row settles.
  const ifMatch = request.headers['if-match']
  const preconditioned = (ifMatch !== undefined && ifMatch.trim() !== '*') || request.headers['if-none-match'] !== undefined
  const guarded = preconditioned || steps.content === undefined ? steps.etag : steps.content
  return await oneAtATime(request, () => retryStale(async () => {
    const current = await steps.load()
    if (ifMatch !== undefined || request.headers['if-none-match'] !== undefined) checkIfMatch(request, steps.etag(current))
    const seen = guarded(current)
    return steps.write(current, (fresh) => (steps.visible?.(fresh) ?? true) && guarded(fresh) === seen)
  }))
}

/** Per app (its route's instance), the last write queued for each path. */
const writing = new WeakMap<object, Map<string, Promise<unknown>>>()

/**
 * An app's writes of one resource (its path), one after another. Each is a read, then a transaction that
 * checks the row is as read; on PostgreSQL the read is round trips away from the check, and ten concurrent
 * PATCHes of one article kept overtaking each other's reads until their five tries ran out: 193 of the
 * bench's 322 answered 409 (test/http/conditional.test.ts). Queued, each reads what the one before wrote.
 * Writes from other processes can still come in between; `retryStale` is for those. The queue belongs to
 * the app, not the module, so two apps in one process (the tests' "two processes") still race each other.
 */
async function oneAtATime<T> (request: FastifyRequest, run: () => Promise<T>): Promise<T> {
  let queues = writing.get(request.server)
  if (queues === undefined) writing.set(request.server, queues = new Map())
  const key = request.url.split('?')[0]!
  const mine = (queues.get(key) ?? Promise.resolve()).then(run, run)
  const settled = mine.then(() => undefined, () => undefined)
  queues.set(key, settled)
  try {
    return await mine
  } finally {
    if (queues.get(key) === settled) queues.delete(key)
  }
}
