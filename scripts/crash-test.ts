// npm run crash-test [-- --rounds 5 --writers 16 --kill-after 1500]
// Crash safety, measured: the real server on a temporary database takes a concurrent write load and is
// killed with SIGKILL mid-load, then restarted on the same file. Every write it had answered 2xx must
// still be there, and PRAGMA integrity_check must say ok. Repeats for several rounds on one database.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import { cleanEnv, freePort, startServer, writeLoad, type Ack } from './harness.js'

export interface CrashOptions { rounds: number, writers: number, killAfterMs: number, log?: (line: string) => void }
export interface CrashFigures { rounds: number, acknowledged: number, articles: number, comments: number, found: number, lost: number, integrity: string }

export async function crashTest (opts: CrashOptions): Promise<CrashFigures> {
  const log = opts.log ?? (() => {})
  const dir = mkdtempSync(join(tmpdir(), 'gazette-crash-'))
  const databasePath = join(dir, 'gazette.db')
  const token = `crash-${randomBytes(16).toString('base64url')}`
  const env = cleanEnv({
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    DATABASE_PATH: databasePath,
    ADMIN_TOKEN: token,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    COMMENT_MODERATION: 'none',
    COMMENT_RATE_LIMIT: '100000',
    MAX_EVENT_LOOP_DELAY: '0' // measure durability, not load shedding
  })
  const acked: Ack[] = []
  try {
    let server = await startServer(env)
    const doc = await (await fetch(`${server.base}/openapi.json`)).json() as { paths: Record<string, Record<string, unknown>> }
    const comments = doc.paths['/v1/articles/{slug}/comments']?.post !== undefined
    log(`comments: ${comments ? 'written too' : 'no comment route yet, articles only'}`)
    for (let round = 1; round <= opts.rounds; round++) {
      const load = writeLoad(server.base, token, { writers: opts.writers, comments, tag: `round ${round}` })
      await new Promise((resolve) => setTimeout(resolve, opts.killAfterMs))
      server.child.kill('SIGKILL')
      await server.exited
      await load.done
      acked.push(...load.acked)
      log(`round ${round}: SIGKILL after ${opts.killAfterMs} ms, ${load.acked.length} writes acknowledged (${acked.length} in all)`)
      server = await startServer(env)
      const missing = await missingOverHttp(server.base, token, acked, comments)
      if (missing.length > 0) throw new Error(`round ${round}: acknowledged writes missing after restart: ${JSON.stringify(missing.slice(0, 10))}`)
    }
    server.child.kill('SIGTERM')
    if (await server.exited !== 0) throw new Error(`the server did not stop cleanly:\n${server.output()}`)

    const db = new Database(databasePath, { fileMustExist: true })
    try {
      const integrity = String(db.pragma('integrity_check', { simple: true }))
      const has = (table: string, ids: number[]) => ids.filter((id) => db.prepare(`SELECT 1 FROM ${table} WHERE id = ?`).get(id) !== undefined).length
      const articleIds = acked.filter((a) => a.kind === 'article').map((a) => a.id)
      const commentIds = acked.filter((a) => a.kind === 'comment').map((a) => a.id)
      const found = has('articles', articleIds) + (commentIds.length > 0 ? has('comments', commentIds) : 0)
      return { rounds: opts.rounds, acknowledged: acked.length, articles: articleIds.length, comments: commentIds.length, found, lost: acked.length - found, integrity }
    } finally {
      db.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The acknowledged writes the restarted server cannot show its admin. */
async function missingOverHttp (base: string, token: string, acked: Ack[], comments: boolean): Promise<Ack[]> {
  const missing: Ack[] = []
  const headers = { authorization: `Bearer ${token}` }
  for (let i = 0; i < acked.length; i += 16) {
    await Promise.all(acked.slice(i, i + 16).map(async (ack) => {
      const url = ack.kind === 'article' ? `${base}/v1/articles/${ack.slug}` : `${base}/v1/comments/${ack.id}`
      if (ack.kind === 'comment' && !comments) return
      const res = await fetch(url, { headers })
      if (res.status !== 200) missing.push(ack)
    }))
  }
  return missing
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, writers: { type: 'string', default: '16' }, 'kill-after': { type: 'string', default: '1500' } } })
  const started = Date.now()
  const figures = await crashTest({ rounds: Number(values.rounds), writers: Number(values.writers), killAfterMs: Number(values['kill-after']), log: console.log })
  console.log(`\n${figures.rounds} SIGKILLs under ${values.writers} concurrent writers, ${((Date.now() - started) / 1000).toFixed(1)} s`)
  console.log(`writes acknowledged: ${figures.acknowledged} (${figures.articles} articles, ${figures.comments} comments)`)
  console.log(`found after restart: ${figures.found}`)
  console.log(`lost:                ${figures.lost}`)
  console.log(`integrity_check:     ${figures.integrity}`)
  process.exitCode = figures.lost === 0 && figures.integrity === 'ok' ? 0 : 1
}
