// Writes at a million articles, without changing the database: the editors' and readers' writes of issue
// 18's table (rename and delete the biggest tags, post a comment, edit, create and delete an article), each
// run by the real app in-process (app.inject) inside a transaction that is rolled back afterwards, so the
// same file serves any number of runs, before and after a change. The app's own transactions nest as
// savepoints. Also, with --sweep, deleting the biggest tag for real over HTTP while one client reads the
// front page, to show what a big tag's deletion costs the others (this one changes the database).
//
//   npm run bench:writes -- --db /tmp/gazette-1m.db [--app /tmp/gazette-before] [--repeat 5]
//   npm run bench:writes -- --db /tmp/copy.db --sweep      (deletes the biggest tag: a copy, or the last run)
//
// The --sweep run starts the built server (`npm run build` first; dist/server.js of --app).
//
// --app runs another checkout's src/app.ts (for example the code before a change, exported with
// `git archive <commit> | tar -x -C /tmp/gazette-before` and node_modules linked in).
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { freePort, startChild, waitFor } from './processes.js'

const { values: args } = parseArgs({
  options: {
    db: { type: 'string' },
    app: { type: 'string' },
    repeat: { type: 'string', default: '5' },
    sweep: { type: 'boolean', default: false }
  }
})
if (args.db === undefined) throw new Error('--db is required')
const dbPath = resolve(args.db)
const root = resolve(args.app ?? '.')
const repeat = Number(args.repeat)

/** The two biggest tags, an ordinary article, and one with comments open. */
function fixtures () {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true })
  try {
    const tags = db.prepare(`SELECT t.slug AS slug, count(*) AS n FROM tags t JOIN article_tags at ON at.tag_id = t.id
      GROUP BY t.id ORDER BY n DESC LIMIT 2`).all() as { slug: string, n: number }[]
    const maxId = db.prepare('SELECT max(id) FROM articles').pluck().get() as number
    const articles = db.prepare(`SELECT slug FROM articles WHERE id >= ? AND status = 'published' AND published_at < ? AND comments_open = 1
      ORDER BY id LIMIT 2`).all(Math.floor(maxId * 2 / 3), Date.now()) as { slug: string }[]
    return { rename: tags[0]!, remove: tags[1]!, article: articles[0]!.slug, other: articles[1]!.slug }
  } finally {
    db.close()
  }
}

const percentile = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! }

async function rolledBack (): Promise<void> {
  const f = fixtures()
  const { buildApp } = await import(join(root, 'src/app.ts')) as { buildApp: (o: unknown) => Promise<FastifyInstance> }
  const { defaultConfig } = await import(join(root, 'src/config.ts')) as { defaultConfig: Record<string, unknown> }
  const app = await buildApp({
    config: { ...defaultConfig, databasePath: dbPath, seedDemo: false, logLevel: 'silent', responseCacheMb: 0, maxEventLoopDelay: 0 }
  })
  await app.ready()
  const sqlite = (app as unknown as { db: { $client: Database.Database } }).db.$client
  const tokens = (app as unknown as { tokens: { create: (name: string, role: string) => Promise<{ token: string }> } }).tokens
  const json = { 'content-type': 'application/json' }
  const writes: [string, (n: number) => InjectOptions][] = [
    [`PATCH /v1/tags/${f.rename.slug} (rename; ${f.rename.n.toLocaleString('en')} articles)`,
      () => ({ method: 'PATCH', url: `/v1/tags/${f.rename.slug}`, headers: json, payload: { name: 'Renamed by the bench' } })],
    [`DELETE /v1/tags/${f.remove.slug} (${f.remove.n.toLocaleString('en')} articles)`, () => ({ method: 'DELETE', url: `/v1/tags/${f.remove.slug}` })],
    ['POST /v1/articles/{slug}/comments', (n) => ({
      method: 'POST',
      url: `/v1/articles/${f.article}/comments`,
      headers: json,
      payload: { authorName: `Reader ${n}`, authorEmail: `reader${n}@example.com`, body: `A comment from the bench, number ${n}.` }
    })],
    ['PATCH /v1/articles/{slug} (summary)', (n) => ({ method: 'PATCH', url: `/v1/articles/${f.other}`, headers: json, payload: { summary: `Edited by the bench, ${n}.` } })],
    ['POST /v1/articles (published, 4 tags, 5 KB)', (n) => ({
      method: 'POST',
      url: '/v1/articles',
      headers: json,
      payload: { title: `Bench article ${n}`, body: 'The harbour council met. '.repeat(200), status: 'published', tags: ['Harbour', 'Council', 'Budget', `Bench ${n}`] }
    })],
    ['DELETE /v1/articles/{slug}', () => ({ method: 'DELETE', url: `/v1/articles/${f.other}` })]
  ]
  console.log('| write | status | median ms | max ms | n |\n| --- | --- | ---: | ---: | ---: |')
  for (const [label, request] of writes) {
    const times: number[] = []
    const statuses = new Set<number>()
    const n = label.includes('/v1/tags/') ? Math.min(repeat, 3) : repeat
    for (let i = 0; i < n; i++) {
      sqlite.exec('BEGIN')
      try {
        const { token } = await tokens.create(`bench ${randomBytes(4).toString('hex')}`, 'admin')
        const opts = request(i)
        const started = performance.now()
        const res = await app.inject({ ...opts, headers: { ...opts.headers, authorization: `Bearer ${token}` } })
        times.push(performance.now() - started)
        statuses.add(res.statusCode)
      } finally {
        sqlite.exec('ROLLBACK')
      }
    }
    console.log(`| ${label} | ${[...statuses].join(' ')} | ${percentile(times, 0.5).toFixed(1)} | ${Math.max(...times).toFixed(1)} | ${n} |`)
  }
  await app.close()
}

