// The public response cache: what a GET without a token was answered (200, with its content ETag) is
// kept in memory, keyed by the request target, and served again without touching the routes, for as
// long as it is provably what the route would answer.
//
// What a public read answers depends on three things only: the request target (path and query), the
// database, and the time (an article scheduled for later becomes visible at its publishedAt, with no
// write that anything could notice). Each entry records what in the database it read, as dependency
// keys the route declares with reply.represent(body, { keys }) (`article:12`, `comments:12`, `tag:world`,
// `list:articles`, `list:tags`, `public-clock`; README.md "Behind a CDN" lists them), and is dropped when:
// - this process made a write that declared one of its keys (src/db/change-clock.ts, declareWrite: each
//   repository write says which keys it touched, in the code path that commits). Before every lookup
//   the cache reads total_changes(), the connection's count of rows written: when it moved, the declared
//   writes must account for every change since the last look (their counters chain without a gap), and
//   then exactly their keys are dropped. A change that no declaration covers (a write that declared
//   nothing, a maintenance step) empties the whole cache, as does anything it cannot tell apart. So a
//   forgotten declaration is slow, never stale; a declared key set that is too small is the one way to
//   serve a stale answer, and test/http/response-cache.test.ts compares every cached answer with a fresh
//   one after every kind of write, and fails when any one invalidation is taken out;
// - another process changed the database (a second server on the same file, a script): PRAGMA
//   data_version moved, and what it touched cannot be known, so everything goes. Reading it takes a lock,
//   so it is read at most every VERSION_POLL_MS (measured: bench/README.md#change-counters): such a
//   write is seen within that time, as if it had been committed that much later;
// - on PostgreSQL, any process (this one too) committed a write: every row written notifies, with the keys
//   its transaction declared (src/db/pg/change-clock.ts, declareKeys) or with none, and then everything
//   goes. Notifications arrive within milliseconds (test/pg/change-clock.test.ts); a write's own answer
//   waits until they have (caughtUp);
// - the clock reached the next scheduled publication (min(published_at) after the epoch began, read
//   once per epoch and again after each write), or went backwards: everything goes. Only articles not yet
//   due when last written count (published_at > updated_at): one due at its write showed from that write
//   on, and the write's keys dropped what showed it absent, so publishing at once empties nothing more.
//   (Processes whose clocks disagree disagree on what is due anyway; the gap is as wide as their skew.)
// A route that answers with no keys depends on everything: its entries go with any write at all.
// The keys are sent as `Surrogate-Key` with each public cached answer, so a CDN (Fastly, Varnish xkey)
// can purge by the same keys (README.md "Behind a CDN").
//
// Only routes that opt in with `config: { publicCache: true }` are cached: a new public GET is not kept
// until its author has checked that its answer depends on nothing else, and declared its keys.
// Requests with Authorization are never served from it nor stored (editors see drafts; moderators see
// emails), nor are HEAD requests, requests with If-Match, or anything but a 200 GET sent through
// reply.represent. Entries hold the uncompressed body and the headers the route set (content type,
// ETag, Link, Surrogate-Key). The first time an entry is served to a kind of request (a *variant*: its
// Accept-Encoding, and its Origin when CORS_ORIGINS is a list), it goes through the same hooks and the
// same code as any other response (security, CORS, caching headers, request id, compression, 304 for a
// matching If-None-Match), and the last onSend hook of the route keeps what came out of them: every
// header and the final body bytes. From then on a GET or HEAD of that variant is answered from that
// block by the first onRequest hook of all (preparedHits, below): one writeHead and one end, no other
// hook, no onSend chain, with only X-Request-Id filled in; its onResponse hooks (metrics, tracing, the
// request log) run as for any answer. A conditional request
// (If-None-Match, If-Modified-Since) takes the full path. test/http/response-cache.test.ts compares
// every variant with a fresh answer, header for header and byte for byte.
// Memory is bounded (RESPONSE_CACHE_MB); the least recently used entries go first.
//
// A read that began before a write and ends after it (an await between its statements) may hold what
// it read before: it is not stored when a write since it began touched one of its keys (the recent
// purges are kept as a short log; older than the log, never stored).
//
// Two kinds of routes need more than the request target (src/feeds, src/sitemaps):
// - A route whose body holds absolute URLs built from the request's origin (config.publicOrigin, when
//   PUBLIC_URL is unset) is keyed by that origin too, so one client's Host never shapes another's answer.
// - A route whose answer changes with time in another way than a scheduled publication (the news
//   sitemap's 48-hour window, a Last-Modified held back until its second is over) says until when its
//   answer holds (reply.represent's `holdsUntil`, which calls cacheUntil()); the entry is dropped then.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { changeClock, dependencyKeys, type ChangeClock } from '../db/change-clock.js'
import { sendConditional } from '../http/conditional.js'
import { requestOrigin } from '../http/origin.js'

