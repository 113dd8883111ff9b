// node --import tsx scripts/secure-delete-bench.ts [bench database] [requests]
// What secure_delete=FAST (src/db/connection.ts) costs the writes that free space in pages: CPU time per
// request of POST comment (with an Idempotency-Key, whose claim purges expired keys), PATCH article body
// (its search index deletes the old terms) and DELETE comment, through the real app (app.inject), on
// fresh copies of a database made by bench/generate.ts, with secure_delete OFF and FAST in alternating
// rounds. CPU time rather than wall time, so that a busy machine blurs it less; the figures are quoted in
// bench/README.md.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { buildApp } from '../src/app.js'
import { defaultConfig } from '../src/config.js'

const source = resolve(process.argv[2] ?? 'bench/results/gazette-10000.db')
const requests = Number(process.argv[3] ?? 600)
const modes = ['OFF', 'FAST', 'FAST', 'OFF', 'OFF', 'FAST', 'FAST', 'OFF'] as const
const results: Record<string, Record<string, number[]>> = { OFF: {}, FAST: {} }

for (const mode of modes) {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-secure-delete-'))
  const path = join(dir, 'bench.db')
  copyFileSync(source, path)
  const app = await buildApp({
    config: { ...defaultConfig, databasePath: path, seedDemo: false, maxEventLoopDelay: 0, commentRateLimit: 1_000_000, commentModeration: 'none', responseCacheMb: 0 }
  })
  await app.ready()
  app.db.$client.pragma(`secure_delete = ${mode}`)
  const admin = `Bearer ${(await app.tokens.create('bench', 'admin')).token}`
  const slugs = app.db.$client.prepare("SELECT slug FROM articles WHERE status = 'published' ORDER BY id LIMIT 50").pluck().all() as string[]
  const ids: number[] = []
  const measure = async (name: string, send: (i: number) => Promise<unknown>) => {
    const start = process.cpuUsage()
    for (let i = 0; i < requests; i++) await send(i)
    const used = process.cpuUsage(start)
    ;(results[mode]![name] ??= []).push((used.user + used.system) / requests)
  }
  await measure('POST comment', async (i) => {
    const res = await app.inject({ method: 'POST', url: `/v1/articles/${slugs[i % slugs.length]}/comments`, headers: { 'idempotency-key': `k-${mode}-${i}` }, payload: { authorName: 'Bench', authorEmail: `b${i}@example.org`, body: `Comment ${i} with some words to store.` } })
    ids.push(res.json().id)
  })
  await measure('PATCH article body', (i) => app.inject({ method: 'PATCH', url: `/v1/articles/${slugs[i % slugs.length]}`, headers: { authorization: admin }, payload: { body: `Rewritten body ${i}: ${'the fleet returned to port at dawn '.repeat(40)}` } }))
  await measure('DELETE comment', (i) => app.inject({ method: 'DELETE', url: `/v1/comments/${ids[i]}`, headers: { authorization: admin } }))
  await app.close()
  rmSync(dir, { recursive: true, force: true })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`secure_delete, CPU µs per request (median of ${modes.length / 2} rounds of ${requests} each), on ${source}`)
console.log('request             OFF      FAST     FAST/OFF')
for (const name of Object.keys(results.OFF!)) {
  const off = median(results.OFF![name]!)
  const fast = median(results.FAST![name]!)
  console.log(`${name.padEnd(18)} ${off.toFixed(0).padStart(6)}  ${fast.toFixed(0).padStart(7)}   ${(fast / off).toFixed(2)}`)
}
