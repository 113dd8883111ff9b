// OpenTelemetry spans, exported over OTLP/HTTP. Imported by tracing.ts only when an endpoint is
// configured: without one, none of this code (nor the SDK) is loaded.
//
// One SERVER span per request, child of the caller's `traceparent` when it sent one (and sampled as it
// says: the SDK's default sampler is parent-based, OTEL_TRACES_SAMPLER changes it), and one INTERNAL span
// per repository operation, child of the request's. The request's span is found through an
// AsyncLocalStorage entered at the start of the request and again once its body has been read (the body
// arrives on the socket's own async context). The SDK is not registered as the global tracer provider:
// only Gazette's own spans are made (drizzle-orm would otherwise add unparented spans of its own).
import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingMessage } from 'node:http'
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import type { OperationProbe } from './instrument.js'
import { parseTraceParent } from './trace-context.js'
import type { RequestTrace } from './tracing.js'

export interface OtelOptions {
  /** The full OTLP/HTTP traces URL (…/v1/traces). */
  url: string
  serviceName: string
  serviceVersion: string
}

type SpannedTrace = RequestTrace & { span: Span, method: string }

export function startOtel (opts: OtelOptions) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName, 'service.version': opts.serviceVersion }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.url }))]
  })
  const tracer = provider.getTracer('gazette', opts.serviceVersion)
  const current = new AsyncLocalStorage<Span>()

  /** The request's span, started before any hook runs (it is what the request's log lines name). */
  function begin (raw: IncomingMessage): SpannedTrace {
    const parent = parseTraceParent(raw.headers.traceparent)
    const parentContext: Context = parent === undefined
      ? ROOT_CONTEXT
      : trace.setSpanContext(ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.parentId, traceFlags: parent.flags & 1, isRemote: true })
    const method = raw.method ?? 'GET'
    const span = tracer.startSpan(method, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': method, 'url.path': (raw.url ?? '/').split('?')[0] ?? '/' }
    }, parentContext)
    const { traceId, spanId } = span.spanContext()
    return { traceId, spanId, span, method }
  }

  /** Runs the rest of the request's hooks with its span as the current one. */
  function enter (trace: RequestTrace | undefined, next: () => void): void {
    const span = (trace as SpannedTrace | undefined)?.span
    if (span === undefined) next()
    else current.run(span, next)
  }

  /** Names the span by its route (`GET /v1/articles/:slug`, never the raw URL) and ends it. */
  function end (trace: RequestTrace | undefined, route: string | undefined, status: number | undefined): void {
    const spanned = trace as Partial<SpannedTrace> | undefined
    const span = spanned?.span
    if (spanned === undefined || span === undefined) return
    spanned.span = undefined // ended once, whether by the response or by an abort
    const method = spanned.method ?? ''
    if (route !== undefined) {
      span.updateName(`${method} ${route}`)
      span.setAttribute('http.route', route)
    }
    if (status === undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'aborted by the client' })
    } else {
      span.setAttribute('http.response.status_code', status)
      if (status >= 500) {
        span.setAttribute('error.type', String(status))
        span.setStatus({ code: SpanStatusCode.ERROR })
      }
    }
    span.end()
  }

  const probe: OperationProbe = (operation) => {
    const parent = current.getStore()
    const dot = operation.indexOf('.')
    const span = tracer.startSpan(operation, {
      kind: SpanKind.INTERNAL,
      attributes: {
        'db.system.name': 'sqlite',
        'db.operation.name': operation.slice(dot + 1),
        'gazette.repository': operation.slice(0, dot)
      }
    }, parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, parent))
    return (error) => {
      if (error !== undefined) {
        span.setStatus({ code: SpanStatusCode.ERROR })
        span.setAttribute('error.type', error instanceof Error ? error.name : 'error')
      }
      span.end()
    }
  }

  return { begin, enter, end, probe, shutdown: () => provider.shutdown() }
}