/** Deletes the biggest tag over HTTP while a reader fetches the front page; how long each waited. */
async function sweep (): Promise<void> {
  const f = fixtures()
  const adminToken = `gz_bench_${randomBytes(24).toString('base64url')}`
  const port = await freePort()
  const server = startChild([join(root, 'dist', 'server.js')], {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_PATH: dbPath,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN: adminToken,
    RESPONSE_CACHE_MB: '0',
    MAX_EVENT_LOOP_DELAY: '0'
  })
  try {
    const origin = `http://127.0.0.1:${port}`
    await waitFor(`${origin}/health`, server, 3600)
    const db = new Database(dbPath, { readonly: true })
    const tagId = db.prepare('SELECT id FROM tags WHERE slug = ?').pluck().get(f.rename.slug) as number
    const rows = db.prepare('SELECT count(*) FROM article_tags WHERE tag_id = ?').pluck()
    const latencies: number[] = []
    const reader = { reading: true }
    const reading = (async () => {
      while (reader.reading) {
        const t0 = performance.now()
        await (await fetch(`${origin}/v1/articles?limit=20`)).arrayBuffer()
        latencies.push(performance.now() - t0)
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const before = [...latencies]
    const t0 = performance.now()
    const res = await fetch(`${origin}/v1/tags/${f.rename.slug}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } })
    const answered = performance.now() - t0
    const during = latencies.length
    if (!res.ok) {
      reader.reading = false
      await reading
      throw new Error(`DELETE /v1/tags/${f.rename.slug} answered ${res.status}: ${await res.text()}`)
    }
    while ((rows.get(tagId) as number) > 0) await new Promise((resolve) => setTimeout(resolve, 50))
    const swept = performance.now() - t0
    reader.reading = false
    await reading
    const sweeping = latencies.slice(during)
    db.close()
    console.log(`DELETE /v1/tags/${f.rename.slug} (${f.rename.n.toLocaleString('en')} articles): ${res.status} in ${answered.toFixed(1)} ms; ` +
      `its rows removed in the background in ${(swept / 1000).toFixed(1)} s`)
    console.log(`front page (GET /v1/articles?limit=20, one client): before ${before.length} requests, p50 ${percentile(before, 0.5).toFixed(1)} ms, ` +
      `p99 ${percentile(before, 0.99).toFixed(1)} ms; while sweeping ${sweeping.length} requests, p50 ${percentile(sweeping, 0.5).toFixed(1)} ms, ` +
      `p99 ${percentile(sweeping, 0.99).toFixed(1)} ms, max ${Math.max(...sweeping).toFixed(1)} ms`)
  } finally {
    await server.stop()
  }
}

if (args.sweep) await sweep()
else await rolledBack()
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