/** How often PRAGMA data_version is read for writes made by other processes, in ms of real time. */
export const VERSION_POLL_MS = 100

/** Declared by the writes that may move a scheduled publication (dependencyKeys.schedule). */
const SCHEDULE_KEY = dependencyKeys.schedule
/** The key of an entry whose route declared none: any write drops it. */
const ANY = '*'
/** How long a write's answer waits for its own notifications on PostgreSQL before it empties the cache instead. */
const CAUGHT_UP_MS = 1000
/** Purges remembered for reads under way (see above). */
const PURGE_LOG = 256

/**
 * What one kind of request was answered, ready to be sent again: every header as the pipeline left it
 * (`[name, value, …]`, in its order, Content-Length included; X-Request-Id's value at `idAt`, filled in
 * per request) and the body bytes (compressed when the variant was).
 */
interface Variant {
  headers: string[]
  idAt: number
  body: Buffer
}

interface Entry {
  /** Prepared answers by variant (variantOf), made by the first answer of each. */
  variants: Map<string, Variant> | undefined
  payload: Buffer
  etag: string
  lastModified: string | undefined
  /** The headers the route set (ROUTE_HEADERS), in the order it set them: a hit sets them in that order too. */
  head: [string, string][]
  keys: readonly string[]
  /** App-clock time from which the entry no longer holds (Infinity: until the epoch ends). */
  expires: number
  bytes: number
}

/** hits: answered from memory; of which prepared: from a variant's prepared headers (no onSend chain). */
export interface CacheStats { entries: number, bytes: number, hits: number, prepared: number, misses: number, stores: number, evictions: number, clears: number, purged: number }

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

/** Per-request state: the epoch a cacheable request began in (a miss that may be stored), or null; its key; the purge it began after. */
const kEpoch = Symbol('response-cache epoch')
const kKey = Symbol('response-cache key')
const kPurge = Symbol('response-cache purge')
const kCapture = Symbol('response-cache capture')
/** An answer to keep as a variant of an entry, if it ends as a GET 200. */
interface Capture { key: string, entry: Entry, variant: string }
type Tracked = FastifyRequest & { [kEpoch]?: number | null, [kKey]?: string, [kPurge]?: number, [kCapture]?: Capture }
const kExpires = Symbol('response-cache expiry')
const kKeys = Symbol('response-cache keys')
type Expiring = FastifyReply & { [kExpires]?: number, [kKeys]?: readonly string[] }

/** Says that this reply's answer holds only until `at` (app clock, ms): a cached copy is dropped then. */
export function cacheUntil (reply: FastifyReply, at: number): void {
  const r = reply as Expiring
  r[kExpires] = Math.min(r[kExpires] ?? Infinity, at)
}

/**
 * Says what this reply's answer read (dependency keys): a cached copy is dropped by a write that touches
 * one of them, and a public cacheable answer carries them as `Surrogate-Key`.
 */
export function cacheKeys (reply: FastifyReply, keys: readonly string[]): void {
  const r = reply as Expiring
  const unique = [...new Set(keys)]
  r[kKeys] = unique
  if (cacheable(reply.request) && unique.length > 0) reply.header('surrogate-key', unique.join(' '))
}

const isStream = (payload: unknown): payload is NodeJS.ReadableStream =>
  typeof (payload as { pipe?: unknown } | null)?.pipe === 'function' && typeof (payload as { on?: unknown }).on === 'function'

/** A request the cache may answer or store: an opted-in GET without a token or If-Match. */
function cacheable (request: FastifyRequest): boolean {
  return request.routeOptions.config?.publicCache === true && (request.method === 'GET' || request.method === 'HEAD') &&
    request.headers.authorization === undefined && request.headers['if-match'] === undefined
}

// Rough per-entry overhead beyond the body (key, object, headers), so many tiny entries still count.
const ENTRY_OVERHEAD = 512
/** What a route sets on a cached answer (reply.represent, src/http/conditional.ts), kept with the entry. */
const ROUTE_HEADERS = new Set(['content-type', 'link', 'surrogate-key', 'last-modified', 'etag'])
/** Headers whose value is made for each request: an answer carrying one is never prepared. */
const PER_REQUEST = /^(?:x-)?ratelimit|^retry-after$/
/** Prepared variants kept per entry: a few Accept-Encoding spellings times a few listed origins; others take the full path. */
const MAX_VARIANTS = 16

