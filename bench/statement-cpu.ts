// What each PostgreSQL statement of one request costs the server: the request is sent once to the real app
// (on the PostgreSQL database given, its response cache off), the statements it sends are captured as sent
// (text, values, name: test/pg/sent.ts), and each is then run again and again on a connection of its own,
// as a named prepared statement like the app's, measuring that backend's CPU from /proc.
//
//   node --import tsx bench/statement-cpu.ts --database-url postgres://… --path '/v1/articles?limit=20&q=word'
//     [--batch-ms 40] [--batches 45]
//
// The statements take turns, a batch of runs each (as many as take about `--batch-ms` of wall time: /proc's
// counters move in ~10 ms ticks, so a batch is timed as a whole), `--batches` times, so that a change in
// the machine's load falls on all of them alike. Each line gives the CPU per run in each third of the
// batches: three figures that agree when the machine was steady. The process must run on the database's host (/proc of its backends). It writes
// nothing, but a statement that writes (a rate limit's count) is run as often as asked: use a copy.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { defaultConfig } from '../src/config.js'
import { statementsSent, type SentStatement } from '../test/pg/sent.js'

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
if (url === undefined || path === undefined) throw new Error('usage: bench/statement-cpu.ts --database-url postgres://… --path /v1/… [--batch-ms N] [--batches N]')
const batchMs = Number(args['batch-ms'])
const batches = Number(args.batches)

/**
 * The request's statements: those it sent both times it was captured (the app's background work, an
 * upkeep slice or the dispatcher's round, is sent by the same pool and would otherwise be taken for the
 * request's), in the order of the second. A first sending prepares and warms.
 */
async function captured (): Promise<SentStatement[]> {
  const app = await buildApp({
    config: { ...defaultConfig, seedDemo: false, maxEventLoopDelay: 0, responseCacheMb: 0, searchRateLimit: 1e9, commentRateLimit: 1e9, postgres: { url: url!, poolSize: 1 } }
  })
  try {
    const first = await app.inject({ url: path! })
    if (first.statusCode >= 400) throw new Error(`${path} answered ${first.statusCode}: ${first.body.slice(0, 200)}`)
    const once = (await statementsSent(() => app.inject({ url: path! }))).sent
    await new Promise((resolve) => setTimeout(resolve, 200))
    const again = (await statementsSent(() => app.inject({ url: path! }))).sent
    return again.filter((s) => once.some((o) => o.text === s.text))
  } finally {
    await app.close()
  }
}

/** A backend's CPU so far, in µs (user and system ticks of /proc/<pid>/stat). */
function backendCpu (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1e6 / 100
}

const sent = await captured()
const runners = await Promise.all(sent.map(async (s, i) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
  // Named as the app names it (or `statement_i` for one it sends unnamed: prepared here all the same).
  const query = { name: s.name ?? `statement_${i}`, text: s.text, values: s.values }
  for (let k = 0; k < 30; k++) await client.query(query)
  const started = performance.now()
  for (let k = 0; k < 30; k++) await client.query(query)
  const runs = Math.max(5, Math.round(batchMs / ((performance.now() - started) / 30)))
  return { s, client, pid, query, runs, spent: [] as number[] }
}))
for (let b = 0; b < batches; b++) {
  for (const r of runners) {
    const before = backendCpu(r.pid)
    for (let k = 0; k < r.runs; k++) await r.client.query(r.query)
    r.spent.push(backendCpu(r.pid) - before)
  }
}
console.log(`${path}: ${sent.length} statements; backend CPU per run (µs) in each third of ${batches} batches; runs per batch`)
for (const [i, r] of runners.entries()) {
  const third = Math.max(1, Math.floor(r.spent.length / 3))
  const thirds = [0, 1, 2].map((j) => r.spent.slice(j * third, (j + 1) * third).reduce((a, b) => a + b, 0) / (third * r.runs))
  console.log(`${String(i + 1).padStart(2)}. ${thirds.map((x) => x.toFixed(0).padStart(5)).join(' ')} ${String(r.runs).padStart(5)}  ${r.s.name ?? '(unnamed)'}  ${r.s.text.replace(/\s+/g, ' ').slice(0, 90)}`)
  await r.client.end()
}
