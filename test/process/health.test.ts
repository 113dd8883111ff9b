// Health probes against a real server process: the first answers after start (issue 13 item 10), and
// readiness during graceful shutdown (issue 22): false at once, while requests are still served, before
// the listener closes.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv, freePort, spawnServer, startServer } from '../../scripts/harness.js'

const dir = mkdtempSync(join(tmpdir(), 'gazette-health-'))
const status = (url: string) => fetch(url).then((r) => r.status, () => 'refused' as const)

t.test('from the first connection accepted, /health and /health/ready answer 200 (default load limits)', async (t) => {
  const port = await freePort()
  // Default MAX_EVENT_LOOP_DELAY and LOAD_SAMPLE_INTERVAL, plus utilisation-based shedding: start-up
  // (compiling, migrating) keeps the event loop busy, and used to be read as overload.
  const server = spawnServer(cleanEnv({ HOST: '127.0.0.1', PORT: String(port), DATABASE_PATH: join(dir, 'start.db'), SEED_DEMO: 'true', LOG_LEVEL: 'warn', MAX_EVENT_LOOP_UTILIZATION: '0.9' }))
  t.teardown(() => { server.child.kill('SIGKILL') })
  const answers: Array<number | 'refused'> = []
  for (let i = 0; i < 1200 && answers.length < 40; i++) {
    if (server.child.exitCode !== null) throw new Error(`the server exited:\n${server.output()}`)
    const health = await status(`${server.base}/health`)
    if (health !== 'refused') answers.push(health, await status(`${server.base}/health/ready`))
    else await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.equal(answers.length, 40, 'the server started')
  t.same(answers, Array(40).fill(200), `the first answers: ${answers.join(' ')}`)
})

t.test('SIGTERM: /health/ready is 503 at once while requests are still served for SHUTDOWN_DELAY, then the listener closes', async (t) => {
  const port = await freePort()
  const server = await startServer(cleanEnv({ HOST: '127.0.0.1', PORT: String(port), DATABASE_PATH: join(dir, 'stop.db'), SEED_DEMO: 'false', LOG_LEVEL: 'info', LOG_FORMAT: 'json', MAX_EVENT_LOOP_DELAY: '0', SHUTDOWN_DELAY: '3000' }))
  t.teardown(() => { server.child.kill('SIGKILL') })
  t.equal(await status(`${server.base}/health/ready`), 200)

  const signalled = Date.now()
  server.child.kill('SIGTERM')
  let ready: number | 'refused' = 200
  for (let i = 0; i < 100 && ready === 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    ready = await status(`${server.base}/health/ready`)
  }
  t.equal(ready, 503, 'readiness went false')
  const during = Date.now() - signalled
  // New connections are still accepted and served while the load balancer catches up.
  t.equal(await status(`${server.base}/v1/articles`), 200, 'the API is still served')
  t.equal(await status(`${server.base}/health/live`), 200, 'and the process is alive')
  const body = await fetch(`${server.base}/health/ready`).then((r) => r.json() as Promise<{ type: string, detail: string }>)
  t.match(body, { type: '/problems/not-ready', detail: /shutting down/ })
  t.ok(Date.now() - signalled < 3000, `all of this within SHUTDOWN_DELAY (readiness false after ${during} ms)`)

  let refused = false
  for (let i = 0; i < 100 && !refused; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    refused = await status(`${server.base}/health/live`) === 'refused'
  }
  t.ok(refused, 'then new connections are refused')
  t.ok(Date.now() - signalled >= 3000, 'not before SHUTDOWN_DELAY')
  t.equal(await server.exited, 0, 'exit code 0')
  t.match(server.output(), /"msg":"shutting down: \/health\/ready now answers 503"/)
})
