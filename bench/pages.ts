// Page depth: is the 1,000th page of the article list as fast as the first? Builds a 100,000-article
// SQLite database (bench/seed.ts; with `--database-url`, nothing is built: the PostgreSQL database, which
// db:copy filled, is measured as it is, and the app applies any migration it lacks and fills missing
// stored forms in the background while it is measured), starts the real app on 127.0.0.1 (logger off), walks 1,000 pages of 20 by
// following nextCursor, then measures the first and the 1,000th page's URL with autocannon (one
// connection, warm-up first, each URL twice alternating) and prints req/s, p50, p99 and their ratio. Bounded: loopback only, fixed
// durations, stops by itself and removes its database.
//
//   node --import tsx bench/pages.ts [--articles 100000] [--pages 1000] [--duration 5] [--db path-to-reuse]
//                                    [--query 'q=harbour'] (another list: a search, a tag, a sort)
//                                    [--database-url postgres://…] (on PostgreSQL: a database db:copy filled, used as is)
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { buildApp } from '../src/app.js'
import { defaultConfig, postgresConfig } from '../src/config.js'
import { seedArticles } from './seed.js'

const { values: args } = parseArgs({
  options: {
    articles: { type: 'string', default: '100000' },
    pages: { type: 'string', default: '1000' },
    limit: { type: 'string', default: '20' },
    duration: { type: 'string', default: '5' },
    db: { type: 'string' },
    /** Extra list parameters, to measure another list (`q=harbour`, `tag=topic-1`, `sort=-updatedAt`). */
    query: { type: 'string', default: '' },
    /** PostgreSQL instead of SQLite: its database is measured as it is (nothing is seeded or copied). */
    'database-url': { type: 'string' }
  }
})
if (args['database-url'] !== undefined && (args.db !== undefined || args.articles !== '100000')) throw new Error('--database-url measures that database as it is: --db and --articles do not apply')
const articles = Number(args.articles)
const pages = Number(args.pages)
const limit = Number(args.limit)
const duration = Number(args.duration)

const dir = mkdtempSync(join(tmpdir(), 'gazette-bench-'))
const databasePath = args.db ?? join(dir, 'bench.db')
try {
  if (args['database-url'] === undefined && (args.db === undefined || !existsSync(databasePath))) {
    const seeded = seedArticles(databasePath, articles)
    console.log(`seeded ${seeded.articles} articles (${seeded.published} visible, ${seeded.tags} tags) in ${(seeded.ms / 1000).toFixed(1)} s`)
  }
  // Without the response cache: every request of the walk and of the rounds must query the database,
  // or page 1,000 would be as cheap as page 1 whatever the SQL did.
  // As the server reads DATABASE_URL (checked, PG_POOL_SIZE or its default).
  const postgres = postgresConfig({ DATABASE_URL: args['database-url'], PG_POOL_SIZE: process.env.PG_POOL_SIZE })
  const app = await buildApp({ config: { ...defaultConfig, databasePath, postgres, seedDemo: false, logLevel: 'silent', responseCacheMb: 0, searchRateLimit: 1_000_000 }, logger: false })
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  try {
    const firstPath = `/v1/articles?limit=${limit}${args.query === '' ? '' : `&${args.query}`}`
    // Opening a large database can hold the event loop past under-pressure's limit (src/plugins/limits.ts),
    // which then answers 503 for a moment: wait (at most 10 s) until the server takes requests.
    for (let tries = 0; (await fetch(origin + firstPath)).status === 503 && tries < 20; tries++) await new Promise((resolve) => setTimeout(resolve, 500))
    let path = firstPath
    const walkStarted = performance.now()
    for (let page = 1; page < pages; page++) {
      const res = await fetch(origin + path)
      const body = await res.json() as { page: { nextCursor: string | null } }
      if (res.status !== 200 || body.page.nextCursor === null) throw new Error(`page ${page}: ${res.status}, the list ended early`)
      path = `${firstPath}&cursor=${body.page.nextCursor}`
    }
    const walkMs = performance.now() - walkStarted
    console.log(`walked to page ${pages} (${pages - 1} requests) in ${(walkMs / 1000).toFixed(1)} s`)

    const measure = async (label: string, url: string) => {
      await autocannon({ url: origin + url, connections: 1, duration: 1 }) // warm-up, discarded
      const r = await autocannon({ url: origin + url, connections: 1, duration })
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${label}: ${r.non2xx} non-2xx, ${r.errors} errors`)
      return { label, rps: r.requests.average, mean: r.latency.average, p50: r.latency.p50, p99: r.latency.p99 }
    }
    // Each URL twice, alternating, so drift in the machine's load shows instead of favouring one side.
    const runs = [await measure('page 1', firstPath), await measure(`page ${pages}`, path), await measure('page 1', firstPath), await measure(`page ${pages}`, path)]
    const best = (label: string) => runs.filter((m) => m.label === label).sort((a, b) => b.rps - a.rps)[0]!
    const first = best('page 1')
    const deep = best(`page ${pages}`)
    console.log('')
    console.log('| page | req/s | mean ms | p50 ms | p99 ms |')
    console.log('|---|---:|---:|---:|---:|')
    for (const m of runs) console.log(`| ${m.label} | ${m.rps.toFixed(0)} | ${m.mean.toFixed(2)} | ${m.p50} | ${m.p99} |`)
    console.log('')
    console.log('(the ratios below compare the better run of each)')
    const ratio = first.rps / deep.rps
    console.log('')
    console.log(`throughput ratio page 1 / page ${pages}: ${ratio.toFixed(2)}× (target: within 1.5×) ${ratio <= 1.5 ? 'OK' : 'MISSED'}`)
    console.log(`p50 latency ratio page ${pages} / page 1: ${(deep.p50 / Math.max(first.p50, 0.001)).toFixed(2)}×`)
  } finally {
    await app.close()
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
