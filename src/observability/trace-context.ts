// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` request header a caller (a
// gateway, a front end, another service) sends so that its trace and ours are one. Parsed here without
// any OpenTelemetry code, because the trace id goes into every request's log line whether or not spans
// are exported.
import { randomString } from '../lib/random.js'

export interface TraceParent {
  traceId: string
  /** The caller's span, the parent of ours. */
  parentId: string
  /** Trace flags; bit 0 is "sampled". */
  flags: number
}

// version-traceid-parentid-flags, lowercase hex. Later versions may append fields after a dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/** The header's fields, or undefined when it is absent or not valid (the request then starts a new trace). */
export function parseTraceParent (header: string | string[] | undefined): TraceParent | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined
  const m = TRACEPARENT.exec(header.trim())
  if (m === null) return undefined
  const [, version, traceId, parentId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined]
  // Version ff is forbidden; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined
  return { traceId, parentId, flags: parseInt(flags, 16) }
}

/** A new random trace id (32 lowercase hex digits, never all zeros). */
export function newTraceId (): string {
  const id = randomString(16, 'hex')
  return id === ZERO_TRACE ? newTraceId() : id
}
