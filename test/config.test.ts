import { join } from 'node:path'
import t from 'tap'
import { ConfigError, defaultConfig, loadConfig } from '../src/config.js'
import { build, onSqlite } from './helper.js'

t.test('defaults', async (t) => {
  t.same(loadConfig({}), defaultConfig)
})

t.test('every setting read from the environment', async (t) => {
  t.same(loadConfig({
    HOST: '0.0.0.0',
    PORT: '8080',
    DATABASE_PATH: '/var/lib/gazette.db',
    ADMIN_TOKEN: 'a-long-enough-secret-123',
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    CORS_ORIGINS: 'https://a.example, https://b.example',
    TRUST_PROXY: 'true',
    BODY_LIMIT: '2048',
    COMMENT_MODERATION: 'none',
    COMMENT_MAX_LINKS: '0',
    COMMENT_RATE_LIMIT: '10',
    COMMENT_EDIT_MINUTES: '0',
    COMMENT_PRIVATE_DAYS: '30',
    COMMENT_REPORT_THRESHOLD: '5',
    MAX_HEADER_SIZE: '8192',
    MAX_URL_LENGTH: '4096',
    MAX_JSON_DEPTH: '16',
    MAX_EVENT_LOOP_DELAY: '0',
    MAX_EVENT_LOOP_UTILIZATION: '0.95',
    LOAD_SAMPLE_INTERVAL: '500',
    RESPONSE_CACHE_MB: '0',
    PUBLIC_URL: 'https://API.news.example:443/gazette/',
    ARTICLE_URL_TEMPLATE: 'https://news.example/{section}/{year}/{month}/{day}/{slug}-{id}.html',
    PUBLIC_NAME: ' The Daily Example ',
    PUBLIC_LANGUAGE: 'pt-BR',
    EVENT_RETENTION_DAYS: '7',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_ENCRYPTION_KEY: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7GfN2Fkpuc0=',
    WEBHOOK_TIMEOUT_MS: '5000',
    LOG_FORMAT: 'pretty',
    METRICS: 'true',
    METRICS_TOKEN: 'a-metrics-token-0123',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/v1/traces',
    OTEL_SERVICE_NAME: 'gazette-eu',
    SHUTDOWN_DELAY: '5000',
    QUERY_BUDGET_MS: '100',
    SEARCH_RATE_LIMIT: '30',
    SQLITE_CACHE_MB: '256',
    SQLITE_MMAP_MB: '0'
  }), {
    host: '0.0.0.0',
    port: 8080,
    databasePath: '/var/lib/gazette.db',
    postgres: undefined,
    adminToken: 'a-long-enough-secret-123',
    seedDemo: false,
    logLevel: 'warn',
    corsOrigins: ['https://a.example', 'https://b.example'],
    trustProxy: true,
    bodyLimit: 2048,
    commentModeration: 'none',
    commentMaxLinks: 0,
    commentRateLimit: 10,
    commentEditMinutes: 0,
    commentPrivateDays: 30,
    commentReportThreshold: 5,
    maxHeaderSize: 8192,
    maxUrlLength: 4096,
    maxJsonDepth: 16,
    maxEventLoopDelay: 0,
    maxEventLoopUtilization: 0.95,
    loadSampleInterval: 500,
    responseCacheMb: 0,
    publicUrl: 'https://api.news.example/gazette',
    articleUrlTemplate: 'https://news.example/{section}/{year}/{month}/{day}/{slug}-{id}.html',
    publicName: 'The Daily Example',
    publicLanguage: 'pt-br',
    eventRetentionDays: 7,
    webhookAllowPrivate: true,
    webhookEncryptionKey: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7GfN2Fkpuc0=',
    webhookTimeoutMs: 5000,
    logFormat: 'pretty',
    metrics: true,
    metricsToken: 'a-metrics-token-0123',
    otlpEndpoint: 'http://collector:4318',
    otlpTracesEndpoint: 'https://traces.example/v1/traces',
    serviceName: 'gazette-eu',
    shutdownDelay: 5000,
    queryBudgetMs: 100,
    searchRateLimit: 30,
    sqliteCacheMb: 256,
    sqliteMmapMb: 0
  })
  t.equal(loadConfig({ LOG_FORMAT: 'json' }).logFormat, 'json')
  t.equal(loadConfig({ METRICS_TOKEN: '' }).metricsToken, undefined)
  t.equal(loadConfig({ PUBLIC_URL: 'http://127.0.0.1:3000' }).publicUrl, 'http://127.0.0.1:3000')
  t.equal(loadConfig({ ARTICLE_URL_TEMPLATE: '{PUBLIC_URL}/read/{id}' }).articleUrlTemplate, '{PUBLIC_URL}/read/{id}')
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8' }).trustProxy, ['10.0.0.0/8'])
  t.same(loadConfig({ TRUST_PROXY: ' 127.0.0.1, 10.0.0.0/8,::1, fd00::/8 ,uniquelocal' }).trustProxy,
    ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'uniquelocal'], 'addresses, CIDRs and named ranges')
  t.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false)
  t.equal(loadConfig({ SEED_DEMO: '1' }).seedDemo, true)
  t.equal(loadConfig({ WEBHOOK_ENCRYPTION_KEY: 'ab'.repeat(32) }).webhookEncryptionKey, 'ab'.repeat(32), 'a key in hex')
  t.ok(loadConfig({ WEBHOOK_ENCRYPTION_KEY: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7GfN2Fkpuc0' }).webhookEncryptionKey, 'base64 without padding')
})

t.test('SQLITE_CACHE_MB sizes the connection\'s page cache', onSqlite, async (t) => {
  t.equal(loadConfig({}).sqliteCacheMb, 64, 'by default')
  const a = await build(t, { sqliteCacheMb: 8 })
  t.equal(a.app.db.$client.pragma('cache_size', { simple: true }), -8 * 1024, 'in KiB, negative as SQLite takes it')
})

t.test('SQLITE_MMAP_MB maps the file into memory for reads, or not', onSqlite, async (t) => {
  t.equal(loadConfig({}).sqliteMmapMb, 2048, 'by default, as much as SQLite maps')
  // A file of its own: an in-memory database has nothing to map.
  const file = (name: string): string => join(t.testdir(), name)
  const a = await build(t, { sqliteMmapMb: 8, databasePath: file('a.db') })
  t.equal(a.app.db.$client.pragma('mmap_size', { simple: true }), 8 * 1024 * 1024, 'in bytes')
  const b = await build(t, { sqliteMmapMb: 0, databasePath: file('b.db') })
  t.equal(b.app.db.$client.pragma('mmap_size', { simple: true }), 0, 'off')
  const c = await build(t, { databasePath: file('c.db') })
  t.equal(c.app.db.$client.pragma('mmap_size', { simple: true }), 0x7fff0000, 'the default, capped by this build of SQLite just under 2 GB')
  // The page cache behind the mapping: small while the whole file is mapped (test/db/page-cache.test.ts).
  t.equal(c.app.db.$client.pragma('cache_size', { simple: true }), -4 * 1024, 'a mapped file, a small page cache')
  t.equal(b.app.db.$client.pragma('cache_size', { simple: true }), -64 * 1024, 'no mapping, SQLITE_CACHE_MB')
})

t.test('bad values stop with a clear message', async (t) => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: '70000' }, /PORT must be an integer from 0 to 65535/],
    [{ PORT: '-1' }, /PORT/],
    [{ SEED_DEMO: 'maybe' }, /SEED_DEMO must be true or false/],
    [{ COMMENT_MODERATION: 'some' }, /COMMENT_MODERATION must be one of all, first, none/],
    [{ ADMIN_TOKEN: 'short' }, /ADMIN_TOKEN must be at least 22 characters/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ MAX_EVENT_LOOP_UTILIZATION: '1.5' }, /MAX_EVENT_LOOP_UTILIZATION must be a number from 0 to 1/],
    [{ MAX_EVENT_LOOP_UTILIZATION: 'high' }, /MAX_EVENT_LOOP_UTILIZATION/],
    [{ MAX_JSON_DEPTH: '1' }, /MAX_JSON_DEPTH must be an integer from 2/],
    [{ RESPONSE_CACHE_MB: '-1' }, /RESPONSE_CACHE_MB must be an integer from 0/],
    [{ EVENT_RETENTION_DAYS: '0' }, /EVENT_RETENTION_DAYS must be an integer from 1/],
    [{ WEBHOOK_ALLOW_PRIVATE: 'sometimes' }, /WEBHOOK_ALLOW_PRIVATE must be true or false/],
    [{ WEBHOOK_ENCRYPTION_KEY: 'too-short' }, /WEBHOOK_ENCRYPTION_KEY must be 32 random bytes/],
    [{ WEBHOOK_ENCRYPTION_KEY: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7GfN2Fkpu=' }, /WEBHOOK_ENCRYPTION_KEY/],
    [{ SQLITE_CACHE_MB: '0' }, /SQLITE_CACHE_MB must be an integer from 1/],
    [{ SQLITE_MMAP_MB: '4096' }, /SQLITE_MMAP_MB must be an integer from 0 to 2048/],
    [{ QUERY_BUDGET_MS: '-1' }, /QUERY_BUDGET_MS must be an integer from 0/],
    [{ SEARCH_RATE_LIMIT: '0' }, /SEARCH_RATE_LIMIT must be an integer from 1/],
    [{ PUBLIC_URL: 'api.news.example' }, /PUBLIC_URL must be an absolute http\(s\) URL/],
    [{ PUBLIC_URL: 'ftp://api.news.example' }, /PUBLIC_URL must be an http\(s\) URL without query/],
    [{ PUBLIC_URL: 'https://api.news.example/?a=1' }, /without query, fragment or credentials/],
    [{ PUBLIC_URL: 'https://user:pw@api.news.example' }, /without query, fragment or credentials/],
    [{ ARTICLE_URL_TEMPLATE: 'https://news.example/{title}' }, /ARTICLE_URL_TEMPLATE has an unknown placeholder \{title\}/],
    [{ ARTICLE_URL_TEMPLATE: 'https://news.example/{section}' }, /must contain \{slug\} or \{id\}/],
    [{ ARTICLE_URL_TEMPLATE: '/articles/{slug}' }, /must make absolute URLs/],
    [{ ARTICLE_URL_TEMPLATE: 'mailto:{slug}@news.example' }, /must make http or https URLs/],
    [{ ARTICLE_URL_TEMPLATE: 'https://{slug}.news.example/' }, /placeholders out of the scheme and host/],
    [{ ARTICLE_URL_TEMPLATE: 'https://news.example/{slug' }, /unmatched/],
    [{ ARTICLE_URL_TEMPLATE: 'https://news.example/a b/{slug}' }, /must not contain spaces/],
    [{ PUBLIC_NAME: '   ' }, /PUBLIC_NAME must be 1 to 100 printable characters/],
    [{ PUBLIC_NAME: 'Bell\u0007' }, /PUBLIC_NAME/],
    [{ PUBLIC_LANGUAGE: 'english' }, /PUBLIC_LANGUAGE must be a language tag/],
    // Passed on as they were, these stopped the server with proxy-addr's TypeError, or were a hop count
    // that Fastify silently treats as "trust nobody".
    [{ TRUST_PROXY: 'yes' }, /TRUST_PROXY must be false, the proxies' addresses or CIDRs .*"yes"/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY .*"10.0.0.0\/33"/],
    [{ TRUST_PROXY: '10.0.0.1, proxy.internal' }, /"proxy.internal"/],
    [{ TRUST_PROXY: ',' }, /TRUST_PROXY must be/],
    [{ TRUST_PROXY: '1' }, /TRUST_PROXY cannot be a number of hops/],
    [{ WEBHOOK_TIMEOUT_MS: '10' }, /WEBHOOK_TIMEOUT_MS must be an integer from 100/],
    [{ COMMENT_EDIT_MINUTES: '15m' }, /COMMENT_EDIT_MINUTES must be an integer from 0 to 10080/],
    [{ COMMENT_PRIVATE_DAYS: '0' }, /COMMENT_PRIVATE_DAYS must be an integer from 1/],
    [{ COMMENT_REPORT_THRESHOLD: '0' }, /COMMENT_REPORT_THRESHOLD must be an integer from 1/],
    [{ LOG_FORMAT: 'xml' }, /LOG_FORMAT must be one of json, pretty/],
    [{ METRICS: 'maybe' }, /METRICS must be true or false/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN must be 16 to 200 printable ASCII characters/],
    [{ METRICS_TOKEN: 'has a space in it, sixteen+' }, /METRICS_TOKEN/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT must be an http or https URL/],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' }, /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http or https URL/],
    [{ SHUTDOWN_DELAY: '-5' }, /SHUTDOWN_DELAY must be an integer from 0 to 300000/]
  ]
  for (const [env, message] of bad) {
    try {
      loadConfig(env)
      t.fail(`${JSON.stringify(env)} was accepted`)
    } catch (err) {
      t.ok(err instanceof ConfigError, 'a ConfigError')
      t.match((err as Error).message, message)
    }
  }
})
