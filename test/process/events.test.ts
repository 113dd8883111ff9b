// Two server processes on one database, in real time: when scheduled articles come due, both schedulers
// wake at the same moment and race to announce them; each article.published is recorded once. Both
// dispatchers race for the deliveries too; the receiver gets each event once, in order.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { cleanEnv, freePort, startServer as start } from '../../scripts/harness.js'
import { startReceiver } from '../../scripts/webhook-receiver.js'

const ADMIN = 'gz_test-admin-secret-0123456789abcdef'
const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }

async function startServer (t: Test, databasePath: string): Promise<string> {
  const server = await start(cleanEnv({
    PORT: String(await freePort()), DATABASE_PATH: databasePath, ADMIN_TOKEN: ADMIN, SEED_DEMO: 'false', LOG_LEVEL: 'error', WEBHOOK_ALLOW_PRIVATE: 'true'
  }))
  t.teardown(async () => {
    server.child.kill('SIGTERM')
    await server.exited
  })
  return server.base
}

t.test('two processes announce each scheduled publication once, and deliver each event once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const databasePath = join(dir, 'gazette.db')
  const one = await startServer(t, databasePath)
  const two = await startServer(t, databasePath)
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const hook = await fetch(`${one}/v1/webhooks`, { method: 'POST', headers, body: JSON.stringify({ url: receiver.url, events: ['article.published'] }) })
  receiver.secret = (await hook.json() as { secret: string }).secret

  const due = new Date(Date.now() + 3000).toISOString()
  const count = 20
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const res = await fetch(`${i % 2 === 0 ? one : two}/v1/articles`, {
      method: 'POST', headers, body: JSON.stringify({ title: `Embargo ${i}`, status: 'published', publishedAt: due })
    })
    t.equal(res.status, 201)
  }))
  const before = await fetch(`${two}/v1/events`, { headers })
  t.same((await before.json() as { data: unknown[] }).data, [], 'nothing announced before the time')

  await receiver.waitUntil(() => receiver.received.length >= count, 30_000)
  await new Promise((resolve) => setTimeout(resolve, 2500)) // both schedulers and dispatchers have had their turn
  const log = await (await fetch(`${one}/v1/events?limit=100`, { headers })).json() as { data: { id: string, type: string, data: { slug: string } }[] }
  t.equal(log.data.length, count, 'one article.published per article')
  t.equal(new Set(log.data.map((e) => e.data.slug)).size, count)
  t.equal(receiver.received.length, count, 'each delivered once')
  t.same(receiver.received.map((r) => r.id), log.data.map((e) => e.id), 'in the order of the log')
  t.ok(receiver.received.every((r) => r.verified))
})
