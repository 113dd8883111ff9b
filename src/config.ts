// The one typed configuration object. server.ts builds it from process.env; tests build it directly.
import { isIP } from 'node:net'
import { checkArticleUrlTemplate, DEFAULT_ARTICLE_URL_TEMPLATE } from './syndication/links.js'

export type CommentModeration = 'all' | 'first' | 'none'

export interface Config {
  host: string
  port: number
  /** The SQLite file (DATABASE_PATH), used when `postgres` is undefined. */
  databasePath: string
  /**
   * PostgreSQL (DATABASE_URL, PG_POOL_SIZE), which wins over `databasePath` (API.md section 12).
   */
  postgres: PostgresConfig | undefined
  /** An admin secret to register on start (idempotent). */
  adminToken: string | undefined
  seedDemo: boolean
  logLevel: string
  corsOrigins: string[] | '*'
  /**
   * Whose X-Forwarded-For to believe for the client address (flood control, the `ip` moderators see):
   * false (nobody: the peer is the client), the proxies' addresses or CIDRs (the right-most address that
   * is not one of them is the client), or true (anyone: unsafe, warned at start). No hop count: it cannot
   * tell a proxy from a client that connects directly (Fastify refuses to trust one).
   */
  trustProxy: boolean | string[]
  bodyLimit: number
  commentModeration: CommentModeration
  commentMaxLinks: number
  commentRateLimit: number
  /** Minutes after posting during which a comment's author may edit or delete it with its edit token; 0: never. */
  commentEditMinutes: number
  /** Days after which a comment's IP and user agent are cleared. */
  commentPrivateDays: number
  /** Reports (from distinct clients) that send an approved comment back to pending. */
  commentReportThreshold: number
  /** Largest request line plus headers in bytes (431 above it). */
  maxHeaderSize: number
  /** Longest request target (path and query) in characters (414 above it). */
  maxUrlLength: number
  /** Deepest nesting of arrays and objects in a JSON body (400 above it). */
  maxJsonDepth: number
  /** Mean event-loop delay in ms over a sample above which requests are shed with 503; 0 turns it off. */
  maxEventLoopDelay: number
  /** Event-loop utilisation (0–1) over a sample above which requests are shed with 503; 0 turns it off. */
  maxEventLoopUtilization: number
  /** How often the load is sampled, in ms. */
  loadSampleInterval: number
  /** Memory for the public response cache, in MB; 0 turns it off. */
  responseCacheMb: number
  /**
   * The API's public origin (`https://api.news.example`, optionally with a path prefix), without a
   * trailing slash. Feeds and sitemaps build absolute URLs from it; unset, from the request's origin.
   */
  publicUrl: string | undefined
  /** The reader-facing page of an article; see src/syndication/links.ts for the placeholders. */
  articleUrlTemplate: string
  /** The publication's name in feeds and the Google News sitemap. */
  publicName: string
  /** The publication's language (BCP 47, e.g. `en`, `pt-br`) in feeds and the Google News sitemap. */
  publicLanguage: string
  /** Days events and webhook deliveries are kept. */
  eventRetentionDays: number
  /** Let webhooks target loopback, private and other non-public addresses (tests, a trusted network). */
  webhookAllowPrivate: boolean
  /** 32 bytes (64 hex digits or base64) that encrypt webhook secrets; unset: a key kept in the database. */
  webhookEncryptionKey: string | undefined
  /** How long a receiver may take to answer a delivery, in ms. */
  webhookTimeoutMs: number
  /** `pretty` (pino-pretty, for a terminal) or `json`; undefined: pretty when stdout is a terminal. */
  logFormat: 'json' | 'pretty' | undefined
  /** Prometheus metrics at GET /metrics. */
  metrics: boolean
  /** A bearer token /metrics then requires; undefined: open (protect it at the network instead). */
  metricsToken: string | undefined
  /** OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); undefined: no spans, and no OpenTelemetry code loaded. */
  otlpEndpoint: string | undefined
  /** OTLP/HTTP URL for traces when given on its own (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as is). */
  otlpTracesEndpoint: string | undefined
  /** service.name of the spans (OTEL_SERVICE_NAME). */
  serviceName: string
  /** On SIGTERM, how long /health/ready answers 503 while requests are still served, before the listener closes. */
  shutdownDelay: number
  /** Longest a request may run statements on the database before they are interrupted, in ms; 0 turns it off. */
  queryBudgetMs: number
  /** SQLite's page cache for the connection, in MB (kept across requests: the indexes that seeks read). */
  sqliteCacheMb: number
  /** How much of the SQLite file is read through memory mapping, in MB; 0 reads every page with read(). */
  sqliteMmapMb: number
  /** Searches (GET /v1/articles with `q`) per minute per client address. */
  searchRateLimit: number
}

