// Deliveries across restarts and between two servers on one database file: shutdown leaves what is
// undelivered for the next start, and each delivery is made by one server.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { build, createArticle, postComment, onSqlite } from '../helper.js'
import { startReceiver } from '../../scripts/webhook-receiver.js'

const fast = { pollMs: 10, minIntervalMs: 0, backoff: () => 1000 }

function tempDatabase (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-webhooks-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'gazette.db')
}

t.test('a graceful shutdown leaves undelivered events for the next start', onSqlite, async (t) => {
  const databasePath = tempDatabase(t)
  let answering = false
  const receiver = await startReceiver(() => answering ? 200 : 'hang')
  t.teardown(() => receiver.close())
  const first = await build(t, { databasePath, webhookAllowPrivate: true }, { workers: fast })
  const hook = (await first.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: ['article.published'] } })).json()
  receiver.secret = hook.secret
  await createArticle(first, { title: 'In flight at shutdown', status: 'published' })
  await createArticle(first, { title: 'Queued behind it', status: 'published' })
  await receiver.waitUntil(() => receiver.received.length === 1)
  await first.app.close()
  const [queued, inFlight] = (await deliveriesOf(databasePath, hook.id))
  t.match(inFlight, { status: 'pending', attempts: 0, leaseUntil: null, leaseOwner: null }, 'the aborted attempt is given back, not counted')
  t.match(queued, { status: 'pending', attempts: 0 })

  answering = true
  const second = await build(t, { databasePath, webhookAllowPrivate: true }, { workers: fast })
  await receiver.waitUntil(() => receiver.delivered().length === 2)
  t.same(receiver.received.map((r) => r.event.data.slug), ['in-flight-at-shutdown', 'in-flight-at-shutdown', 'queued-behind-it'],
    'after the restart: the interrupted event again (same webhook-id), then the next')
  t.equal(receiver.received[0]!.id, receiver.received[1]!.id)
  t.ok(receiver.delivered().every((r) => r.verified), 'signed with the secret decrypted by the new process')
  await second.app.close()
})

t.test('two servers on one database: each delivery is made by one of them', onSqlite, async (t) => {
  const databasePath = tempDatabase(t)
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const config = { databasePath, webhookAllowPrivate: true, commentModeration: 'none' as const, commentRateLimit: 1000 }
  const one = await build(t, config, { workers: fast })
  const two = await build(t, config, { workers: fast })
  for (const events of [['article.published', 'comment.approved'], ['comment.submitted']]) {
    await one.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events } })
  }
  const writes: Promise<unknown>[] = []
  for (let i = 0; i < 10; i++) {
    const server = i % 2 === 0 ? one : two
    writes.push(createArticle(server, { title: `Story ${i}`, status: 'published' }).then((a) =>
      postComment(i % 3 === 0 ? one : two, a.slug, { authorName: 'Ann', authorEmail: 'ann@example.org', body: `On story ${i}` })))
  }
  await Promise.all(writes)
  const events = (await one.as('admin', { method: 'GET', url: '/v1/events?limit=100' })).json().data as { id: string, type: string }[]
  t.equal(events.length, 30)
  const expected = events.length // every event is subscribed to by exactly one of the two webhooks
  await receiver.waitUntil(() => receiver.received.length >= expected)
  await new Promise((resolve) => setTimeout(resolve, 200))
  const ids = receiver.received.map((r) => r.id)
  t.equal(receiver.received.length, expected, 'no delivery made twice')
  t.equal(new Set(ids).size, ids.length)
  const order = (types: string[]) => events.filter((e) => types.includes(e.type)).map((e) => e.id)
  const got = (types: string[]) => receiver.received.filter((r) => types.includes(r.event.type)).map((r) => r.id)
  t.same(got(['article.published', 'comment.approved']), order(['article.published', 'comment.approved']), 'in order for the first webhook')
  t.same(got(['comment.submitted']), order(['comment.submitted']), 'and for the second')
})

async function deliveriesOf (path: string, webhookId: number) {
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare('SELECT status, attempts, lease_until AS leaseUntil, lease_owner AS leaseOwner FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC').all(webhookId)
  } finally {
    db.close()
  }
}
