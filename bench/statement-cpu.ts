// What each PostgreSQL statement of one request costs the server: the request is sent to the real app (on
// the PostgreSQL database given, its response cache off), the statements it sends are captured as sent
// (text, values, name: test/pg/sent.ts), and each is then run again and again on a connection of its own,
// named as the app names it (unnamed when the app sends it unnamed, so planned with its values each time),
// measuring that backend's time on CPU.
//
//   node --import tsx bench/statement-cpu.ts --database-url postgres://… --path '/v1/articles?limit=20&q=word'
//     [--batch-ms 40] [--batches 45]
//
// The statements take turns, a batch of runs each (as many as take about `--batch-ms` of wall time),
// `--batches` times, so that a change in the machine's load falls on all of them alike. Each line gives
// the CPU per run in each third of the batches (three figures that agree when the machine was steady) and,
// for a named statement, how many of its executions PostgreSQL planned with a generic plan and how many with
// the values (pg_prepared_statements). The time on CPU is /proc/<pid>/schedstat's, in nanoseconds: the
// process must see PostgreSQL's processes (the same host, not a server in another container).
//
// Statements are sent again as captured, writes included (a search's rate-limit count runs thousands of
// times, on one row that piles up dead versions as it would under that much traffic): use a copy of a
// database. The app's background work is kept out of the captures: its timers are set an hour apart, the
// stored-form backfill (a fresh db:copy has none) is finished, and each capture waits for a quiet moment.
// Transaction control (BEGIN, COMMIT…) is listed, not run: alone, it measures nothing.
import { parseArgs } from 'node:util'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { defaultConfig } from '../src/config.js'
import { statementsSent, type SentStatement } from '../test/pg/sent.js'
import { cpuNanoseconds } from './processes.js'

const { values: args } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    path: { type: 'string' },
    'batch-ms': { type: 'string', default: '40' },
    batches: { type: 'string', default: '45' }
  }
})
const url = args['database-url']
const path = args.path
const batchMs = Number(args['batch-ms'])
const batches = Number(args.batches)
if (url === undefined || path === undefined || !(batchMs > 0) || !Number.isInteger(batches) || batches < 3) {
  throw new Error('usage: bench/statement-cpu.ts --database-url postgres://… --path /v1/… [--batch-ms N > 0] [--batches N ≥ 3]')
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The request's statements: only those it sent in both of two captures (a background statement that
 * slipped in once is left out), in the order of the second, each capture made once a 300 ms window has
 * passed with no statement sent (the app's start-up work, a retention purge in slices, is over). A first
 * sending prepares and warms.
 */
async function captured (): Promise<SentStatement[]> {
  const hour = 3_600_000
  const app = await buildApp({
    config: { ...defaultConfig, seedDemo: false, maxEventLoopDelay: 0, responseCacheMb: 0, searchRateLimit: 1e9, commentRateLimit: 1e9, postgres: { url: url!, poolSize: 1 } },
    workers: { pollMs: hour }
  })
  /** Waits, at most two minutes, until a 300 ms window passes without a statement. */
  const quiet = async (): Promise<void> => {
    const deadline = Date.now() + 120_000
    while ((await statementsSent(async () => await sleep(300))).sent.length > 0) {
      if (Date.now() > deadline) throw new Error('the app kept sending statements of its own for two minutes: its background work would be taken for the request\'s')
    }
  }
  try {
    // Ready first: onReady starts a backfill pass, which the awaited one then follows.
    await app.ready()
    await app.upkeep.fillRepresentations()
    const first = await app.inject({ url: path! })
    if (first.statusCode >= 400) throw new Error(`${path} answered ${first.statusCode}: ${first.body.slice(0, 200)}`)
    await quiet()
    const once = (await statementsSent(() => app.inject({ url: path! }))).sent
    await quiet()
    const again = (await statementsSent(() => app.inject({ url: path! }))).sent
    return again.filter((s) => once.some((o) => o.text === s.text))
  } finally {
    await app.close()
  }
}

/** A backend's time on CPU so far, in µs. */
function backendCpu (pid: number): number {
  const ns = cpuNanoseconds(pid)
  if (ns === null) throw new Error(`no /proc/${pid}/schedstat: PostgreSQL's backends must be processes this one can see (Linux, the same host)`)
  return ns / 1000
}

const TRANSACTION_CONTROL = /^\s*(BEGIN|START|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET)\b/i

const sent = await captured()
const control = sent.filter((s) => TRANSACTION_CONTROL.test(s.text))
const measured = sent.filter((s) => !control.includes(s))
// One after another: timed together, the two cores' sharing would make each run look slower and each
// batch come out shorter than asked.
const runners = []
for (const s of measured) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
  const query = s.name === undefined ? { text: s.text, values: s.values } : { name: s.name, text: s.text, values: s.values }
  for (let k = 0; k < 30; k++) await client.query(query)
  const started = performance.now()
  for (let k = 0; k < 30; k++) await client.query(query)
  const runs = Math.max(5, Math.round(batchMs / ((performance.now() - started) / 30)))
  runners.push({ s, client, pid, query, runs, spent: [] as number[] })
}
for (let b = 0; b < batches; b++) {
  for (const r of runners) {
    const before = backendCpu(r.pid)
    for (let k = 0; k < r.runs; k++) await r.client.query(r.query)
    r.spent.push(backendCpu(r.pid) - before)
  }
}
console.log(`${path}: ${sent.length} statements; backend CPU per run (µs) in each third of ${batches} batches, runs per batch, plans (generic/custom)`)
const cuts = [0, 1, 2, 3].map((j) => Math.round(j * batches / 3))
for (const [i, r] of runners.entries()) {
  const thirds = [0, 1, 2].map((j) => r.spent.slice(cuts[j], cuts[j + 1]).reduce((a, b) => a + b, 0) / ((cuts[j + 1]! - cuts[j]!) * r.runs))
  const plans = r.s.name === undefined
    ? 'unnamed'
    : (({ generic, custom }) => `${generic}/${custom}`)((await r.client.query<{ generic: string, custom: string }>(
        'SELECT generic_plans AS generic, custom_plans AS custom FROM pg_prepared_statements WHERE name = $1', [r.s.name])).rows[0] ?? { generic: '?', custom: '?' })
  console.log(`${String(i + 1).padStart(2)}. ${thirds.map((x) => x.toFixed(0).padStart(5)).join(' ')} ${String(r.runs).padStart(5)} ${plans.padStart(11)}  ${r.s.name ?? '(unnamed)'}  ${r.s.text.replace(/\s+/g, ' ').slice(0, 80)}`)
  await r.client.end()
}
for (const s of control) console.log(`    (not run) ${s.text.replace(/\s+/g, ' ').slice(0, 80)}`)
