// How long `npm run db:copy` takes on the generator's database (issue 16: "tested on the generator's
// 100,000-article database"), into a PostgreSQL of its own (the test harness's embedded cluster, or --to).
//
//   npm run bench:db-copy -- [--articles 100000] [--db bench/results/gazette-100000.db] [--to postgres://…]
//
// Generates the database first when --db does not exist (bench/generate.ts), then copies and verifies it
// (src/db/copy.ts) and prints the time per table and in all.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generate } from './generate.js'
import { copySqliteToPostgres } from '../src/db/copy.js'
import { admin, startCluster, urlOf } from '../test/pg/cluster.js'

const { values } = parseArgs({ options: { articles: { type: 'string', default: '100000' }, db: { type: 'string' }, to: { type: 'string' }, sample: { type: 'string', default: '1000' } } })
const articles = Number(values.articles)
const db = resolve(values.db ?? `bench/results/gazette-${articles}.db`)
if (!existsSync(db)) {
  console.log(`generating ${articles} articles into ${db}`)
  generate({ articles, out: db, seed: 1 })
}

let to = values.to
let stop = async (): Promise<void> => {}
if (to === undefined) {
  const cluster = await startCluster({})
  stop = cluster.stop
  await admin(cluster, (client) => client.query('CREATE DATABASE gazette_copy'))
  to = urlOf(cluster, 'gazette_copy')
  console.log(`PostgreSQL started in ${cluster.timings.initdb + cluster.timings.start} ms`)
}
try {
  const report = await copySqliteToPostgres(db, to, { sample: Number(values.sample), onProgress: (m) => console.log(m) })
  const total = Object.values(report.rows).reduce((a, b) => a + b, 0)
  console.log(`copied ${total} rows (${report.rows.articles} articles, ${report.rows.comments} comments) in ${(report.ms / 1000).toFixed(1)} s; ` +
    `verified ${report.checked.derivedCounts} derived counts and ${report.checked.sampledRows} sampled rows`)
} finally {
  await stop()
}
