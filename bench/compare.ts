// npm run bench:compare: two configurations of the real server, A and B, measured in one run with the
// same scenarios, rounds alternating ABBA, each on its own copy of the database. What a setting or a
// change costs: req/s of B ÷ A, and server CPU per request of each.
//
//   npm run bench:compare -- --b-env METRICS=true                  what metrics cost (same build)
//   npm run bench:compare -- --b-env METRICS=true,LOG_LEVEL=info   …with the request log on too
//   npm run bench:compare -- --a-dir /tmp/gazette-main             this build (B) against another checkout (A)
//
// Options as `npm run bench` where they apply: --articles, --db, --connections, --duration, --rounds,
// --warmup, --only, --cache-mb; --a-env and --b-env add environment variables (KEY=VALUE,…) to one side;
// --a-dir runs side A from another checkout's dist/ (built there with `npm run build` first).
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generate } from './generate.js'
import { median, round, type Round } from './measure.js'
import { freePort, startChild, waitFor, type Child } from './processes.js'
import { findFixtures, scenarios } from './scenarios.js'

const { values: args } = parseArgs({
  options: {
    db: { type: 'string' },
    articles: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '10' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '2' },
    only: { type: 'string' },
    'cache-mb': { type: 'string' },
    'a-env': { type: 'string', default: '' },
    'b-env': { type: 'string', default: '' },
    'a-dir': { type: 'string' },
    out: { type: 'string', default: 'bench/results' }
  }
})

const envList = (text: string): Record<string, string> => Object.fromEntries(text.split(',').filter(Boolean).map((pair) => {
  const i = pair.indexOf('=')
  if (i < 1) throw new Error(`--a-env/--b-env take KEY=VALUE pairs, got "${pair}"`)
  return [pair.slice(0, i), pair.slice(i + 1)]
}))
const log = (message: string): void => { process.stderr.write(`${message}\n`) }
const out = resolve(args.out)
mkdirSync(out, { recursive: true })
const here = resolve('.')
const sides = [
  { name: 'A', dir: args['a-dir'] === undefined ? here : resolve(args['a-dir']), env: envList(args['a-env']) },
  { name: 'B', dir: here, env: envList(args['b-env']) }
]

// The database, and a copy for each side: writes on one never touch the other's cache or rows.
const articles = Number(args.articles)
const source = args.db === undefined ? join(out, `gazette-${articles}.db`) : resolve(args.db)
if (!existsSync(source)) {
  if (args.db !== undefined) throw new Error(`${source} does not exist`)
  log(`generating ${articles.toLocaleString('en')} articles into ${source}`)
  generate({ articles, out: source, progress: true })
}
for (const dir of new Set(sides.map((s) => s.dir))) {
  log(`building ${dir}`)
  if (spawnSync('npm', ['run', 'build'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) throw new Error(`npm run build failed in ${dir}`)
}
const adminToken = `gz_bench_${randomBytes(24).toString('base64url')}`
const children: Child[] = []
process.on('SIGINT', () => { Promise.all(children.map((c) => c.stop())).finally(() => process.exit(130)) })

try {
  const servers = []
  for (const side of sides) {
    const db = join(out, `compare-${side.name}.db`)
    copyFileSync(source, db)
    const port = await freePort()
    const child = startChild([join(side.dir, 'dist/server.js')], {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_PATH: db,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'silent',
      ADMIN_TOKEN: adminToken,
      COMMENT_RATE_LIMIT: '100000',
      // As bench/run.ts: one client measures search at thousands of requests a second.
      SEARCH_RATE_LIMIT: '1000000',
      TRUST_PROXY: '127.0.0.1',
      ...(args['cache-mb'] === undefined ? {} : { RESPONSE_CACHE_MB: args['cache-mb'] }),
      ...side.env
    })
    children.push(child)
    servers.push({ ...side, child, base: `http://127.0.0.1:${port}` })
  }
  for (const s of servers) await waitFor(`${s.base}/health/live`, s.child).catch(() => waitFor(`${s.base}/health`, s.child))

  const all = scenarios(findFixtures(source, Date.now()), adminToken).filter((s) => args.only === undefined || args.only.split(',').includes(s.id))
  const opts = { connections: Number(args.connections), duration: Number(args.duration), rounds: Number(args.rounds), warmup: Number(args.warmup) }
  const rows = []
  for (const s of [...all.filter((x) => x.read), ...all.filter((x) => !x.read)]) {
    log(`${s.label}: warm-up ${opts.warmup} s each, then ${opts.rounds} × ${opts.duration} s per side, ABBA`)
    const [a, b] = servers as [typeof servers[0], typeof servers[0]]
    await round(a.base, s, opts.connections, opts.warmup)
    await round(b.base, s, opts.connections, opts.warmup)
    const ra: Round[] = []
    const rb: Round[] = []
    for (let i = 0; i < opts.rounds; i++) {
      const order = i % 2 === 0 ? [a, b] : [b, a]
      for (const side of order) (side === a ? ra : rb).push(await round(side.base, s, opts.connections, opts.duration, side.child.pid))
    }
    const failures = [...ra, ...rb].reduce((n, r) => n + r.non2xx + r.errors, 0)
    const cpu = (rounds: Round[]) => rounds.every((r) => r.cpuUs !== undefined) ? median(rounds.map((r) => r.cpuUs!)) : undefined
    rows.push({
      id: s.id,
      label: s.label,
      a: { rps: median(ra.map((r) => r.rps)), p99: median(ra.map((r) => r.p99)), cpuUs: cpu(ra), rounds: ra },
      b: { rps: median(rb.map((r) => r.rps)), p99: median(rb.map((r) => r.p99)), cpuUs: cpu(rb), rounds: rb },
      ratio: median(ra.map((r, i) => rb[i]!.rps / Math.max(r.rps, 0.001))),
      failures
    })
  }

  const startedAt = new Date().toISOString()
  const report = {
    startedAt,
    sides: sides.map((s) => ({ name: s.name, dir: s.dir, env: s.env })),
    options: { ...opts, articles, db: source, cacheMb: args['cache-mb'] },
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg: loadavg() },
    scenarios: rows
  }
  writeFileSync(join(out, `compare-${startedAt.replace(/[:.]/g, '-')}.json`), JSON.stringify(report, null, 2) + '\n')
  const fmt = (v: number | undefined, d = 0) => v === undefined ? '—' : v.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d })
  const describe = (s: typeof sides[0]) => `${s.dir === here ? 'this build' : s.dir}${Object.keys(s.env).length ? ` + ${Object.entries(s.env).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`
  console.log(`A: ${describe(sides[0]!)}\nB: ${describe(sides[1]!)}\nload average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`)
  console.log('| scenario | A req/s | B req/s | B ÷ A req/s | A µs/req | B µs/req | B ÷ A CPU | A p99 ms | B p99 ms |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of rows) {
    const cpuRatio = r.a.cpuUs !== undefined && r.b.cpuUs !== undefined ? `${(r.b.cpuUs / r.a.cpuUs).toFixed(3)}×` : '—'
    console.log(`| ${r.label} | ${fmt(r.a.rps)} | ${fmt(r.b.rps)} | **${r.ratio.toFixed(3)}×** | ${fmt(r.a.cpuUs)} | ${fmt(r.b.cpuUs)} | ${cpuRatio} | ${fmt(r.a.p99)} | ${fmt(r.b.p99)} |${r.failures ? ` ${r.failures} failed requests` : ''}`)
  }
} finally {
  await Promise.all(children.map((c) => c.stop()))
}
