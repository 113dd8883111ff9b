// Trace context (src/observability/trace-context.ts, tracing.ts, otel.ts): the caller's traceparent is
// the trace id of every log line of its request, and with an OTLP endpoint the spans reach a collector
// (here a plain HTTP server in the test) with that trace id.
import { createServer } from 'node:http'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { defaultConfig, type Config } from '../../src/config.js'
import { newTraceId, parseTraceParent } from '../../src/observability/trace-context.js'
import { tracesUrl } from '../../src/observability/tracing.js'

const TRACE = '0af7651916cd43dd8448eb211c80319c'
const PARENT = 'b7ad6b7169203331'
const traceparent = `00-${TRACE}-${PARENT}-01`

/** An app whose log lines (JSON, level trace) are collected. */
async function logged (t: Test, config: Partial<Config> = {}) {
  const lines: Record<string, any>[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(...String(chunk).trim().split('\n').map((l) => JSON.parse(l))); cb() } })
  const app = await buildApp({
    config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, maxEventLoopDelay: 0, ...config },
    logger: { level: 'trace', stream }
  })
  t.teardown(() => app.close())
  await app.ready()
  const token = (await app.tokens.create('editor', 'editor')).token
  return { app, lines, token }
}

t.test('traceparent is parsed as W3C Trace Context says', async (t) => {
  t.same(parseTraceParent(traceparent), { traceId: TRACE, parentId: PARENT, flags: 1 })
  t.same(parseTraceParent(`00-${TRACE}-${PARENT}-00`), { traceId: TRACE, parentId: PARENT, flags: 0 })
  t.same(parseTraceParent(`cc-${TRACE}-${PARENT}-01-future-field`), { traceId: TRACE, parentId: PARENT, flags: 1 }, 'a later version may add fields')
  for (const bad of [
    undefined, '', 'garbage', `00-${TRACE}-${PARENT}-01-extra`, `ff-${TRACE}-${PARENT}-01`,
    `00-${'0'.repeat(32)}-${PARENT}-01`, `00-${TRACE}-${'0'.repeat(16)}-01`, `00-${TRACE.toUpperCase()}-${PARENT}-01`,
    `00-${TRACE}-${PARENT}`, ['a', 'b']
  ]) t.equal(parseTraceParent(bad), undefined, `refused: ${String(bad)}`)
  const ids = new Set(Array.from({ length: 1000 }, newTraceId))
  t.equal(ids.size, 1000, 'new trace ids are distinct')
  t.ok([...ids].every((id) => /^[0-9a-f]{32}$/.test(id)))
})

t.test('the OTLP traces URL: the signal-specific variable as is, else the base + /v1/traces', async (t) => {
  t.equal(tracesUrl(undefined, undefined), undefined)
  t.equal(tracesUrl('http://collector:4318', undefined), 'http://collector:4318/v1/traces')
  t.equal(tracesUrl('http://collector:4318/', undefined), 'http://collector:4318/v1/traces')
  t.equal(tracesUrl('http://collector:4318', 'http://other:4318/custom'), 'http://other:4318/custom')
})

t.test('every log line of a request carries its trace id: the caller\'s, or a new one', async (t) => {
  const { app, lines, token } = await logged(t)
  await app.inject({ method: 'POST', url: '/v1/articles', headers: { authorization: `Bearer ${token}`, traceparent }, payload: { title: 'Traced', status: 'published' } })
  await app.inject({ method: 'GET', url: '/v1/articles/traced', headers: { traceparent } })
  await app.inject({ method: 'GET', url: '/v1/articles/traced', headers: { traceparent: 'not a traceparent' } })
  await app.inject({ method: 'GET', url: '/v1/articles/traced' })

  const requestLines = lines.filter((l) => l.msg === 'request')
  t.equal(requestLines.length, 4, 'one line per request')
  t.match(requestLines[0], { level: 30, trace_id: TRACE, method: 'POST', route: '/v1/articles', url: '/v1/articles', status: 201 })
  t.match(requestLines[1], { trace_id: TRACE, method: 'GET', route: '/v1/articles/:slug', url: '/v1/articles/traced', status: 200 })
  t.type(requestLines[1]!.duration_ms, 'number')
  t.type(requestLines[1]!.reqId, 'string')
  t.match(requestLines[2]!.trace_id, /^[0-9a-f]{32}$/)
  t.not(requestLines[2]!.trace_id, TRACE, 'an invalid traceparent starts a new trace')
  t.not(requestLines[3]!.trace_id, requestLines[2]!.trace_id, 'each request without one gets its own')
  // Any other line a request logs (here: a failing health check) carries the same ids.
  const requestIds = new Set(requestLines.map((l) => l.reqId))
  t.ok(lines.filter((l) => l.reqId !== undefined).every((l) => typeof l.trace_id === 'string'), 'no request line without trace_id')
  t.equal(requestIds.size, 4)
  t.notOk(lines.some((l) => /incoming request|request completed/.test(String(l.msg))), 'Fastify\'s two default lines are replaced by the one')
})