export const defaultConfig: Config = {
  host: '127.0.0.1',
  port: 3000,
  databasePath: './data/gazette.db',
  postgres: undefined,
  adminToken: undefined,
  seedDemo: true,
  logLevel: 'info',
  corsOrigins: '*',
  trustProxy: false,
  bodyLimit: 1024 * 1024,
  commentModeration: 'first',
  commentMaxLinks: 2,
  commentRateLimit: 5,
  commentEditMinutes: 15,
  commentPrivateDays: 90,
  commentReportThreshold: 3,
  maxHeaderSize: 16 * 1024,
  maxUrlLength: 8 * 1024,
  maxJsonDepth: 32,
  maxEventLoopDelay: 1000,
  maxEventLoopUtilization: 0,
  loadSampleInterval: 1000,
  responseCacheMb: 32,
  publicUrl: undefined,
  articleUrlTemplate: DEFAULT_ARTICLE_URL_TEMPLATE,
  publicName: 'Gazette',
  publicLanguage: 'en',
  eventRetentionDays: 30,
  webhookAllowPrivate: false,
  webhookEncryptionKey: undefined,
  webhookTimeoutMs: 10_000,
  logFormat: undefined,
  metrics: false,
  metricsToken: undefined,
  otlpEndpoint: undefined,
  otlpTracesEndpoint: undefined,
  serviceName: 'gazette',
  shutdownDelay: 0,
  queryBudgetMs: 250,
  sqliteCacheMb: 64,
  sqliteMmapMb: 2048,
  searchRateLimit: 120
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>

function integer (env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`)
  }
  return Number(raw)
}

function fraction (env: Env, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(raw)) throw new ConfigError(`${name} must be a number from 0 to 1, got "${raw}"`)
  return Number(raw)
}

function url (env: Env, name: string): string | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  try {
    const parsed = new URL(raw)
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return raw
  } catch {}
  throw new ConfigError(`${name} must be an http or https URL, got "${raw}"`)
}

function boolean (env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (['true', '1', 'yes'].includes(raw)) return true
  if (['false', '0', 'no'].includes(raw)) return false
  throw new ConfigError(`${name} must be true or false, got "${raw}"`)
}

function oneOf<T extends string> (env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`)
  }
  return raw as T
}

/** What a configuration allows but an operator should hear about at start (logged as warnings by src/app.ts). */
export function configWarnings (config: Config): string[] {
  const warnings: string[] = []
  if (config.trustProxy === true) {
    warnings.push('TRUST_PROXY=true believes any client\'s X-Forwarded-For: anyone can choose the address that flood control counts and moderators see. Set TRUST_PROXY to your proxies\' addresses or CIDRs instead.')
  }
  return warnings
}

/** The 32-byte key in a WEBHOOK_ENCRYPTION_KEY (64 hex digits, or base64/base64url of 32 bytes), or undefined when it is not one. */
export function decodeEncryptionKey (raw: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, 'hex')
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) return undefined
  const key = Buffer.from(raw, raw.includes('-') || raw.includes('_') ? 'base64url' : 'base64')
  return key.length === 32 ? key : undefined
}

/** An absolute http(s) URL with no query, fragment or credentials; returned without a trailing slash. */
function publicUrl (env: Env): string | undefined {
  const raw = env.PUBLIC_URL
  if (raw === undefined || raw === '') return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an absolute http(s) URL such as https://api.news.example, got "${raw}"`)
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '' || raw.includes('?') || raw.includes('#')) {
    throw new ConfigError(`PUBLIC_URL must be an http(s) URL without query, fragment or credentials, got "${raw}"`)
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '')
}

function text (env: Env, name: string, fallback: string, pattern: RegExp, what: string): string {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!pattern.test(raw)) throw new ConfigError(`${name} must be ${what}, got "${raw}"`)
  return raw
}

