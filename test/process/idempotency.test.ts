// Two server processes on one database, as a deployment with several workers runs: retries of one POST
// with one Idempotency-Key, sent to both at once, write once. Within one process a claim and its
// response never interleave with other requests; across processes they can.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { cleanEnv, freePort } from '../../scripts/harness.js'

const ADMIN = 'gz_test-admin-secret-0123456789abcdef'

async function startServer (t: Test, databasePath: string): Promise<string> {
  const port = await freePort()
  const env = { PORT: String(port), DATABASE_PATH: databasePath, ADMIN_TOKEN: ADMIN, SEED_DEMO: 'false', LOG_LEVEL: 'error' }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: cleanEnv(env), stdio: 'ignore' })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  t.teardown(async () => {
    child.kill('SIGTERM')
    await exited
  })
  const base = `http://127.0.0.1:${port}`
  // A deadline, not a count: on a busy machine tsx alone takes over 10 s to start the server.
  for (const until = Date.now() + 60_000; Date.now() < until;) {
    try {
      if ((await fetch(`${base}/health`)).ok) return base
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('the server never answered')
}

t.test('concurrent retries across two processes write once', async (t) => {
  const databasePath = join(mkdtempSync(join(tmpdir(), 'gazette-')), 'gazette.db')
  const one = await startServer(t, databasePath) // migrates the new database first
  const two = await startServer(t, databasePath)
  const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }

  const statuses: string[] = []
  for (let round = 0; round < 5; round++) {
    const body = JSON.stringify({ title: `Round ${round}`, body: 'z'.repeat(5000) })
    const results = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
      const res = await fetch(`${i % 2 === 0 ? one : two}/v1/articles`, { method: 'POST', headers: { ...headers, 'idempotency-key': `round-${round}` }, body })
      return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', body: await res.text() }
    }))
    statuses.push(...results.map((r) => `${r.status}${r.replayed ? 'r' : ''}`))
    t.ok(results.every((r) => r.status === 201 || r.status === 409), `round ${round}: only 201 and 409`)
    const originals = results.filter((r) => r.status === 201 && !r.replayed)
    t.equal(originals.length, 1, `round ${round}: one request wrote`)
    t.ok(results.filter((r) => r.replayed).every((r) => r.body === originals[0]?.body), 'replays are the first response')
  }
  t.comment(`statuses: ${statuses.join(' ')}`)
  const list = await fetch(`${one}/v1/articles?include=total`, { headers })
  t.equal((await list.json() as { page: { total: number } }).page.total, 5, 'one article per key')
})
