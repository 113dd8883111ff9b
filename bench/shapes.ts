// npm run bench:shapes: every public request shape (bench/shape-list.ts, generated from the server's own
// OpenAPI document) against a database, one request at a time, and the slowest twenty with their times.
// A new slow shape cannot land unseen: a route, parameter or enum value added later is walked too.
//
//   npm run bench:shapes -- --db /tmp/gazette-1m.db           the million-article database (bench/generate.ts)
//   npm run bench:shapes -- --db … --repeat 20 --top 20        samples per shape (fewer for a slow one), rows printed
//   npm run bench:shapes -- --db … --only 'q=|tags'            shapes whose URL matches a regular expression
//   npm run bench:shapes -- --db … --editor                    also the GET routes that need a token, as an admin
//   npm run bench:shapes -- --db … --url '/v1/tags?limit=100'  just these URLs (repeatable)
//   npm run bench:shapes -- --db … --server-dir /tmp/before    another build's server (its dist/), e.g. the code before a change
//
// The server runs as production does (`node dist/server.js` after `npm run build`, or `--server tsx`) with the
// response cache off (every request queries the database), load shedding off (a slow shape must not turn the
// next ones into 503s) and the search rate limit lifted. It opens the database as it is: on a database made
// before this build's migrations, the server migrates it first (the time is printed).
//
// Besides wall times it prints the CPU time the server's main thread (the event loop, where every SQLite
// statement runs) spent per request, from /proc/<pid>/schedstat (Linux): on a shared machine, wall times
// include waiting for a core, and the CPU time is what the request itself costs.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { cpuNanoseconds, freePort, startChild, waitFor } from './processes.js'
import { findShapeFixtures, shapesOf, type OpenApiDocument, type Shape } from './shape-list.js'

