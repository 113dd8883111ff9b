// The public response cache: what a GET without a token was answered (200, with its content ETag) is
// kept in memory, keyed by the request target, and served again without touching the routes, for as
// long as it is provably what the route would answer.
//
// What a public read answers depends on three things only: the request target (path and query), the
// database, and the time (an article scheduled for later becomes visible at its publishedAt, with no
// write that anything could notice). So every entry belongs to an *epoch* during which none of the
// three changes, and an epoch ends, dropping every entry, when:
// - this process changed the database (src/db/change-clock.ts): SQLite's total_changes() counter for the connection moved
//   (read before every lookup: it is nearly free and misses no code path);
// - another process changed it (a second server on the same file, a script): PRAGMA data_version
//   moved. Reading it takes a lock, so it is read at most every VERSION_POLL_MS (measured:
//   bench/README.md#change-counters): such a
//   write is seen within that time, as if it had been committed that much later;
// - the clock reached the next scheduled publication (min(published_at) after the epoch began, read
//   once per epoch), or went backwards.
// Coarse on purpose: any write empties the cache. Finer dependencies (which pages show which article,
// which articles carry a renamed tag or a new comment count) would be a second copy of every query's
// logic, and one missed case would serve stale pages.
//
// Only routes that opt in with `config: { publicCache: true }` are cached: a new public GET is not kept
// until its author has checked that its answer depends on nothing else.
// Requests with Authorization are never served from it nor stored (editors see drafts; moderators see
// emails), nor are HEAD requests, requests with If-Match, or anything but a 200 GET sent through
// reply.represent. Entries hold the uncompressed body and the headers the route set (content type,
// ETag, Link); everything else (security, CORS, caching headers, request id, compression, 304 for a
// matching If-None-Match) is added by the same hooks and the same code as for any other response.
// Memory is bounded (RESPONSE_CACHE_MB); the least recently used entries go first.
//
// Two kinds of routes need more than the request target (src/feeds, src/sitemaps):
// - A route whose body holds absolute URLs built from the request's origin (config.publicOrigin, when
//   PUBLIC_URL is unset) is keyed by that origin too, so one client's Host never shapes another's answer.
// - A route whose answer changes with time in another way than a scheduled publication (the news
//   sitemap's 48-hour window, a Last-Modified held back until its second is over) says until when its
//   answer holds (reply.represent's `holdsUntil`, which calls cacheUntil()); the entry is dropped then.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { changeClock } from '../db/change-clock.js'
import { sendConditional } from '../http/conditional.js'
import { requestOrigin } from '../http/origin.js'

/** How often PRAGMA data_version is read for writes made by other processes, in ms of real time. */
export const VERSION_POLL_MS = 100

interface Entry {
  payload: Buffer
  etag: string
  contentType: string
  link: string | undefined
  lastModified: string | undefined
  /** App-clock time from which the entry no longer holds (Infinity: until the epoch ends). */
  expires: number
  bytes: number
}

export interface CacheStats { entries: number, bytes: number, hits: number, misses: number, stores: number, evictions: number, clears: number }

declare module 'fastify' {
  interface FastifyInstance {
    responseCache: { stats: () => CacheStats }
  }
  interface FastifyContextConfig {
    /**
     * true: this public GET's 200s may be kept and served from memory (they depend only on the request
     * target, the database and the time, as above). Absent or false: never. A public GET that declares a
     * 304 must say which (the route contract refuses it otherwise, src/http/route-contract.ts).
     */
    publicCache?: boolean
  }
}

/** Per-request state: the epoch a cacheable request began in (a miss that may be stored), or null; its key. */
const kEpoch = Symbol('response-cache epoch')
const kKey = Symbol('response-cache key')
type Tracked = FastifyRequest & { [kEpoch]?: number | null, [kKey]?: string }
const kExpires = Symbol('response-cache expiry')
type Expiring = FastifyReply & { [kExpires]?: number }

/** Says that this reply's answer holds only until `at` (app clock, ms): a cached copy is dropped then. */
export function cacheUntil (reply: FastifyReply, at: number): void {
  const r = reply as Expiring
  r[kExpires] = Math.min(r[kExpires] ?? Infinity, at)
}

// Rough per-entry overhead beyond the body (key, object, headers), so many tiny entries still count.
const ENTRY_OVERHEAD = 512

