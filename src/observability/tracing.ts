// Trace ids for every request, and OpenTelemetry spans when an exporter is configured.
//
// A request's trace id is the caller's (W3C `traceparent`) or a new one; it is bound to the request's
// logger as `trace_id`, so every line the request logs carries it (src/app.ts's childLoggerFactory calls
// `begin` before any hook runs). With OTEL_EXPORTER_OTLP_ENDPOINT set, this plugin loads the SDK
// (src/observability/otel.ts, imported only then) and `begin` starts the request's span instead, whose
// trace id is the one logged. Without it, no OpenTelemetry code is loaded and no hook is added.
import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import { newTraceId, parseTraceParent } from './trace-context.js'

export interface RequestTrace {
  traceId: string
  /** The request's own span, when spans are exported. */
  spanId?: string
}

export interface RequestTracer {
  /** Called once per request, before any hook: the ids to log, and the span when spans are exported. */
  begin: (raw: IncomingMessage) => RequestTrace
}

const kTrace = Symbol('gazette trace')
type Traced = IncomingMessage & { [kTrace]?: RequestTrace }

export function createRequestTracer (): RequestTracer {
  return {
    begin: (raw) => ({ traceId: parseTraceParent(raw.headers.traceparent)?.traceId ?? newTraceId() })
  }
}

/** Begins the request's trace and keeps it on the raw request; returns it. */
export function beginTrace (tracer: RequestTracer, raw: IncomingMessage): RequestTrace {
  const trace = tracer.begin(raw)
  ;(raw as Traced)[kTrace] = trace
  return trace
}

/** The trace begun for this request, if any (none when neither logs nor spans want one). */
export const traceOf = (raw: IncomingMessage): RequestTrace | undefined => (raw as Traced)[kTrace]

/** The OTLP/HTTP traces URL: the signal-specific variable as is, else the base endpoint + /v1/traces. */
export function tracesUrl (base: string | undefined, traces: string | undefined): string | undefined {
  if (traces !== undefined) return traces
  return base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`
}

const packageVersion = (): string =>
  (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

export default fp<{ tracer: RequestTracer }>(async (app, { tracer }) => {
  const url = tracesUrl(app.config.otlpEndpoint, app.config.otlpTracesEndpoint)
  if (url === undefined) return
  const { startOtel } = await import('./otel.js')
  const otel = startOtel({ url, serviceName: app.config.serviceName, serviceVersion: packageVersion() })
  tracer.begin = otel.begin
  app.operationProbes.push(otel.probe)

  // The first hooks of the request, and the first after its body has been read.
  app.addHook('onRequest', (request, _reply, done) => { otel.enter(traceOf(request.raw), done) })
  app.addHook('preValidation', (request, _reply, done) => { otel.enter(traceOf(request.raw), done) })
  app.addHook('onResponse', (request, reply, done) => {
    otel.end(traceOf(request.raw), request.routeOptions.url, reply.statusCode)
    done()
  })
  app.addHook('onRequestAbort', (request, done) => {
    otel.end(traceOf(request.raw), request.routeOptions.url, undefined)
    done()
  })
  // Exports what is still buffered.
  app.addHook('onClose', async () => { await otel.shutdown() })
  app.log.info({ url }, 'exporting OpenTelemetry spans')
}, { name: 'tracing' })