t.test('probes and scrapes are logged at debug level, server errors at error level', async (t) => {
  const { app, lines } = await logged(t, { metrics: true })
  await app.inject({ method: 'GET', url: '/health/live' })
  await app.inject({ method: 'GET', url: '/metrics' })
  app.db.$client.close() // the database is gone: /health fails with 503, /v1 reads with 500
  await app.inject({ method: 'GET', url: '/health', headers: { traceparent } })
  await app.inject({ method: 'GET', url: '/v1/articles' })
  const requests = lines.filter((l) => l.msg === 'request')
  t.match(requests.map((l) => [l.route, l.status, l.level]), [
    ['/health/live', 200, 20], ['/metrics', 200, 20], ['/health', 503, 50], ['/v1/articles', 500, 50]
  ])
  const failure = lines.find((l) => l.msg === 'health check failed')
  t.equal(failure?.trace_id, TRACE, 'a line logged inside the request has its trace id')
})

/** A stand-in OTLP/HTTP collector: records every span it is sent. */
async function collector (t: Test) {
  const spans: Record<string, any>[] = []
  const requests: { url: string, contentType: string }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => { body += d.toString() })
    req.on('end', () => {
      requests.push({ url: req.url ?? '', contentType: String(req.headers['content-type']) })
      const data = JSON.parse(body) as { resourceSpans: { resource: { attributes: any[] }, scopeSpans: { spans: any[] }[] }[] }
      for (const rs of data.resourceSpans) {
        for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ ...span, resource: rs.resource })
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return { spans, requests, endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}` }
}

t.test('with OTEL_EXPORTER_OTLP_ENDPOINT, spans of the request and its database calls reach the collector with its trace id', async (t) => {
  const otlp = await collector(t)
  const { app, lines, token } = await logged(t, { otlpEndpoint: otlp.endpoint, serviceName: 'gazette-test' })
  await app.inject({ method: 'POST', url: '/v1/articles', headers: { authorization: `Bearer ${token}`, traceparent }, payload: { title: 'Spanned', status: 'published' } })
  await app.inject({ method: 'GET', url: '/v1/articles/spanned' })
  await app.inject({ method: 'GET', url: '/nowhere', headers: { traceparent: `00-${TRACE}-${PARENT}-00` } })
  await app.close() // flushes the batch

  t.ok(otlp.requests.length > 0, 'the collector was called')
  t.ok(otlp.requests.every((r) => r.url === '/v1/traces' && r.contentType.startsWith('application/json')))
  const post = otlp.spans.find((s) => s.name === 'POST /v1/articles')
  t.ok(post, 'the request span is named by its route template')
  t.equal(post?.traceId, TRACE, 'with the caller\'s trace id')
  t.equal(post?.parentSpanId, PARENT, 'as a child of the caller\'s span')
  t.equal(post?.kind, 2, 'SERVER')
  t.match(post?.attributes, [{ key: 'http.request.method' }, { key: 'url.path' }, { key: 'http.route', value: { stringValue: '/v1/articles' } }, { key: 'http.response.status_code', value: { intValue: 201 } }])
  t.match(post?.resource.attributes, [{ key: 'service.name', value: { stringValue: 'gazette-test' } }])

  const children = otlp.spans.filter((s) => s.parentSpanId === post?.spanId)
  const names = children.map((s) => s.name)
  for (const op of ['tokens.findBySecret', 'articles.slugTaken', 'articles.create']) t.ok(names.includes(op), `${op} is a child span`)
  t.ok(children.every((s) => s.traceId === TRACE))
  t.match(children.find((s) => s.name === 'articles.create')?.attributes, [{ key: 'db.system.name', value: { stringValue: 'sqlite' } }])

  const get = otlp.spans.find((s) => s.name === 'GET /v1/articles/:slug')
  t.ok(get, 'a request without traceparent is a trace of its own')
  t.not(get?.traceId, TRACE)
  t.notOk(get?.parentSpanId, 'a root span')
  t.notOk(otlp.spans.some((s) => s.traceId === TRACE && s.name === 'GET'), 'an unsampled caller (flags 00) is not recorded')

  // The log lines name the span: trace_id and span_id as the collector received them.
  const postLine = lines.find((l) => l.msg === 'request' && l.route === '/v1/articles')
  t.equal(postLine?.trace_id, TRACE)
  t.equal(postLine?.span_id, post?.spanId)
  const getLine = lines.find((l) => l.msg === 'request' && l.route === '/v1/articles/:slug')
  t.equal(getLine?.trace_id, get?.traceId)
})
