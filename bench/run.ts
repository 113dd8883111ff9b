// npm run bench: Gazette against a bare Fastify baseline serving the same bytes, in one run.
//
//   npm run bench                        10,000 articles, 10 connections, 3 alternating rounds of 5 s
//   npm run bench -- --db path.db        reuse a generated database (bench/generate.ts)
//   npm run bench -- --cache-mb 0        without the response cache: every read goes to the database
//   npm run bench:quick                  300 articles, 1 connection, 1 s rounds: a smoke run (npm test runs it)
//
// See bench/README.md for what each number means.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { Capture } from './baseline.js'
import { generate } from './generate.js'
import { median, round, type Round } from './measure.js'
import { freePort, rssSampler, startChild, waitFor, type Child } from './processes.js'
import { svgChart, table, targetMet, type ScenarioResult, type Summary } from './report.js'
import { publishRecent } from './news.js'
import { findFixtures, scenarios, type Scenario } from './scenarios.js'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    db: { type: 'string' },
    articles: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    only: { type: 'string' },
    server: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'cache-mb': { type: 'string' },
    out: { type: 'string', default: 'bench/results' }
  }
})

const quick = args.quick === true
const opts = {
  articles: Number(args.articles ?? (quick ? 300 : 10_000)),
  connections: Number(args.connections ?? (quick ? 1 : 10)),
  duration: Number(args.duration ?? (quick ? 1 : 5)),
  rounds: Number(args.rounds ?? (quick ? 1 : 3)),
  warmup: Number(args.warmup ?? (quick ? 0.5 : 2)),
  // The built server is what production runs; the quick run skips the build and runs the source.
  server: (args.server ?? (quick ? 'tsx' : 'dist')) as 'dist' | 'tsx',
  only: args.only?.split(','),
  out: resolve(args.out)
}
mkdirSync(opts.out, { recursive: true })
const log = (message: string): void => { process.stderr.write(`${message}\n`) }

// 1. The database.
let dbPath = args.db === undefined ? join(opts.out, quick ? 'quick.db' : `gazette-${opts.articles}.db`) : resolve(args.db)
let generated: { seconds: number, comments: number } | undefined
if (args.db === undefined && (quick || !existsSync(dbPath))) {
  log(`generating ${opts.articles.toLocaleString('en')} articles into ${dbPath}`)
  const g = generate({ articles: opts.articles, out: dbPath, progress: !quick })
  generated = { seconds: g.seconds, comments: g.comments }
  log(`generated in ${g.seconds.toFixed(1)} s (${g.comments.toLocaleString('en')} comments)`)
} else if (!existsSync(dbPath)) {
  throw new Error(`${dbPath} does not exist`)
} else {
  log(`reusing ${dbPath}`)
}
dbPath = resolve(dbPath)