/** proxy-addr's names for address ranges, accepted in TRUST_PROXY beside addresses and CIDRs. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal']

function proxyEntry (entry: string): boolean {
  if (PROXY_RANGES.includes(entry) || isIP(entry) !== 0) return true
  const [address = '', bits, extra] = entry.split('/')
  const family = isIP(address)
  return family !== 0 && extra === undefined && bits !== undefined && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

function trustProxyOf (raw: string | undefined): Config['trustProxy'] {
  if (raw === undefined || raw === '' || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) {
    throw new ConfigError(`TRUST_PROXY cannot be a number of hops ("${raw}"): a client connecting directly could pass for a proxy. List the proxies' addresses or CIDRs.`)
  }
  const entries = raw.split(',').map((e) => e.trim()).filter(Boolean)
  const wrong = entries.filter((e) => !proxyEntry(e))
  if (entries.length === 0 || wrong.length > 0) {
    throw new ConfigError(`TRUST_PROXY must be false, the proxies' addresses or CIDRs (comma-separated; or loopback, linklocal, uniquelocal), or true; "${wrong.join(', ') || raw}" is none of these`)
  }
  return entries
}

/** Where PostgreSQL is, when DATABASE_URL names one (API.md section 12), and how many connections to open. */
export interface PostgresConfig {
  /** `postgres://user:password@host:port/database?sslmode=…`, as given (libpq's URL syntax). */
  url: string
  /** Most connections per process (PG_POOL_SIZE). */
  poolSize: number
}

/**
 * DATABASE_URL, when set: a `postgres://` or `postgresql://` URL with a host (or `?host=` a socket folder).
 * It wins over DATABASE_PATH.
 * A wrong one is refused with a message that never repeats the URL: it usually holds a password.
 */