const { values: args } = parseArgs({
  options: {
    db: { type: 'string' },
    repeat: { type: 'string', default: '20' },
    top: { type: 'string', default: '20' },
    only: { type: 'string' },
    url: { type: 'string', multiple: true },
    editor: { type: 'boolean', default: false },
    server: { type: 'string', default: 'dist' },
    'server-dir': { type: 'string' },
    'budget-ms': { type: 'string' },
    'max-seconds': { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results' }
  }
})
if (args.db === undefined) throw new Error('--db is required (a database made by bench/generate.ts)')
const dbPath = resolve(args.db)
const repeat = Number(args.repeat)
const top = Number(args.top)
const maxSeconds = Number(args['max-seconds'])
const log = (message: string): void => { process.stderr.write(`${message}\n`) }

if (args.server === 'dist' && args['server-dir'] === undefined) {
  log('building (npm run build)')
  if (spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) throw new Error('npm run build failed')
}
const adminToken = `gz_bench_${randomBytes(24).toString('base64url')}`
const port = await freePort()
const started = performance.now()
const serverArgs = args['server-dir'] !== undefined
  ? [join(resolve(args['server-dir']), 'dist', 'server.js')]
  : args.server === 'dist' ? ['dist/server.js'] : ['--import', 'tsx', 'src/server.ts']
const server = startChild(serverArgs, {
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  PORT: String(port),
  DATABASE_PATH: dbPath,
  SEED_DEMO: 'false',
  LOG_LEVEL: 'silent',
  ADMIN_TOKEN: adminToken,
  RESPONSE_CACHE_MB: '0',
  MAX_EVENT_LOOP_DELAY: '0',
  SEARCH_RATE_LIMIT: '1000000',
  ...(args['budget-ms'] === undefined ? {} : { QUERY_BUDGET_MS: args['budget-ms'] })
})
process.on('SIGINT', () => { server.stop().finally(() => process.exit(130)) })

interface Sample { ms: number, cpuMs: number | null, status: number }
interface Measured { shape: Shape, samples: Sample[], p50: number, p99: number, max: number, cpuP50: number | null, statuses: string }

/** Nanoseconds the server's main thread has run on a CPU, or null off Linux. */
const cpuNs = (): number | null => cpuNanoseconds(server.pid)

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!

try {
  const origin = `http://127.0.0.1:${port}`
  await waitFor(`${origin}/health`, server, 3600)
  log(`server ready in ${((performance.now() - started) / 1000).toFixed(1)} s (includes migrating the database if this build has new migrations)`)
  const headers: Record<string, string> = args.editor ? { authorization: `Bearer ${adminToken}` } : {}
  const doc = await (await fetch(`${origin}/openapi.json`)).json() as OpenApiDocument
  const fixtures = findShapeFixtures(dbPath, Date.now())
  let { shapes, skipped } = shapesOf(doc, fixtures, { editor: args.editor })
  if (args.url !== undefined) shapes = args.url.map((url) => ({ operation: 'given', url, list: false }))
  if (args.only !== undefined) { const only = new RegExp(args.only); shapes = shapes.filter((s) => only.test(s.url)) }
  for (const s of skipped) log(`skipped: ${s}`)
  log(`${shapes.length} shapes, up to ${repeat} requests each (at most ${maxSeconds} s per shape), one at a time`)

  const get = async (url: string): Promise<{ ms: number, cpuMs: number | null, status: number, next: string | null }> => {
    const cpu0 = cpuNs()
    const t0 = performance.now()
    const res = await fetch(origin + url, { headers })
    const body = await res.text()
    const ms = performance.now() - t0
    const cpu1 = cpuNs()
    const cpuMs = cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / 1e6
    let next: string | null = null
    if (res.status === 200 && res.headers.get('content-type')?.includes('json') === true) {
      next = (JSON.parse(body) as { page?: { nextCursor?: string | null } }).page?.nextCursor ?? null
    }
    return { ms, cpuMs, status: res.status, next }
  }
  const measure = async (shape: Shape): Promise<{ measured: Measured, next: string | null }> => {
    const first = await get(shape.url) // warm-up, not counted: it also gives the next page's cursor
    const samples: Sample[] = []
    const until = performance.now() + maxSeconds * 1000
    while (samples.length < repeat && (samples.length < 3 || performance.now() < until)) {
      const { ms, cpuMs, status } = await get(shape.url)
      samples.push({ ms, cpuMs, status })
    }
    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b)
    const cpu = samples.every((s) => s.cpuMs !== null) ? samples.map((s) => s.cpuMs!).sort((a, b) => a - b) : undefined
    const counts = new Map<number, number>()
    for (const s of samples) counts.set(s.status, (counts.get(s.status) ?? 0) + 1)
    return {
      measured: {
        shape,
        samples,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        max: sorted[sorted.length - 1]!,
        cpuP50: cpu === undefined ? null : percentile(cpu, 0.5),
        statuses: [...counts].map(([status, n]) => n === samples.length ? String(status) : `${status}×${n}`).join(' ')
      },
      next: first.next
    }
  }

  const results: Measured[] = []
  for (const [i, shape] of shapes.entries()) {
    const { measured, next } = await measure(shape)
    results.push(measured)
    if (shape.list && next !== null) {
      const separator = shape.url.includes('?') ? '&' : '?'
      results.push((await measure({ ...shape, url: `${shape.url}${separator}cursor=${next}`, list: false })).measured)
    }
    if ((i + 1) % 25 === 0) log(`${i + 1}/${shapes.length} shapes`)
  }

  const failures = results.filter((r) => r.samples.some((s) => s.status >= 500))
  const ms = (n: number | null): string => n === null ? '–' : n.toFixed(1)
  const table = (title: string, rows: Measured[]): void => {
    console.log(`\n${title}, ms:\n`)
    console.log('| request | status | p50 | p99 | max | CPU p50 | n |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |')
    console.log(rows.map((r) => `| \`${r.shape.url}\` | ${r.statuses} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${ms(r.cpuP50)} | ${r.samples.length} |`).join('\n'))
  }
  const count = `${results.length} shapes (${shapes.length} generated, page two of each list included)`
  table(`Slowest ${Math.min(top, results.length)} of ${count} by p99`, results.slice().sort((a, b) => b.p99 - a.p99).slice(0, top))
  if (results.every((r) => r.cpuP50 !== null)) {
    table(`The ${Math.min(top, results.length)} that cost the most CPU (the server's main thread, median per request)`,
      results.slice().sort((a, b) => b.cpuP50! - a.cpuP50!).slice(0, top))
  }
  const over = results.filter((r) => r.p99 > 100)
  const cpuOver = results.filter((r) => r.cpuP50 !== null && r.cpuP50 > 100)
  console.log(`\n${over.length} shapes with p99 over 100 ms, ${cpuOver.length} with a median over 100 ms of CPU; ${failures.length} with a 5xx${failures.length > 0 ? `: ${failures.map((f) => f.shape.url).join(', ')}` : ''}`)
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  mkdirSync(resolve(args.out), { recursive: true })
  const file = join(resolve(args.out), `shapes-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ db: dbPath, fixtures, skipped, loadavg: loadavg(), results: results.sort((a, b) => b.p99 - a.p99) }, null, 2) + '\n')
  console.log(`report: ${file}`)
} finally {
  await server.stop()
}
