// One autocannon round and the numbers a bench report keeps from it.
import autocannon from 'autocannon'
import { seededRandom } from './content.js'
import { cpuSeconds } from './processes.js'

export interface Load {
  method: 'GET' | 'POST' | 'PATCH'
  path: string
  headers: Record<string, string>
  /** A new body for each request (writes vary what they send, so each one changes something). */
  body?: (n: number) => string
  /** Extra headers per request (POST comment varies the client address). */
  perRequestHeaders?: (n: number) => Record<string, string>
  /**
   * Reads spread over many URLs: each request takes one at random (uniformly, from a generator seeded
   * the same for every round, so the real server and the baseline are asked the same sequence).
   */
  paths?: string[]
  /** Writes sent at a fixed rate beside the reads, for as long as the round lasts (the mixed scenarios). */
  writer?: Writer
}

export interface Writer {
  /** Requests a second, paced from the start of the round: a late timer sends what is due at once. */
  rate: number
  method: 'POST' | 'PATCH'
  path: (n: number) => string
  headers: (n: number) => Record<string, string>
  body: (n: number) => string
  /** The status a write that worked answers. */
  expect: number
  /** A word for what the answer says (a comment's moderation status), shown beside its status code. */
  outcome?: (body: string) => string | undefined
}

/** What a round's writer sent and what it got back. */
export interface Writes {
  sent: number
  /** Answers by status code and outcome ("201 approved", "429"), and "error" for a request that failed. */
  statuses: Record<string, number>
  /** Writes answered with the expected status. */
  ok: number
  seconds: number
}

export interface Round {
  rps: number
  p50: number
  p99: number
  requests: number
  non2xx: number
  errors: number
  /** CPU the server spent per request, in µs (Linux only). With a writer: per read, writes' CPU included. */
  cpuUs?: number
  /** On PostgreSQL: CPU the database server's processes spent per request, in µs (bench/postgres.ts). */
  dbCpuUs?: number
  writes?: Writes
}

let sequence = 0

/** Starts sending `w`'s writes to `base` at its rate; `stop` waits for the answers still on their way. */
export function startWriter (base: string, w: Writer): { stop: () => Promise<Writes> } {
  const started = Date.now()
  const statuses: Record<string, number> = {}
  const inFlight = new Set<Promise<void>>()
  let sent = 0
  let ok = 0
  let stopped = false
  const count = (key: string): void => { statuses[key] = (statuses[key] ?? 0) + 1 }
  const send = (): void => {
    const n = ++sequence
    sent++
    const p = fetch(base + w.path(n), { method: w.method, headers: w.headers(n), body: w.body(n) })
      .then(async (res) => {
        const text = await res.text()
        const outcome = w.outcome?.(text)
        count(outcome === undefined ? String(res.status) : `${res.status} ${outcome}`)
        if (res.status === w.expect) ok++
      }, () => { count('error') })
      .finally(() => { inFlight.delete(p) })
    inFlight.add(p)
  }
  const tick = (): void => {
    if (stopped) return
    const due = Math.floor((Date.now() - started) / 1000 * w.rate) + 1
    for (let n = due - sent; n > 0; n--) send()
  }
  tick()
  const timer = setInterval(tick, Math.max(1, Math.floor(1000 / w.rate / 2)))
  return {
    async stop () {
      stopped = true
      clearInterval(timer)
      const seconds = (Date.now() - started) / 1000
      await Promise.all([...inFlight])
      return { sent, statuses, ok, seconds }
    }
  }
}

/**
 * One autocannon round; with `pid`, the CPU that process spent per request, and with `dbCpu` (CPU seconds
 * of the database server so far), the database server's too.
 */
export async function round (base: string, load: Load, connections: number, seconds: number, pid?: number, dbCpu?: () => number | undefined): Promise<Round> {
  const cpuBefore = pid === undefined ? undefined : cpuSeconds(pid)
  const dbBefore = dbCpu?.()
  const varied = load.body !== undefined || load.perRequestHeaders !== undefined || load.paths !== undefined
  // The same seeded sequence of paths for every round and side.
  const pick = seededRandom(17)
  const paths = load.paths
  const writer = load.writer === undefined ? undefined : startWriter(base, load.writer)
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
                ...(paths === undefined ? {} : { path: paths[Math.floor(pick() * paths.length)]! }),
                headers: { ...load.headers, ...load.perRequestHeaders?.(n) },
                ...(load.body ? { body: load.body(n) } : {})
              }
            }
          }]
        }
      : { method: load.method, headers: load.headers })
  })
  const writes = await writer?.stop()
  const cpuAfter = pid === undefined ? undefined : cpuSeconds(pid)
  const dbAfter = dbCpu?.()
  return {
    ...(cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0
      ? { cpuUs: (cpuAfter - cpuBefore) * 1e6 / result.requests.total }
      : {}),
    ...(dbBefore !== undefined && dbAfter !== undefined && result.requests.total > 0
      ? { dbCpuUs: (dbAfter - dbBefore) * 1e6 / result.requests.total }
      : {}),
    rps: result.requests.total / Math.max(result.duration, 0.001),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    ...(writes === undefined ? {} : { writes })
  }
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : ((sorted[mid - 1]! + sorted[mid]!) / 2)
}