/** Set by the public-cache stage, called by the prepared-hits stage: true when it answered the request. */
type FastHit = (request: FastifyRequest, reply: FastifyReply) => boolean
const fastHits = new WeakMap<object, { serve: FastHit | undefined }>()

/**
 * The first onRequest hook of all (PIPELINE's `prepared-hits` stage, src/http/README.md): a GET or HEAD
 * whose answer is a prepared variant is sent from here, before the hooks whose work that variant already
 * holds (request id, security headers, CORS) or that cannot refuse it: auth passes a request without
 * Authorization on a public route, and a search never has a prepared variant (its RateLimit-* headers
 * are per request), so search-rate-limit still counts every search. It steps aside while requests are
 * shed or the server is closing, for a conditional request, and for everything else; the public-cache
 * stage's own hook then answers as before.
 */
export const preparedHits = fp(async (app) => {
  const holder: { serve: FastHit | undefined } = { serve: undefined }
  fastHits.set(app, holder)
  app.addHook('onRequest', (request, reply, done) => {
    const serve = holder.serve
    if (serve === undefined || !serve(request, reply)) done()
  })
}, { name: 'prepared-hits' })

export default fp(async (app) => {
  const maxBytes = app.config.responseCacheMb * 1024 * 1024
  const storage = app.storage
  // On PostgreSQL (issue 16) every write, this process's own included, arrives as a notification
  // (src/db/pg/change-clock.ts), read as it comes since that costs nothing: one that declared keys drops the
  // entries that read them (heard, below), one that declared nothing moves the version and empties the cache.
  // A write's answer waits until its own notifications were heard (the onSend hook below), which is what
  // total_changes() and the declarations read before every lookup are on SQLite.
  const clock: ChangeClock = storage.engine === 'postgres'
    ? { localChanges: () => 0, declared: () => [], dataVersion: () => storage.changes.version() }
    : changeClock(app.db)
  const pollMs = storage.engine === 'postgres' ? 0 : VERSION_POLL_MS

  const entries = new Map<string, Entry>()
  /** Dependency key → the request keys of the entries that read it. */
  const byDependency = new Map<string, Set<string>>()
  const stats = { hits: 0, prepared: 0, misses: 0, stores: 0, evictions: 0, clears: 0, purged: 0 }
  let bytes = 0
  let epoch = 0
  let changes = clock.localChanges()
  clock.declared()
  let version = clock.dataVersion()
  let versionReadAt = Date.now()
  /** When the current epoch began (app clock), and the next publication after it (null: not read yet). */
  let epochStart = app.clock()
  let horizon: number | null = null
  /** Moves whenever `horizon` is forgotten, so that an answer read before that is not taken for it. */
  let horizonRead = 0
  /** The read of the horizon under way (PostgreSQL answers it asynchronously), by its horizonRead, and its end. */
  let horizonPending = -1
  let horizonAnswer: Promise<void> = Promise.resolve()
  /** The number of the latest purge, and the keys of the latest PURGE_LOG purges (oldest first). */
  let purges = 0
  const purgeLog: { n: number, keys: Set<string> }[] = []

  function newEpoch (now: number): void {
    if (entries.size > 0) stats.clears++
    entries.clear()
    byDependency.clear()
    bytes = 0
    epoch++
    epochStart = now
    horizon = null
    horizonRead++
    // PostgreSQL answers the horizon asynchronously: ask now, so the epoch's first answers may be stored.
    if (storage.engine === 'postgres' && maxBytes > 0) publicationHorizon()
  }

  function remove (key: string, entry: Entry): void {
    entries.delete(key)
    bytes -= entry.bytes
    for (const dep of entry.keys) {
      const set = byDependency.get(dep)
      if (set === undefined) continue
      set.delete(key)
      if (set.size === 0) byDependency.delete(dep)
    }
  }

  /** Drops every entry that read one of `keys` (and every entry that declared none). */
  function purge (keys: Set<string>): void {
    keys.add(ANY)
    purges++
    purgeLog.push({ n: purges, keys })
    if (purgeLog.length > PURGE_LOG) purgeLog.shift()
    for (const dep of keys) {
      const set = byDependency.get(dep)
      if (set === undefined) continue
      for (const key of set) {
        const entry = entries.get(key)
        if (entry !== undefined) { remove(key, entry); stats.purged++ }
      }
    }
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

  /** This process's writes since the last look: their keys dropped if declarations cover them all, else everything. */
  function ownWrites (now: number): void {
    const c = clock.localChanges()
    const declared = clock.declared()
    if (c === changes) return
    let at = changes
    changes = c
    const touched = new Set<string>()
    if (declared !== null) {
      for (const d of declared) {
        if (d.before !== at) break
        at = d.after
        for (const key of d.keys) touched.add(key)
      }
    }
    if (at !== c) {
      newEpoch(now)
      return
    }
    heard(touched)
  }

  /** Drops what declared writes touched (this process's on SQLite, ownWrites; every process's on PostgreSQL). */
  function heard (keys: Iterable<string>): void {
    const touched = new Set(keys)
    purge(touched)
    // An article's write may have scheduled a publication earlier than the one the epoch waits for: read it
    // again now, while entries are held (a stored entry implies a horizon read after every such write
    // before it). Only those declare the schedule's key; a comment or a tag cannot move a publication.
    if (!touched.has(SCHEDULE_KEY)) return
    horizon = null
    horizonRead++
    // PostgreSQL answers it asynchronously: ask now, so the first answers after the write may be stored.
    if (entries.size > 0 || (storage.engine === 'postgres' && maxBytes > 0)) publicationHorizon()
  }

  function check (now: number): void {
    ownWrites(now)
    const real = Date.now()
    if (real - versionReadAt >= pollMs || real < versionReadAt) {
      versionReadAt = real
      const v = clock.dataVersion()
      if (v !== version) {
        version = v
        newEpoch(now)
      }
    }
    if (now < epochStart || (horizon !== null && now >= horizon)) newEpoch(now)
  }

  /** Whether a purge since purge number `since` touched one of `keys` (or is too old to tell). */
  function purgedSince (since: number, keys: readonly string[]): boolean {
    if (since === purges) return false
    const first = purgeLog[0]
    if (first === undefined || first.n > since + 1) return true
    for (let i = purgeLog.length - 1; i >= 0 && purgeLog[i]!.n > since; i--) {
      const touched = purgeLog[i]!.keys
      if (keys.length === 0) return true
      for (const key of keys) if (touched.has(key)) return true
    }
    return false
  }

  /**
   * The first publication due after the epoch began (Infinity: none is scheduled); undefined while
   * PostgreSQL has not answered yet, and then nothing is stored. An answer is kept only if the horizon
   * was not forgotten meanwhile (a new epoch, a write): it would describe an older database.
   */
  function publicationHorizon (): number | undefined {
    if (horizon !== null) return horizon
    const read = horizonRead
    if (horizonPending === read) return undefined
    const next = app.articles.nextPublicationAfter(epochStart)
    if (!(next instanceof Promise)) {
      horizon = next ?? Infinity
      return horizon
    }
    horizonPending = read
    horizonAnswer = next.then((at) => { if (horizonRead === read) horizon = at ?? Infinity }, (err: unknown) => {
      if (horizonPending === read) horizonPending = -1
      app.log.warn({ err }, 'reading the next scheduled publication failed; the response cache stores nothing until it answers')
    })
    return undefined
  }

  app.decorate('responseCache', { stats: () => ({ entries: entries.size, bytes, ...stats }) })
  if (maxBytes === 0) return

  // PostgreSQL: before the answer to a request that may have written leaves, every notification of a commit
  // made until then has been heard (caughtUp: a marker through the same channel, which PostgreSQL delivers
  // after them), so what the write touched is dropped before its client can read again. Waiting for them is
  // a marker's round trip on the listening connection (one shared by the writes answered together; two at
  // most), and one more for the next publication they made it read again; a wait that fails or takes over
  // a second empties the cache.
  if (storage.engine === 'postgres') {
    const changes = storage.changes
    app.addHook('onSend', async (request, _reply, payload) => {
      if (request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS') {
        let timer: NodeJS.Timeout | undefined
        const late = new Promise<false>((resolve) => { timer = setTimeout(resolve, CAUGHT_UP_MS, false) })
        // Then the horizon its notifications asked for, so that its client's next read can be stored.
        const heardAll = await Promise.race([changes.caughtUp().then(async () => { await horizonAnswer; return true }, () => false), late])
        clearTimeout(timer)
        if (!heardAll) newEpoch(app.clock())
      }
      return payload
    })
    // A write that declared nothing moved the version: the epoch ends at once rather than at the next lookup,
    // so the read of the next publication is under way by then.
    changes.onChange((keys) => {
      if (keys === null) sync(app.clock())
      else heard(keys)
    })
  }

  /** The request target, with the origin in front for a route whose body depends on it; undefined: do not cache. */
  function keyOf (request: FastifyRequest): string | undefined {
    if (request.routeOptions.config?.publicOrigin !== true || app.config.publicUrl !== undefined) return request.url
    const origin = requestOrigin(request)
    return origin === undefined ? undefined : `${origin} ${request.url}`
  }

  // What else in a request shapes the answer of a cached route (besides the entry's key, the method and
  // the conditionals): the coding @fastify/compress picks from Accept-Encoding (or none, with
  // X-No-Compression: those take the full path), and, when CORS_ORIGINS is a list, the Origin, which
  // @fastify/cors echoes or not (with `*` every origin gets the same headers). Raw header values, so two
  // requests share a variant only when they sent the same bytes.
  const originVaries = app.config.corsOrigins !== '*'
  function variantOf (request: FastifyRequest): string | undefined {
    const headers = request.headers
    if (headers['x-no-compression'] !== undefined) return undefined
    const coding = headers['accept-encoding'] ?? ''
    return originVaries ? `${coding}\n${headers.origin ?? ''}` : coding
  }

  function evict (): void {
    for (const [key, e] of entries) {
      if (bytes <= maxBytes) break
      remove(key, e)
      stats.evictions++
    }
  }

  /**
   * Answers from a prepared variant: its headers with this request's id, its bytes (none for HEAD).
   * Without Content-Length among them (a body coded as a stream), Node sends the bytes chunked, as then.
   */
  function serve (request: FastifyRequest, reply: FastifyReply, v: Variant): void {
    reply.hijack()
    const headers = v.headers
    // writeHead copies the headers into the response's head at once, so the shared array can be reused.
    headers[v.idAt] = request.id
    const res = reply.raw
    res.writeHead(200, headers)
    if (request.method === 'HEAD') res.end()
    else res.end(v.body)
  }

  let closing = false
  app.addHook('preClose', async () => { closing = true })

  // See preparedHits. The same checks as below, less what the hooks it jumps would refuse.
  const holder = fastHits.get(app)
  if (holder !== undefined) {
    holder.serve = (request, reply) => {
      const method = request.method
      if ((method !== 'GET' && method !== 'HEAD') || closing || !cacheable(request)) return false
      const headers = request.headers
      if (headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined || app.shedding()) return false
      const now = app.clock()
      const key = keyOf(request)
      if (key === undefined || !sync(now) || horizon === null) return false
      const entry = entries.get(key)
      if (entry === undefined || now >= entry.expires || entry.variants === undefined) return false
      const variant = variantOf(request)
      const prepared = variant === undefined ? undefined : entry.variants.get(variant)
      if (prepared === undefined) return false
      stats.hits++
      stats.prepared++
      entries.delete(key)
      entries.set(key, entry)
      serve(request, reply, prepared)
      return true
    }
  }

  // Every other hit (the first of a variant, a conditional request, a prepared one the stage above
  // stepped aside for) and every miss: a HEAD without a prepared answer is the route's, and never stored.
  app.addHook('onRequest', (request: Tracked, reply, done) => {
    if (request.method !== 'GET' || !cacheable(request)) {
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
      remove(key, entry)
      entry = undefined
    }
    // While the next publication is read again after a write (PostgreSQL answers it asynchronously), it is
    // not known whether the clock has reached it: the route answers (its answer is stored once it is known).
    if (entry === undefined || horizon === null) {
      stats.misses++
      request[kEpoch] = epoch
      request[kKey] = key
      request[kPurge] = purges
      done()
      return
    }
    stats.hits++
    // Most recently used last: eviction takes from the front.
    entries.delete(key)
    entries.set(key, entry)
    const variant = variantOf(request)
    if (variant !== undefined && (entry.variants?.size ?? 0) < MAX_VARIANTS) request[kCapture] = { key, entry, variant }
    for (const [name, value] of entry.head) reply.header(name, value)
    try {
      sendConditional(request, reply, entry.payload, entry.etag, { lastModified: entry.lastModified })
    } catch (err) {
      done(err as Error)
    }
  })

  // Stores a public 200 made by reply.represent (a string body with a strong ETag), if the epoch it
  // was computed in is still the current one and no write since touched what it read. Registered
  // before compression's route-level hooks run, so the body is the uncompressed one.
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
    const declared = reply[kKeys]
    const keys = declared === undefined || declared.length === 0 ? [ANY] : declared
    if (sync(now) && began === epoch && !purgedSince(request[kPurge] ?? -1, keys) && size <= maxBytes / 4 &&
        now < (publicationHorizon() ?? -Infinity) && now < expires) {
      const lastModified = reply.getHeader('last-modified')
      const head: [string, string][] = []
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (ROUTE_HEADERS.has(name) && value !== undefined) head.push([name, String(value)])
      }
      const entry: Entry = {
        variants: undefined,
        payload: Buffer.from(payload),
        etag,
        lastModified: typeof lastModified === 'string' ? lastModified : undefined,
        head,
        keys,
        expires,
        bytes: size
      }
      const old = entries.get(key)
      if (old !== undefined) remove(key, old)
      entries.set(key, entry)
      for (const dep of keys) {
        let set = byDependency.get(dep)
        if (set === undefined) byDependency.set(dep, set = new Set())
        set.add(key)
      }
      bytes += size
      stats.stores++
      evict()
      const variant = variantOf(request)
      if (variant !== undefined && entries.get(key) === entry) request[kCapture] = { key, entry, variant }
    }
    done(null, payload)
  })

  // The last onSend hook of every cached route (after compression, tag coding and HEAD's length: this
  // onRoute hook runs after route-pipeline's): what the pipeline made of an entry's first answer to a
  // variant is kept as that variant, if it is a GET 200 whose body is bytes and the entry is still held.
  function capture (request: Tracked, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
    const c = request[kCapture]
    if (c !== undefined) {
      request[kCapture] = undefined
      if (reply.statusCode === 200 && request.method === 'GET' && entries.get(c.key) === c.entry) {
        if (typeof payload === 'string' || Buffer.isBuffer(payload)) prepare(c, reply.getHeaders(), payload, false)
        else if (isStream(payload)) collect(c, reply.getHeaders(), payload)
      }
    }
    done(null, payload)
  }

  /**
   * A body @fastify/compress codes as a stream (above its syncThreshold) goes out chunked, without
   * Content-Length: its bytes are gathered as they pass (this listener and Fastify's pipe, attached in
   * the same tick, see every chunk) and the variant is answered chunked too.
   */
  function collect (c: Capture, headers: Record<string, unknown>, stream: NodeJS.ReadableStream): void {
    const chunks: Buffer[] = []
    let size = 0
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBytes / 4) chunks.push(chunk)
    })
    stream.on('end', () => {
      if (size <= maxBytes / 4 && entries.get(c.key) === c.entry) prepare(c, headers, Buffer.concat(chunks), true)
    })
  }

  function prepare ({ entry, variant }: Capture, replyHeaders: Record<string, unknown>, payload: string | Buffer, chunked: boolean): void {
    const variants = entry.variants ??= new Map()
    if (variants.has(variant) || variants.size >= MAX_VARIANTS) return
    let body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload)
    if (body !== entry.payload && body.equals(entry.payload)) body = entry.payload
    const headers: string[] = []
    let idAt = -1
    let size = 128
    let length = false
    for (const [name, value] of Object.entries(replyHeaders)) {
      if (value === undefined) continue
      // An answer with a header that changes from one request to the next (a search's RateLimit-*,
      // src/plugins/search-rate-limit.ts) is not prepared: every hit of it takes the whole pipeline.
      if (PER_REQUEST.test(name)) return
      if (name === 'x-request-id') {
        idAt = headers.length + 1
        headers.push(name, '')
        continue
      }
      if (name === 'content-length') {
        // Fastify sets it from the body when the pipeline did not (or set another); a stream has none.
        if (chunked) continue
        length = true
      }
      const values = name === 'content-length' ? [String(body.length)] : Array.isArray(value) ? value.map(String) : [String(value)]
      for (const v of values) {
        headers.push(name, v)
        size += name.length + v.length + 4
      }
    }
    if (!length && !chunked) headers.push('content-length', String(body.length))
    // Every answer carries one (src/plugins/request-id.ts); without it there is no slot to fill.
    if (idAt < 0) return
    if (body !== entry.payload) size += body.length
    variants.set(variant, { headers, idAt, body })
    entry.bytes += size
    bytes += size
    evict()
  }

  app.addHook('onRoute', (route) => {
    if (route.config?.publicCache !== true) return
    const existing = route.onSend
    route.onSend = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), capture as never]
  })
}, { name: 'response-cache', dependencies: ['db', 'repositories', 'auth'] })