// 2. The real server, in production settings.
if (opts.server === 'dist') {
  log('building (npm run build)')
  const build = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (build.status !== 0) throw new Error('npm run build failed')
}
const adminToken = `gz_bench_${randomBytes(24).toString('base64url')}`
const serverPort = await freePort()
const nodeFlags = args['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(args['cpu-prof'])}`]
const server = startChild([...nodeFlags, ...(opts.server === 'dist' ? ['dist/server.js'] : ['--import', 'tsx', 'src/server.ts'])], {
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  PORT: String(serverPort),
  DATABASE_PATH: dbPath,
  SEED_DEMO: 'false',
  LOG_LEVEL: 'silent',
  ADMIN_TOKEN: adminToken,
  COMMENT_RATE_LIMIT: '100000',
  // One client measures the search scenario at thousands of requests a second.
  SEARCH_RATE_LIMIT: '1000000',
  // As behind a reverse proxy on the same host: the client address comes from X-Forwarded-For.
  TRUST_PROXY: '127.0.0.1',
  // The server's default unless given: `--cache-mb 0` measures every read against the database.
  ...(args['cache-mb'] === undefined ? {} : { RESPONSE_CACHE_MB: args['cache-mb'] })
})
const children: Child[] = [server]
const stopAll = async (): Promise<void> => { await Promise.all(children.map((c) => c.stop())) }
process.on('SIGINT', () => { stopAll().finally(() => process.exit(130)) })

try {
  const real = `http://127.0.0.1:${serverPort}`
  await waitFor(`${real}/health`, server)
  // Two days of news for the news sitemap and the feeds (a generated archive ends in the past).
  const published = await publishRecent(real, adminToken, dbPath, quick ? 30 : 500)
  if (published > 0) log(`published ${published} articles dated in the last 48 hours (the news sitemap's window)`)
  const fixtures = findFixtures(dbPath, Date.now())
  const unknown = opts.only?.filter((id) => !scenarios(fixtures, adminToken).some((s) => s.id === id)) ?? []
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; the ids are in bench/README.md`)
  const all = scenarios(fixtures, adminToken).filter((s) => opts.only === undefined || opts.only.includes(s.id))

  // 3. Probe each route once: a route this build does not have is skipped, and the report says so.
  const results: ScenarioResult[] = []
  const live: Scenario[] = []
  const captures: Capture[] = []
  for (const s of all) {
    const res = await fetch(real + s.path, {
      method: s.method,
      headers: { ...s.headers, ...s.perRequestHeaders?.(0) },
      ...(s.body ? { body: s.body(0) } : {})
    })
    const bytes = Buffer.from(await res.arrayBuffer())
    const missing = res.status === 404 || res.status === 405
      ? `${s.route} answered ${res.status}: not on this build`
      : s.missing?.(res.status, bytes.toString('utf8'))
    const base = { id: s.id, label: s.label, method: s.method, path: s.path, ...(s.target ? { target: { ...s.target, met: null } } : {}) }
    if (missing !== undefined) {
      results.push({ ...base, status: 'skipped', skipReason: missing })
      log(`skipping ${s.label}: ${missing}`)
      continue
    }
    if (res.status !== s.expect) throw new Error(`${s.method} ${s.path} (${s.route}) answered ${res.status}, expected ${s.expect}: ${bytes.toString('utf8').slice(0, 500)}`)
    if (s.read) captures.push({ url: s.path, contentType: res.headers.get('content-type') ?? 'application/json', body: bytes.toString('base64') })
    live.push(s)
    results.push({ ...base, status: 'measured' })
  }

  // 4. The baseline, serving what was just captured; checked to answer byte for byte the same.
  const capturesFile = join(opts.out, 'captures.json')
  writeFileSync(capturesFile, JSON.stringify(captures))
  const baselinePort = await freePort()
  const baseline = startChild(['--import', 'tsx', 'bench/baseline.ts', '--captures', capturesFile, '--port', String(baselinePort)], {
    NODE_ENV: 'production'
  })
  children.push(baseline)
  const bare = `http://127.0.0.1:${baselinePort}`
  if (captures.length > 0) await waitFor(bare + captures[0]!.url, baseline)
  for (const c of captures) {
    const res = await fetch(bare + c.url)
    const same = Buffer.from(await res.arrayBuffer()).equals(Buffer.from(c.body, 'base64')) && res.headers.get('content-type') === c.contentType
    if (!same) throw new Error(`the baseline's answer to ${c.url} differs from the real server's`)
  }

  // 5. Measure: reads first (writes would change what was captured), alternating real and baseline.
  const rss = rssSampler(server.pid)
  let rssMax = 0
  const summarise = (rounds: Round[]): Summary => ({
    rps: median(rounds.map((r) => r.rps)),
    ...(rounds.every((r) => r.cpuUs !== undefined) ? { cpuUs: median(rounds.map((r) => r.cpuUs!)) } : {}),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    rounds
  })
  for (const s of [...live.filter((x) => x.read), ...live.filter((x) => !x.read)]) {
    const result = results.find((r) => r.id === s.id)!
    log(`${s.label}: warm-up ${opts.warmup} s, ${opts.rounds} × ${opts.duration} s at ${opts.connections} connections`)
    await round(real, s, opts.connections, opts.warmup)
    if (s.read) await round(bare, s, opts.connections, opts.warmup)
    const realRounds: Round[] = []
    const bareRounds: Round[] = []
    rss.start()
    for (let i = 0; i < opts.rounds; i++) {
      // ABBA order, so a drift in machine load does not always favour the same side.
      const baselineFirst = s.read && i % 2 === 1
      if (baselineFirst) bareRounds.push(await round(bare, s, opts.connections, opts.duration, baseline.pid))
      realRounds.push(await round(real, s, opts.connections, opts.duration, server.pid))
      if (s.read && !baselineFirst) bareRounds.push(await round(bare, s, opts.connections, opts.duration, baseline.pid))
    }
    const rssMb = rss.stop()
    result.real = summarise(realRounds)
    if (s.read) {
      result.baseline = summarise(bareRounds)
      result.ratio = median(realRounds.map((r, i) => r.rps / Math.max(bareRounds[i]!.rps, 0.001)))
      if (result.real.cpuUs !== undefined && result.baseline.cpuUs !== undefined) result.cpuRatio = result.baseline.cpuUs / result.real.cpuUs
    }
    result.failures = realRounds.reduce((n, r) => n + r.non2xx + r.errors, 0)
    if (rssMb !== undefined) { result.rssMaxMb = rssMb; rssMax = Math.max(rssMax, rssMb) }
    if (result.target) result.target.met = targetMet(result.target, result.real, result.ratio)
  }

  // 6. Report.
  const startedAt = new Date().toISOString()
  const report = {
    startedAt,
    mode: quick ? 'quick' : 'full',
    options: { ...opts, out: undefined },
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg: loadavg() },
    database: { path: dbPath, articles: opts.articles, generated },
    server: { mode: opts.server, rssMaxMb: rssMax || undefined },
    fixtures,
    scenarios: results
  }
  const stamp = startedAt.replace(/[:.]/g, '-')
  const jsonPath = join(opts.out, `bench-${stamp}.json`)
  const svgPath = join(opts.out, `bench-${stamp}.svg`)
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n')
  writeFileSync(svgPath, svgChart(results, `Gazette vs bare Fastify, ${opts.connections} connections, median of ${opts.rounds} × ${opts.duration} s`))
  console.log(table(results))
  console.log(`\nserver RSS under load: max ${rssMax ? rssMax.toFixed(0) : '?'} MB; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`)
  console.log(`report: ${jsonPath}\nchart:  ${svgPath}`)
} finally {
  await stopAll()
}
