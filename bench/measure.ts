// One autocannon round and the numbers a bench report keeps from it.
import autocannon from 'autocannon'

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
}

let sequence = 0

export async function round (base: string, load: Load, connections: number, seconds: number): Promise<Round> {
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
  return {
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
