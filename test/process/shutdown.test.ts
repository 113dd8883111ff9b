// Graceful shutdown under load: SIGTERM while requests are in flight lets them finish (2xx), refuses new
// connections, closes the database cleanly (WAL checkpointed) and exits 0.
import { request } from 'node:http'
import { existsSync, mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { cleanEnv, freePort, startServer } from '../../scripts/harness.js'

const token = 'shutdown-test-admin-token-0123456789'

/** A POST whose body arrives in two halves: in flight until `finish()` sends the rest. */
function slowPost (port: number, n: number) {
  const body = Buffer.from(JSON.stringify({ title: `In flight ${n}`, body: 'x'.repeat(2000), status: 'published' }))
  let finish = () => {}
  const answered = new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/articles', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.write(body.subarray(0, 1000))
    finish = () => { req.end(body.subarray(1000)) }
  })
  return { answered, finish: () => finish() }
}

t.test('SIGTERM with requests in flight: they complete, new connections are refused, exit 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-shutdown-'))
  const databasePath = join(dir, 'gazette.db')
  const port = await freePort()
  const server = await startServer(cleanEnv({ HOST: '127.0.0.1', PORT: String(port), DATABASE_PATH: databasePath, ADMIN_TOKEN: token, SEED_DEMO: 'false', LOG_LEVEL: 'warn', MAX_EVENT_LOOP_DELAY: '0' }))
  t.teardown(() => { server.child.kill('SIGKILL') })

  const inFlight = Array.from({ length: 8 }, (_, n) => slowPost(port, n))
  // And a burst of quick requests racing the signal: each must be answered, or refused outright.
  const burst = Array.from({ length: 20 }, () => fetch(`${server.base}/v1/articles?limit=5`).then((r) => r.status, () => 'refused' as const))
  await new Promise((resolve) => setTimeout(resolve, 500))
  server.child.kill('SIGTERM')

  let refused = false
  for (let i = 0; i < 50 && !refused; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    refused = await fetch(`${server.base}/health`).then(() => false, () => true)
  }
  t.ok(refused, 'a new connection is refused once shutting down')
  t.equal(server.child.exitCode, null, 'the server waits for the requests in flight')

  for (const r of inFlight) r.finish()
  const answers = await Promise.all(inFlight.map((r) => r.answered))
  t.same(answers.map((a) => a.status), Array(8).fill(201), 'every request in flight completed with 201')
  const statuses = await Promise.all(burst)
  t.ok(statuses.every((s) => s === 200 || s === 'refused'), `the burst was answered 200 or refused: ${statuses.join(' ')}`)
  t.equal(await server.exited, 0, 'exit code 0')

  t.notOk(existsSync(`${databasePath}-wal`) && statSync(`${databasePath}-wal`).size > 0, 'the WAL was checkpointed on close')
  const db = new Database(databasePath, { readonly: true, fileMustExist: true })
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok')
  t.equal((db.prepare("SELECT count(*) AS n FROM articles WHERE title LIKE 'In flight %'").get() as { n: number }).n, 8, 'all 8 are stored')
  db.close()
})
