// One autocannon round and the numbers a bench report keeps from it.
import autocannon from 'autocannon'
import { cpuSeconds } from './processes.js'

export interface Load {
  method: 'GET' | 'POST' | 'PATCH'
  path: string
  headers: Record<string, string>
  /** A new body for each request (writes vary what they send, so each one changes something). */
  body?: (n: number) => string
  /** Extra headers per request (POST comment varies the client address). */
  perRequestHeaders?: (n: number) => Record<string, string>
}

export interface Round {
  rps: number
  p50: number
  p99: number
  requests: number
  non2xx: number
  errors: number
  /** CPU the server spent per request, in µs (Linux only). */
  cpuUs?: number
}

let sequence = 0

export async function round (base: string, load: Load, connections: number, seconds: number, pid?: number): Promise<Round> {
  const cpuBefore = pid === undefined ? undefined : cpuSeconds(pid)
  const varied = load.body !== undefined || load.perRequestHeaders !== undefined
  const result = await autocannon({
    url: base + load.path,
    connections,
    duration: seconds,
    pipelining: 1,
    ...(varied
      ? {
          requests: [{
            method: load.method,
            path: load.path,
            setupRequest: (req) => {
              const n = ++sequence
              return {
                ...req,
                headers: { ...load.headers, ...load.perRequestHeaders?.(n) },
                ...(load.body ? { body: load.body(n) } : {})
              }
            }
          }]
        }
      : { method: load.method, headers: load.headers })
  })
  const cpuAfter = pid === undefined ? undefined : cpuSeconds(pid)
  return {
    ...(cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0
      ? { cpuUs: (cpuAfter - cpuBefore) * 1e6 / result.requests.total }
      : {}),
    rps: result.requests.total / Math.max(result.duration, 0.001),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts
  }
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : ((sorted[mid - 1]! + sorted[mid]!) / 2)
}