export function postgresConfig (env: Env): PostgresConfig | undefined {
  const raw = env.DATABASE_URL
  if (raw === undefined || raw === '') return undefined
  let parsed: URL | undefined
  try {
    parsed = new URL(raw)
  } catch {}
  const expected = 'a PostgreSQL URL such as postgres://gazette:secret@db.internal:5432/gazette'
  if (parsed === undefined) throw new ConfigError(`DATABASE_URL must be ${expected} (it is not a URL)`)
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must be ${expected}, not a ${parsed.protocol.replace(/:$/, '')}: URL (SQLite is DATABASE_PATH)`)
  }
  // A Unix socket is named by ?host=/var/run/postgresql, libpq's way.
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) throw new ConfigError(`DATABASE_URL must be ${expected} (it names no host)`)
  return { url: raw, poolSize: integer(env, 'PG_POOL_SIZE', 10, 1, 1000) }
}

/** Reads and checks the environment; throws ConfigError with a message fit for a person. */
export function loadConfig (env: Env): Config {
  const adminToken = env.ADMIN_TOKEN === '' ? undefined : env.ADMIN_TOKEN
  if (adminToken !== undefined && adminToken.length < 22) {
    throw new ConfigError('ADMIN_TOKEN must be at least 22 characters (128 bits of randomness)')
  }
  const encryptionKey = env.WEBHOOK_ENCRYPTION_KEY === '' ? undefined : env.WEBHOOK_ENCRYPTION_KEY
  if (encryptionKey !== undefined && decodeEncryptionKey(encryptionKey) === undefined) {
    throw new ConfigError('WEBHOOK_ENCRYPTION_KEY must be 32 random bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)')
  }
  const metricsToken = env.METRICS_TOKEN === '' ? undefined : env.METRICS_TOKEN
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,200}$/.test(metricsToken)) {
    throw new ConfigError('METRICS_TOKEN must be 16 to 200 printable ASCII characters without spaces')
  }
  const postgres = postgresConfig(env)
  const origins = env.CORS_ORIGINS
  return {
    host: env.HOST || defaultConfig.host,
    port: integer(env, 'PORT', defaultConfig.port, 0, 65535),
    databasePath: env.DATABASE_PATH || defaultConfig.databasePath,
    postgres,
    adminToken,
    seedDemo: boolean(env, 'SEED_DEMO', defaultConfig.seedDemo),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    corsOrigins: origins === undefined || origins === '' || origins === '*'
      ? '*'
      : origins.split(',').map((o) => o.trim()).filter(Boolean),
    trustProxy: trustProxyOf(env.TRUST_PROXY),
    bodyLimit: integer(env, 'BODY_LIMIT', defaultConfig.bodyLimit, 1024, 64 * 1024 * 1024),
    commentModeration: oneOf(env, 'COMMENT_MODERATION', defaultConfig.commentModeration, ['all', 'first', 'none']),
    commentMaxLinks: integer(env, 'COMMENT_MAX_LINKS', defaultConfig.commentMaxLinks, 0, 1000),
    commentRateLimit: integer(env, 'COMMENT_RATE_LIMIT', defaultConfig.commentRateLimit, 1, 100000),
    commentEditMinutes: integer(env, 'COMMENT_EDIT_MINUTES', defaultConfig.commentEditMinutes, 0, 7 * 24 * 60),
    commentPrivateDays: integer(env, 'COMMENT_PRIVATE_DAYS', defaultConfig.commentPrivateDays, 1, 36500),
    commentReportThreshold: integer(env, 'COMMENT_REPORT_THRESHOLD', defaultConfig.commentReportThreshold, 1, 100000),
    maxHeaderSize: integer(env, 'MAX_HEADER_SIZE', defaultConfig.maxHeaderSize, 1024, 1024 * 1024),
    maxUrlLength: integer(env, 'MAX_URL_LENGTH', defaultConfig.maxUrlLength, 256, 1024 * 1024),
    maxJsonDepth: integer(env, 'MAX_JSON_DEPTH', defaultConfig.maxJsonDepth, 2, 1000),
    maxEventLoopDelay: integer(env, 'MAX_EVENT_LOOP_DELAY', defaultConfig.maxEventLoopDelay, 0, 60_000),
    maxEventLoopUtilization: fraction(env, 'MAX_EVENT_LOOP_UTILIZATION', defaultConfig.maxEventLoopUtilization),
    loadSampleInterval: integer(env, 'LOAD_SAMPLE_INTERVAL', defaultConfig.loadSampleInterval, 10, 60_000),
    responseCacheMb: integer(env, 'RESPONSE_CACHE_MB', defaultConfig.responseCacheMb, 0, 64 * 1024),
    publicUrl: publicUrl(env),
    articleUrlTemplate: articleUrlTemplate(env),
    // Printable text, no control characters: it goes into XML and HTTP-visible documents as it is.
    publicName: text(env, 'PUBLIC_NAME', defaultConfig.publicName, /^(?=.*\S)[^\p{Cc}]{1,100}$/u, '1 to 100 printable characters').trim(),
    // ISO 639 language, optionally with a region or script (Google News accepts `zh-cn` and `zh-tw`).
    publicLanguage: text(env, 'PUBLIC_LANGUAGE', defaultConfig.publicLanguage, /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/i, 'a language tag such as en, fr or pt-br').toLowerCase(),
    eventRetentionDays: integer(env, 'EVENT_RETENTION_DAYS', defaultConfig.eventRetentionDays, 1, 3650),
    webhookAllowPrivate: boolean(env, 'WEBHOOK_ALLOW_PRIVATE', defaultConfig.webhookAllowPrivate),
    webhookEncryptionKey: encryptionKey,
    webhookTimeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', defaultConfig.webhookTimeoutMs, 100, 60_000),
    logFormat: env.LOG_FORMAT === undefined || env.LOG_FORMAT === '' ? undefined : oneOf<'json' | 'pretty'>(env, 'LOG_FORMAT', 'json', ['json', 'pretty']),
    metrics: boolean(env, 'METRICS', defaultConfig.metrics),
    metricsToken,
    otlpEndpoint: url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
    otlpTracesEndpoint: url(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
    serviceName: env.OTEL_SERVICE_NAME || defaultConfig.serviceName,
    shutdownDelay: integer(env, 'SHUTDOWN_DELAY', defaultConfig.shutdownDelay, 0, 300_000),
    queryBudgetMs: integer(env, 'QUERY_BUDGET_MS', defaultConfig.queryBudgetMs, 0, 600_000),
    sqliteCacheMb: integer(env, 'SQLITE_CACHE_MB', defaultConfig.sqliteCacheMb, 1, 64 * 1024),
    sqliteMmapMb: integer(env, 'SQLITE_MMAP_MB', defaultConfig.sqliteMmapMb, 0, 2048),
    searchRateLimit: integer(env, 'SEARCH_RATE_LIMIT', defaultConfig.searchRateLimit, 1, 1_000_000)
  }
}

function articleUrlTemplate (env: Env): string {
  const raw = env.ARTICLE_URL_TEMPLATE
  if (raw === undefined || raw === '') return defaultConfig.articleUrlTemplate
  const problem = checkArticleUrlTemplate(raw)
  if (problem !== undefined) throw new ConfigError(`ARTICLE_URL_TEMPLATE ${problem}, got "${raw}"`)
  return raw
}