export default fp(async (app) => {
  const maxBytes = app.config.responseCacheMb * 1024 * 1024
  const clock = changeClock(app.db)

  const entries = new Map<string, Entry>()
  const stats = { hits: 0, misses: 0, stores: 0, evictions: 0, clears: 0 }
  let bytes = 0
  let epoch = 0
  let changes = clock.localChanges()
  let version = clock.dataVersion()
  let versionReadAt = Date.now()
  /** When the current epoch began (app clock), and the next publication after it (null: not read yet). */
  let epochStart = app.clock()
  let horizon: number | null = null

  function newEpoch (now: number): void {
    if (entries.size > 0) stats.clears++
    entries.clear()
    bytes = 0
    epoch++
    epochStart = now
    horizon = null
  }

  /**
   * Ends the epoch if the database or the time moved on since it began. False when the database cannot
   * say (closed, failing): the cache is emptied and stays out of the way, so the route reports the error.
   */
  function sync (now: number): boolean {
    try {
      check(now)
      return true
    } catch {
      newEpoch(now)
      return false
    }
  }

  function check (now: number): void {
    const c = clock.localChanges()
    if (c !== changes) {
      changes = c
      newEpoch(now)
    }
    const real = Date.now()
    if (real - versionReadAt >= VERSION_POLL_MS || real < versionReadAt) {
      versionReadAt = real
      const v = clock.dataVersion()
      if (v !== version) {
        version = v
        newEpoch(now)
      }
    }
    if (now < epochStart || (horizon !== null && now >= horizon)) newEpoch(now)
  }

  /** The first publication due after the epoch began (Infinity: none is scheduled). */
  function publicationHorizon (): number {
    horizon ??= app.articles.nextPublicationAfter(epochStart) ?? Infinity
    return horizon
  }

  app.decorate('responseCache', { stats: () => ({ entries: entries.size, bytes, ...stats }) })
  if (maxBytes === 0) return

  /** The request target, with the origin in front for a route whose body depends on it; undefined: do not cache. */
  function keyOf (request: FastifyRequest): string | undefined {
    if (request.routeOptions.config?.publicOrigin !== true || app.config.publicUrl !== undefined) return request.url
    const origin = requestOrigin(request)
    return origin === undefined ? undefined : `${origin} ${request.url}`
  }

  app.addHook('onRequest', (request: Tracked, reply, done) => {
    if (request.routeOptions.config.publicCache !== true || request.method !== 'GET' || request.headers.authorization !== undefined ||
        request.headers['if-match'] !== undefined) {
      done()
      return
    }
    const now = app.clock()
    const key = keyOf(request)
    if (key === undefined || !sync(now)) {
      done()
      return
    }
    let entry = entries.get(key)
    if (entry !== undefined && now >= entry.expires) {
      entries.delete(key)
      bytes -= entry.bytes
      entry = undefined
    }
    if (entry === undefined) {
      stats.misses++
      request[kEpoch] = epoch
      request[kKey] = key
      done()
      return
    }
    stats.hits++
    // Most recently used last: eviction takes from the front.
    entries.delete(key)
    entries.set(key, entry)
    reply.header('content-type', entry.contentType)
    if (entry.link !== undefined) reply.header('link', entry.link)
    try {
      sendConditional(request, reply, entry.payload, entry.etag, { lastModified: entry.lastModified })
    } catch (err) {
      done(err as Error)
    }
  })

  // Stores a public 200 made by reply.represent (a string body with a strong ETag), if the epoch it
  // was computed in is still the current one. Registered before compression's route-level hooks run,
  // so the body is the uncompressed one.
  app.addHook('onSend', (request: Tracked, reply: Expiring, payload, done) => {
    const began = request[kEpoch]
    const key = request[kKey]
    const etag = reply.getHeader('etag')
    if (began === undefined || began === null || key === undefined || reply.statusCode !== 200 || typeof payload !== 'string' ||
        typeof etag !== 'string' || !etag.startsWith('"')) {
      done(null, payload)
      return
    }
    request[kEpoch] = null
    const now = app.clock()
    const size = Buffer.byteLength(payload) + ENTRY_OVERHEAD
    const expires = reply[kExpires] ?? Infinity
    if (sync(now) && began === epoch && size <= maxBytes / 4 && now < publicationHorizon() && now < expires) {
      const link = reply.getHeader('link')
      const lastModified = reply.getHeader('last-modified')
      const entry: Entry = {
        payload: Buffer.from(payload),
        etag,
        contentType: String(reply.getHeader('content-type')),
        link: typeof link === 'string' ? link : undefined,
        lastModified: typeof lastModified === 'string' ? lastModified : undefined,
        expires,
        bytes: size
      }
      const old = entries.get(key)
      if (old !== undefined) { bytes -= old.bytes; entries.delete(key) }
      entries.set(key, entry)
      bytes += size
      stats.stores++
      for (const [key, e] of entries) {
        if (bytes <= maxBytes) break
        entries.delete(key)
        bytes -= e.bytes
        stats.evictions++
      }
    }
    done(null, payload)
  })
}, { name: 'response-cache', dependencies: ['db', 'repositories', 'auth'] })
