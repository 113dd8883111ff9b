// npm run bench: Gazette against a bare Fastify baseline serving the same bytes, in one run.
//
//   npm run bench                        10,000 articles, 10 connections, 3 alternating rounds of 5 s
//   npm run bench -- --db path.db        reuse a generated database (bench/generate.ts)
//   npm run bench -- --cache-mb 0        without the response cache: every read goes to the database
//   npm run bench -- --webhooks 3        each write also with 3 webhooks (every event type) delivering to a
//                                        local receiver, in rounds alternating with the same write without
//   npm run bench -- --cache-stats       the response cache's hits, misses and emptyings per scenario
//                                        (the server runs with METRICS=true and is scraped around each round)
//   npm run bench:quick                  300 articles, 1 connection, 1 s rounds: a smoke run (npm test runs it)
//   npm run bench -- --database-url postgres://…
//                                        every scenario on PostgreSQL too, in rounds alternating with SQLite's:
//                                        the SQLite database is copied into that (new, empty) database by
//                                        db:copy's code first; --reset-database empties a Gazette one first
//   npm run bench -- --postgres          the same on an embedded PostgreSQL started for the run
//   npm run bench -- --database-url … --already-copied
//                                        that database already holds db:copy's copy of --db (a million
//                                        articles take long to copy): no copy, no news published
//   npm run bench -- --deep-page 1000    also the list's page 1,000, reached by following cursors
//
// See bench/README.md for what each number means.
import { spawnSync } from 'node:child_process'
import Database from 'better-sqlite3'
import { randomBytes } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { replayedHeaders, type Capture } from './baseline.js'
import { generate } from './generate.js'
import { median, round, type Load, type Round, type Writes } from './measure.js'
import { cpuSeconds, freePort, plainGet, rssSampler, startChild, waitFor, type Child } from './processes.js'
import {
  cacheLines, enginesTable, postgresResult, svgChart, table, targetMet, writesLines, type CacheCounts, type ScenarioResult, type Summary
} from './report.js'
import { publishRecent } from './news.js'
import { articleCounts, copyInto, embeddedPostgres, localPostmaster, postgresCpuSeconds } from './postgres.js'
import { deepPage, findFixtures, scenarios, type Scenario } from './scenarios.js'

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
    webhooks: { type: 'string', default: '0' },
    'cache-stats': { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    postgres: { type: 'boolean', default: false },
    'reset-database': { type: 'boolean', default: false },
    'already-copied': { type: 'boolean', default: false },
    'deep-page': { type: 'string' },
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
const onPostgres = args['database-url'] !== undefined || args.postgres
if (args['database-url'] !== undefined && args.postgres) throw new Error('--database-url or --postgres, not both')
if (args['database-url'] !== undefined && !/^postgres(ql)?:\/\//.test(args['database-url'])) throw new Error('--database-url must be a postgres:// or postgresql:// URL')
// Both count what the server did by reading the SQLite file (events) or one server's /metrics.
if (onPostgres && (Number(args.webhooks) > 0 || args['cache-stats'])) throw new Error('--webhooks and --cache-stats are measured on SQLite only: run them without --database-url/--postgres')
const cacheOff = args['cache-mb'] !== undefined && Number(args['cache-mb']) === 0
const alreadyCopied = args['already-copied']
if (alreadyCopied && (args['database-url'] === undefined || args.db === undefined)) throw new Error('--already-copied needs --database-url and the --db it holds a copy of')

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
if (opts.server === 'dist' && args['skip-build'] !== true) {
  log('building (npm run build)')
  const build = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (build.status !== 0) throw new Error('npm run build failed')
}
const adminToken = `gz_bench_${randomBytes(24).toString('base64url')}`
const webhooks = Number(args.webhooks)
const receiverPort = await freePort()
const receiver = webhooks > 0 ? startChild(['--import', 'tsx', 'bench/receiver.ts', '--port', String(receiverPort)], {}) : undefined
const serverPort = await freePort()
const nodeFlags = args['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(args['cpu-prof'])}`]
const serverArgs = [...nodeFlags, ...(opts.server === 'dist' ? ['dist/server.js'] : ['--import', 'tsx', 'src/server.ts'])]
const serverEnv = {
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
  ...(args['cache-mb'] === undefined ? {} : { RESPONSE_CACHE_MB: args['cache-mb'] }),
  // `--cache-stats`: the cache's counters are read from /metrics around each round.
  ...(args['cache-stats'] === true ? { METRICS: 'true' } : {}),
  // `--webhooks N`: the receiver is on loopback.
  ...(webhooks > 0 ? { WEBHOOK_ALLOW_PRIVATE: 'true' } : {})
}
const server = startChild(serverArgs, serverEnv)
const children: Child[] = receiver === undefined ? [server] : [server, receiver]
let stopPostgres = async (): Promise<void> => {}
const stopAll = async (): Promise<void> => {
  await Promise.all(children.map((c) => c.stop()))
  await stopPostgres()
}
process.on('SIGINT', () => { stopAll().finally(() => process.exit(130)) })

try {
  const real = `http://127.0.0.1:${serverPort}`
  await waitFor(`${real}/health`, server)
  const cacheStats = args['cache-stats'] === true ? async () => await scrapeCache(real) : undefined
  // Two days of news for the news sitemap and the feeds (a generated archive ends in the past); not when
  // PostgreSQL already holds a copy, which would then lack them.
  const published = alreadyCopied ? 0 : await publishRecent(real, adminToken, dbPath, quick ? 30 : 500)
  if (published > 0) log(`published ${published} articles dated in the last 48 hours (the news sitemap's window)`)
  const hooks = receiver === undefined ? undefined : await webhookBench(real, `http://127.0.0.1:${receiverPort}`, receiver, webhooks)
  // PostgreSQL starts from the same rows: the SQLite database, news included, copied by db:copy's code.
  const pgSide = onPostgres ? await startOnPostgres() : undefined
  const fixtures = findFixtures(dbPath, Date.now())
  const deep = args['deep-page'] === undefined ? undefined : await deepPage(real, Number(args['deep-page']))
  const defined = scenarios(fixtures, adminToken, { cacheOff, ...(deep === undefined ? {} : { deep }) })
  const unknown = opts.only?.filter((id) => !defined.some((s) => s.id === id)) ?? []
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; the ids are in bench/README.md`)
  const all = defined.filter((s) => opts.only === undefined || opts.only.includes(s.id))

  // 3. Probe each route once: a route this build does not have is skipped, and the report says so.
  const results: ScenarioResult[] = []
  const webhookResults: WebhookResult[] = []
  const live: Scenario[] = []
  const captures: Capture[] = []
  for (const s of all) {
    // Reads are probed as autocannon asks (no Accept-Encoding), so the answer is the one to replay.
    const res = s.read
      ? await probeGet(real + s.path)
      : await fetch(real + s.path, { method: s.method, headers: { ...s.headers, ...s.perRequestHeaders?.(0) }, ...(s.body ? { body: s.body(0) } : {}) })
        .then(async (r) => ({ status: r.status, body: Buffer.from(await r.arrayBuffer()) }))
    const text = res.body.toString('utf8')
    const missing = res.status === 404 || res.status === 405
      ? `${s.route} answered ${res.status}: not on this build`
      : s.missing?.(res.status, text)
    const base = { id: s.id, label: s.label, method: s.method, path: s.path, ...(s.target ? { target: { ...s.target, met: null } } : {}) }
    if (missing !== undefined) {
      results.push({ ...base, status: 'skipped', skipReason: missing })
      log(`skipping ${s.label}: ${missing}`)
      continue
    }
    if (res.status !== s.expect) throw new Error(`${s.method} ${s.path} (${s.route}) answered ${res.status}, expected ${s.expect}: ${text.slice(0, 500)}`)
    if ('headers' in res) {
      // A scenario spread over many URLs has each of them captured (once, if scenarios share them).
      for (const url of s.paths ?? [s.path]) {
        if (captures.some((c) => c.url === url)) continue
        const answer = url === s.path ? res : await probeGet(real + url)
        const body = answer.body.toString('utf8')
        if (answer.status !== s.expect) throw new Error(`GET ${url} (${s.route}) answered ${answer.status}, expected ${s.expect}: ${body.slice(0, 500)}`)
        if (!Buffer.from(body, 'utf8').equals(answer.body)) throw new Error(`${url} answered a body that is not UTF-8 text: the baseline replays text`)
        captures.push({ url, headers: replayedHeaders(answer.headers), body })
      }
    }
    const differing = pgSide === undefined ? 0 : await probePostgres(pgSide.base, s, captures)
    live.push(s)
    results.push({ ...base, status: 'measured', ...(pgSide === undefined ? {} : { postgres: { differingAnswers: differing } as ScenarioResult['postgres'] }) })
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
    const res = await plainGet(bare + c.url)
    if (!res.body.equals(Buffer.from(c.body, 'utf8'))) throw new Error(`the baseline's answer to ${c.url} differs from the real server's`)
    const sent = replayedHeaders(res.headers)
    const differ = [...new Set([...Object.keys(sent), ...Object.keys(c.headers)])].filter((h) => sent[h] !== c.headers[h])
    if (differ.length > 0) throw new Error(`the baseline's headers for ${c.url} differ from the real server's: ${differ.join(', ')}`)
  }

  // 5. Measure: reads first (writes would change what was captured), alternating real and baseline.
  const rss = rssSampler(server.pid)
  let rssMax = 0
  const summarise = (rounds: Round[]): Summary => ({
    rps: median(rounds.map((r) => r.rps)),
    ...(rounds.every((r) => r.cpuUs !== undefined) ? { cpuUs: median(rounds.map((r) => r.cpuUs!)) } : {}),
    ...(rounds.length > 0 && rounds.every((r) => r.dbCpuUs !== undefined) ? { dbCpuUs: median(rounds.map((r) => r.dbCpuUs!)) } : {}),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    rounds
  })
  // The mixed scenarios come after the other reads: their comments change the articles they read.
  const order = [...live.filter((x) => x.read && !x.writer), ...live.filter((x) => x.read && x.writer), ...live.filter((x) => !x.read)]
  for (const s of order) {
    const result = results.find((r) => r.id === s.id)!
    log(`${s.label}: warm-up ${opts.warmup} s, ${opts.rounds} × ${opts.duration} s at ${opts.connections} connections`)
    // The baseline is asked the same reads, without the writes (it has no route for them).
    const bareLoad = readsOf(s)
    for (const base of pgSide === undefined ? [real] : [real, pgSide.base]) {
      const warm = await round(base, s, opts.connections, opts.warmup)
      if (warm.writes !== undefined && warm.writes.ok === 0) {
        throw new Error(`${s.label}: no write of the warm-up answered ${s.writer!.expect}: ${JSON.stringify(warm.writes.statuses)}`)
      }
    }
    if (s.read) await round(bare, bareLoad, opts.connections, opts.warmup)
    // A write is also measured with the webhooks, in rounds alternating with the ones without.
    const hooked = hooks !== undefined && !s.read
    if (hooked) await hooks.round(s, opts.warmup)
    const realRounds: Round[] = []
    const bareRounds: Round[] = []
    const hookedRounds: HookedRound[] = []
    const cacheRounds: CacheCounts[] = []
    const pgRounds: Round[] = []
    const pgRound = async (): Promise<void> => {
      if (pgSide !== undefined) pgRounds.push(await round(pgSide.base, s, opts.connections, opts.duration, pgSide.server.pid, pgSide.cpu))
    }
    rss.start()
    for (let i = 0; i < opts.rounds; i++) {
      // ABBA order, so a drift in machine load does not always favour the same side (with PostgreSQL:
      // SQLite, PostgreSQL, baseline, then baseline, PostgreSQL, SQLite).
      const otherFirst = i % 2 === 1
      if (otherFirst && s.read) bareRounds.push(await round(bare, bareLoad, opts.connections, opts.duration, baseline.pid))
      if (otherFirst && hooked) hookedRounds.push(await hooks.round(s, opts.duration))
      if (otherFirst) await pgRound()
      const before = cacheStats === undefined ? undefined : await cacheStats()
      realRounds.push(await round(real, s, opts.connections, opts.duration, server.pid))
      if (before !== undefined) cacheRounds.push(difference(await cacheStats!(), before))
      if (!otherFirst) await pgRound()
      if (!otherFirst && s.read) bareRounds.push(await round(bare, bareLoad, opts.connections, opts.duration, baseline.pid))
      if (!otherFirst && hooked) hookedRounds.push(await hooks.round(s, opts.duration))
    }
    if (hooked) webhookResults.push(hooks.summary(s, hookedRounds, realRounds))
    const rssMb = rss.stop()
    result.real = summarise(realRounds)
    if (s.read) {
      result.baseline = summarise(bareRounds)
      result.ratio = median(realRounds.map((r, i) => r.rps / Math.max(bareRounds[i]!.rps, 0.001)))
      if (result.real.cpuUs !== undefined && result.baseline.cpuUs !== undefined) result.cpuRatio = result.baseline.cpuUs / result.real.cpuUs
    }
    result.failures = realRounds.reduce((n, r) => n + r.non2xx + r.errors, 0)
    const writes = realRounds.flatMap((r) => r.writes === undefined ? [] : [r.writes])
    if (writes.length > 0) result.writes = sumWrites(writes)
    if (cacheRounds.length > 0) result.cache = cacheRounds.reduce((a, b) => sumCounts(a, b))
    if (rssMb !== undefined) { result.rssMaxMb = rssMb; rssMax = Math.max(rssMax, rssMb) }
    if (result.target) result.target.met = targetMet(result.target, result.real, result.ratio)
    if (pgSide !== undefined) {
      // The CPU target is issue 16's "from the database": every scenario with the cache off; writes always.
      const pgResult = postgresResult(summarise(pgRounds), result.real, result.baseline, cacheOff || !s.read)
      result.postgres = { ...pgResult, differingAnswers: result.postgres?.differingAnswers ?? 0 }
      result.failures = (result.failures ?? 0) + pgRounds.reduce((n, r) => n + r.non2xx + r.errors, 0)
    }
  }

  // 6. Report.
  const startedAt = new Date().toISOString()
  const report = {
    startedAt,
    mode: quick ? 'quick' : 'full',
    options: { ...opts, out: undefined },
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg: loadavg() },
    database: { path: dbPath, articles: opts.articles, generated },
    ...(pgSide === undefined ? {} : { postgres: { embedded: args.postgres, copySeconds: pgSide.copyMs / 1000, serverCpuMeasured: pgSide.cpu !== undefined } }),
    server: { mode: opts.server, rssMaxMb: rssMax || undefined },
    webhooks: { endpoints: webhooks, scenarios: webhookResults },
    fixtures,
    scenarios: results
  }
  const stamp = startedAt.replace(/[:.]/g, '-')
  const jsonPath = join(opts.out, `bench-${stamp}.json`)
  const svgPath = join(opts.out, `bench-${stamp}.svg`)
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n')
  writeFileSync(svgPath, svgChart(results, `Gazette vs bare Fastify, ${opts.connections} connections, median of ${opts.rounds} × ${opts.duration} s`))
  console.log(table(results))
  if (pgSide !== undefined) {
    console.log(`\nSQLite and PostgreSQL (${args.postgres ? 'embedded' : '--database-url'}), rounds alternating; "PG server" is the CPU of every PostgreSQL process ` +
      `(postmaster, backends, io workers, writers, autovacuum)${pgSide.cpu === undefined ? ', not measured: the server is not a local process this user can read' : ''}:`)
    console.log(enginesTable(results))
  }
  for (const line of writesLines(results)) console.log(line)
  for (const line of cacheLines(results)) console.log(line)
  for (const w of webhookResults) console.log(`\n${webhookLine(w)}`)
  console.log(`\nserver RSS under load: max ${rssMax ? rssMax.toFixed(0) : '?'} MB; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`)
  console.log(`report: ${jsonPath}\nchart:  ${svgPath}`)
} finally {
  await stopAll()
}

/**
 * Copies the SQLite database into PostgreSQL (after the news articles were published, so both engines
 * hold the same rows), then starts a second server on it: the same build and settings but DATABASE_URL.
 */
async function startOnPostgres () {
  let url = args['database-url']
  if (url === undefined) {
    log('starting an embedded PostgreSQL (--postgres)')
    const embedded = await embeddedPostgres()
    url = embedded.url
    stopPostgres = embedded.stop
  }
  let copyMs = 0
  if (alreadyCopied) {
    // Not verified row by row (db:copy did that): a copy of another database is caught by its size.
    const counts = await articleCounts(dbPath, url)
    if (counts.sqlite !== counts.postgres) throw new Error(`--already-copied: PostgreSQL holds ${counts.postgres} articles, ${dbPath} ${counts.sqlite}`)
    log(`--already-copied: PostgreSQL holds the ${counts.postgres.toLocaleString('en')} articles of ${dbPath}`)
  } else {
    log('copying the SQLite database into PostgreSQL (db:copy)')
    copyMs = await copyInto(dbPath, url, { reset: args['reset-database'], log })
    log(`copied in ${(copyMs / 1000).toFixed(1)} s`)
  }
  const port = await freePort()
  const pgServer = startChild(serverArgs, {
    ...serverEnv,
    PORT: String(port),
    // DATABASE_PATH (the bench's SQLite file, in serverEnv) is not opened on PostgreSQL.
    DATABASE_URL: url
  })
  children.push(pgServer)
  const base = `http://127.0.0.1:${port}`
  await waitFor(`${base}/health`, pgServer)
  const postmaster = await localPostmaster(url)
  if (postmaster === undefined) log('PostgreSQL is not a local process this user can read: its CPU is not measured')
  return { base, server: pgServer, copyMs, cpu: postmaster === undefined ? undefined : () => postgresCpuSeconds(postmaster) }
}

/**
 * A probe's GET: on a loaded machine a read can outrun the query budget (503, "retry in a moment"), and
 * the answer to capture is the one the route gives when it is not starved, so it is asked again.
 */
async function probeGet (url: string): ReturnType<typeof plainGet> {
  let res = await plainGet(url)
  for (let tries = 1; res.status === 503 && tries < 10; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 200 * tries))
    res = await plainGet(url)
  }
  return res
}

/**
 * The scenario's probe on PostgreSQL: it must answer what SQLite did. Returns how many of its read URLs
 * answer other bytes than SQLite's (the baseline replays SQLite's; a difference is reported, not fatal).
 */
async function probePostgres (base: string, s: Scenario, captures: Capture[]): Promise<number> {
  if (!s.read) {
    const res = await fetch(base + s.path, { method: s.method, headers: { ...s.headers, ...s.perRequestHeaders?.(0) }, ...(s.body ? { body: s.body(0) } : {}) })
    if (res.status !== s.expect) throw new Error(`on PostgreSQL, ${s.method} ${s.path} (${s.route}) answered ${res.status}, expected ${s.expect}: ${(await res.text()).slice(0, 500)}`)
    return 0
  }
  let differing = 0
  for (const url of s.paths ?? [s.path]) {
    const res = await probeGet(base + url)
    if (res.status !== s.expect) throw new Error(`on PostgreSQL, GET ${url} (${s.route}) answered ${res.status}, expected ${s.expect}: ${res.body.toString('utf8').slice(0, 500)}`)
    const sqlite = captures.find((c) => c.url === url)
    if (sqlite !== undefined && !res.body.equals(Buffer.from(sqlite.body, 'utf8'))) {
      // The first one kept for a look: which bytes differ says whether it matters.
      if (differing++ === 0) writeFileSync(join(opts.out, `differs-${s.id}.json`), JSON.stringify({ url, sqlite: sqlite.body, postgres: res.body.toString('utf8') }, null, 1))
    }
  }
  if (differing > 0) log(`${s.label}: ${differing} of PostgreSQL's answers differ from SQLite's (the first in differs-${s.id}.json)`)
  return differing
}

interface HookedRound extends Round {
  /** Deliveries the round's writes caused (events × webhooks), made during the round, and in all. */
  deliveries: number
  deliveredDuring: number
  delivered: number
  /** From the end of the round until the receiver had them all. */
  drainSeconds: number
  /** Server CPU per request of the round plus the CPU the rest of its deliveries took after it, in µs. */
  sustainedCpuUs?: number
  /** Server CPU per delivery made after the round (the drain), in µs. */
  drainCpuUsPerDelivery?: number
}

interface WebhookResult {
  id: string
  label: string
  webhooks: number
  without: Summary
  with: Summary & {
    sustainedCpuUs?: number
    drainCpuUsPerDelivery?: number
    deliveriesPerRequest: number
    deliveredDuringShare: number
    drainSeconds: number
    /** Deliveries the receiver had not got when the drain gave up (5 minutes): 0 unless something is wrong. */
    undelivered: number
  }
  /** Median of the per-pair ratios with/without req/s (each pair ran back to back). */
  ratio: number
}

/**
 * `--webhooks N`: a round of a write with N webhooks for every event type registered just before it
 * (so they start at the end of the log, with no backlog) and deleted once the receiver has every delivery
 * the round caused, so the rounds without webhooks that alternate with these carry none of their work.
 */
async function webhookBench (base: string, receiverUrl: string, receiverChild: Child, n: number) {
  await waitFor(`${receiverUrl}/count`, receiverChild)
  const doc = await (await fetch(`${base}/openapi.json`)).json() as { components: { schemas: { EventType?: { enum: string[] } } } }
  const events = doc.components.schemas.EventType?.enum
  if (events === undefined) throw new Error('--webhooks: this build has no webhooks')
  const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }
  const received = async (): Promise<number> => ((await (await fetch(`${receiverUrl}/count`)).json()) as { received: number }).received

  async function hookedRound (s: Scenario, seconds: number): Promise<HookedRound> {
    const ids: number[] = []
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${base}/v1/webhooks`, { method: 'POST', headers, body: JSON.stringify({ url: `${receiverUrl}/hook-${i}`, events, description: `bench receiver ${i}` }) })
      if (res.status !== 201) throw new Error(`registering a webhook: ${res.status} ${await res.text()}`)
      ids.push(((await res.json()) as { id: number }).id)
    }
    const eventsBefore = eventCount(dbPath)
    const receivedBefore = await received()
    const r = await round(base, s, opts.connections, seconds, server.pid)
    const deliveries = (eventCount(dbPath) - eventsBefore) * n
    const deliveredDuring = await received() - receivedBefore
    const drainStart = Date.now()
    const cpuBefore = cpuSeconds(server.pid)
    while (await received() - receivedBefore < deliveries && Date.now() - drainStart < 300_000) await new Promise((resolve) => setTimeout(resolve, 50))
    const cpuAfter = cpuSeconds(server.pid)
    const drainSeconds = (Date.now() - drainStart) / 1000
    const delivered = await received() - receivedBefore
    for (const id of ids) {
      const res = await fetch(`${base}/v1/webhooks/${id}`, { method: 'DELETE', headers: { authorization: headers.authorization } })
      if (res.status !== 204) throw new Error(`deleting a webhook: ${res.status}`)
    }
    const drainCpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore
    return {
      ...r,
      deliveries,
      deliveredDuring,
      delivered,
      drainSeconds,
      ...(drainCpu !== undefined && r.cpuUs !== undefined
        ? { sustainedCpuUs: r.cpuUs + drainCpu * 1e6 / Math.max(1, r.requests), drainCpuUsPerDelivery: drainCpu * 1e6 / Math.max(1, delivered - deliveredDuring) }
        : {})
    }
  }

  return {
    round: hookedRound,
    summary (s: Scenario, hooked: HookedRound[], without: Round[]): WebhookResult {
      const sum = (rounds: Round[]): Summary => ({
        rps: median(rounds.map((r) => r.rps)),
        ...(rounds.every((r) => r.cpuUs !== undefined) ? { cpuUs: median(rounds.map((r) => r.cpuUs!)) } : {}),
        p50: median(rounds.map((r) => r.p50)),
        p99: median(rounds.map((r) => r.p99)),
        rounds
      })
      const total = (f: (r: HookedRound) => number) => hooked.reduce((a, r) => a + f(r), 0)
      return {
        id: s.id,
        label: s.label,
        webhooks: n,
        without: sum(without),
        with: {
          ...sum(hooked),
          ...(hooked.every((r) => r.sustainedCpuUs !== undefined)
            ? { sustainedCpuUs: median(hooked.map((r) => r.sustainedCpuUs!)), drainCpuUsPerDelivery: median(hooked.map((r) => r.drainCpuUsPerDelivery!)) }
            : {}),
          deliveriesPerRequest: total((r) => r.deliveries) / Math.max(1, total((r) => r.requests)),
          deliveredDuringShare: total((r) => r.deliveredDuring) / Math.max(1, total((r) => r.deliveries)),
          drainSeconds: median(hooked.map((r) => r.drainSeconds)),
          undelivered: total((r) => Math.max(0, r.deliveries - r.delivered))
        },
        ratio: median(hooked.map((r, i) => r.rps / Math.max(without[i]!.rps, 0.001)))
      }
    }
  }
}

/** One paragraph of the report: a write with and without webhooks. */
function webhookLine (w: WebhookResult): string {
  const us = (v: number | undefined) => v === undefined ? '?' : v.toFixed(0)
  return [
    `${w.label} with ${w.webhooks} webhooks vs without, alternating rounds in this run:`,
    `  without: ${w.without.rps.toFixed(0)} req/s, p50 ${w.without.p50} ms, p99 ${w.without.p99} ms, ${us(w.without.cpuUs)} µs CPU/req`,
    `  with:    ${w.with.rps.toFixed(0)} req/s, p50 ${w.with.p50} ms, p99 ${w.with.p99} ms, ${us(w.with.cpuUs)} µs CPU/req during the round (ratio ${w.ratio.toFixed(2)})`,
    `  ${w.with.deliveriesPerRequest.toFixed(1)} deliveries per request, ${(w.with.deliveredDuringShare * 100).toFixed(0)}% made during the round, the rest in ${w.with.drainSeconds.toFixed(1)} s after it` +
      ` (${us(w.with.drainCpuUsPerDelivery)} µs CPU a delivery); all included, ${us(w.with.sustainedCpuUs)} µs CPU per request`
  ].join('\n')
}

/** How many events the log holds (read from the file: the server is the one writing). */
function eventCount (path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    return db.prepare('SELECT count(*) FROM events WHERE webhook_id IS NULL').pluck().get() as number
  } finally {
    db.close()
  }
}

/** The reads of a scenario, without its writer. */
function readsOf (s: Scenario): Load {
  const { writer, ...reads } = s
  return writer === undefined ? s : reads
}

function sumWrites (all: Writes[]): Writes {
  const statuses: Record<string, number> = {}
  for (const w of all) for (const [k, n] of Object.entries(w.statuses)) statuses[k] = (statuses[k] ?? 0) + n
  return { sent: all.reduce((n, w) => n + w.sent, 0), ok: all.reduce((n, w) => n + w.ok, 0), seconds: all.reduce((n, w) => n + w.seconds, 0), statuses }
}

/** The response cache's counters from /metrics (METRICS=true), src/observability/prometheus.ts. */
async function scrapeCache (base: string): Promise<CacheCounts> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const value = (pattern: RegExp): number => {
    const m = pattern.exec(text)
    if (m === null) throw new Error(`--cache-stats: /metrics has no ${pattern.source}`)
    return Number(m[1])
  }
  return {
    hits: value(/^gazette_response_cache_requests_total\{result="hit"\} (\S+)$/m),
    misses: value(/^gazette_response_cache_requests_total\{result="miss"\} (\S+)$/m),
    stores: value(/^gazette_response_cache_stores_total (\S+)$/m),
    clears: value(/^gazette_response_cache_invalidations_total (\S+)$/m),
    evictions: value(/^gazette_response_cache_evictions_total (\S+)$/m)
  }
}

/** a + sign × b, counter by counter (function declarations: the run above calls them before this line). */
function combine (a: CacheCounts, b: CacheCounts, sign: 1 | -1): CacheCounts {
  const keys = ['hits', 'misses', 'stores', 'clears', 'evictions'] as const
  return Object.fromEntries(keys.map((k) => [k, a[k] + sign * b[k]])) as unknown as CacheCounts
}

function difference (after: CacheCounts, before: CacheCounts): CacheCounts { return combine(after, before, -1) }
function sumCounts (a: CacheCounts, b: CacheCounts): CacheCounts { return combine(a, b, 1) }
