// Webhooks on both engines (src/webhooks/repository.pg.ts beside ./repository.ts), over HTTP to a real
// receiver on a local port: the same story answers the same on SQLite and on PostgreSQL (registration,
// deliveries in order and signed, a failure retried with backoff, If-Match on every write, a disabled
// webhook's waiting delivery refused a manual retry, a ping, re-enabling, a manual retry of a finished
// delivery, rotation, deletion). Then two processes on one PostgreSQL (two apps, two pools, two dispatchers):
// every event their article and comment writes record reaches each subscribed webhook exactly once, in
// the order of the log, over RACE_ROUNDS rounds (`npm run race:pg` runs hundreds); of two writes with one
// If-Match (a PATCH and a PATCH or a rotation), one wins and the other is a 412; and a delivery whose
// sender stopped answering is taken over by the other process once its lease runs out, never before; a
// fan-out never moves a cursor past an event another process has yet to commit; and a dispatcher wakes on
// another process's commit (its notification) rather than at its next poll.
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { build, createArticle, eventLog, postComment, sameOnBothEngines, type Engine, type TestApp } from '../helper.js'
import { startReceiver, type Receiver } from '../../scripts/webhook-receiver.js'
import { openPgDatabase } from '../../src/db/pg/connection.js'
import { outboxPg } from '../../src/events/outbox.pg.js'

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 20)
const ALL = ['article.published', 'article.updated', 'article.unpublished', 'comment.submitted', 'comment.approved',
  'comment.edited', 'comment.removed', 'tag.updated', 'tag.deleted']
/** Dispatchers that look for work every 20 ms and retry a failure a second later by the app's clock. */
const fast = { pollMs: 20, minIntervalMs: 0, backoff: () => 1000 }

async function waitFor (what: string, predicate: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms
  while (!await predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function deliveries (a: TestApp, id: number, query = ''): Promise<any[]> {
  const res = await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}/deliveries?limit=100${query}` })
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json().data
}

/** Waits until the webhook has `count` deliveries, the newest tried `attempts` times, and none waits for its first try. */
const settled = (a: TestApp, id: number, count: number, attempts = 1) => waitFor(`${count} deliveries settled`, async () => {
  const log = await deliveries(a, id)
  return log.length === count && log[0].attempts >= attempts && log.every((d) => d.status !== 'pending' || d.attempts > 0)
})

/**
 * What differs between the two runs: secrets, event ids (replaced by their place in the log, or `ping`), the
 * receiver's port, and so the ETags of webhooks (which show their URL).
 */
function masker (log: { id: string }[], receiver: Receiver): (value: unknown) => unknown {
  const places = new Map(log.map((e, i) => [e.id, `event ${i}`]))
  const mask = (value: unknown): unknown => {
    if (value === receiver.url) return 'receiver'
    if (typeof value === 'string' && /^(W\/)?"/.test(value)) return 'etag'
    if (typeof value === 'string' && value.startsWith('evt_')) return places.get(value) ?? 'ping'
    if (typeof value === 'string' && value.startsWith('whsec_')) return 'secret'
    if (Array.isArray(value)) return value.map(mask)
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v)]))
    return value
  }
  return mask
}

const answer = (res: LightMyRequestResponse): unknown =>
  [res.statusCode, res.headers.location ?? null, res.headers.etag ?? null, res.body === '' ? '' : res.json()]

async function webhookStory (t: Test, engine: Engine): Promise<unknown[]> {
  let failing = 0
  const receiver = await startReceiver(() => failing > 0 ? 500 : 200)
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true, commentModeration: 'none' }, { engine, workers: fast })
  const seen: unknown[] = []
  /** Records an answer, which must have the status given. */
  const step = (res: LightMyRequestResponse, status: number, what: string): LightMyRequestResponse => {
    t.equal(res.statusCode, status, what)
    seen.push(answer(res))
    return res
  }
  const created = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: ALL, description: 'both engines' } })
  t.equal(created.statusCode, 201)
  const id = created.json().id as number
  receiver.secret = created.json().secret
  seen.push(answer(created))

  // Writes of each kind; each event reaches the receiver once, in order, signed.
  const story = await createArticle(a, { title: 'Harbour opens', status: 'published', tags: ['Ports'] })
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${story.slug}`, payload: { summary: 'With a summary.' } })
  const comment = (await postComment(a, story.slug, { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Welcome!' })).json()
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${comment.id}`, payload: { body: 'Welcome home!' } })
  await a.as('editor', { method: 'PATCH', url: '/v1/tags/ports', payload: { name: 'Harbours' } })
  const first = await eventLog(a)
  t.equal(first.length, 6)
  await receiver.waitUntil(() => receiver.received.length >= first.length)
  await settled(a, id, 6)
  t.same(receiver.received.map((r) => r.id), first.map((e) => e.id), 'each event once, in the order of the log')
  seen.push(await deliveries(a, id))
  const page = await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}/deliveries?limit=4&status=succeeded` })
  seen.push(answer(page), answer(await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}/deliveries?limit=4&status=succeeded&cursor=${page.json().page.nextCursor as string}` })))

  // A failure: retried a second later with the same webhook-id; the webhook is failing meanwhile.
  failing = 1
  await createArticle(a, { title: 'Second story', status: 'published' })
  await settled(a, id, 7)
  const failed = (await deliveries(a, id))[0]
  t.match(failed, { status: 'pending', attempts: 1, lastResponseCode: 500, nextAttemptAt: new Date(a.clock.now + 1000).toISOString() })
  seen.push(failed)
  t.match(step(await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}` }), 200, 'failing').json(), { enabled: true, failingSince: String })
  failing = 0
  a.clock.advance(1000)
  await settled(a, id, 7, 2)
  t.match((await deliveries(a, id))[0], { id: failed.id, status: 'succeeded', attempts: 2, lastResponseCode: 200 }, 'retried')
  seen.push((await deliveries(a, id))[0])
  t.match(step(await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}` }), 200, 'no longer failing').json(), { failingSince: null })

  // Failing again, then disabled by an admin (If-Match: a stale ETag changes nothing): its waiting delivery is
  // not retried by hand; a ping still goes, once.
  failing = 1
  await createArticle(a, { title: 'Third story', status: 'published' })
  await settled(a, id, 8)
  failing = 0
  const current = await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}` })
  step(await a.as('admin', { method: 'PATCH', url: `/v1/webhooks/${id}`, headers: { 'if-match': '"stale"' }, payload: { enabled: false } }), 412, 'a stale If-Match')
  const off = step(await a.as('admin', { method: 'PATCH', url: `/v1/webhooks/${id}`, headers: { 'if-match': current.headers.etag as string }, payload: { enabled: false, description: 'paused' } }), 200, 'disabled')
  t.match(off.json(), { enabled: false, description: 'paused', disabledReason: 'disabled by an admin' })
  const waiting = (await deliveries(a, id))[0]
  step(await a.as('admin', { method: 'POST', url: `/v1/webhooks/${id}/deliveries/${waiting.id as number}/retry` }), 409, 'a waiting delivery of a disabled webhook')
  step(await a.as('admin', { method: 'POST', url: `/v1/webhooks/${id}/ping` }), 202, 'a ping')
  await settled(a, id, 9)
  t.match((await deliveries(a, id))[0], { eventType: 'webhook.ping', status: 'succeeded', attempts: 1 }, 'a ping goes to a disabled webhook')
  // An event recorded while disabled is delivered after the re-enabling, behind the one that waited.
  await createArticle(a, { title: 'While disabled', status: 'published' })
  await new Promise((resolve) => setTimeout(resolve, 100))
  seen.push(await deliveries(a, id))
  step(await a.as('admin', { method: 'PATCH', url: `/v1/webhooks/${id}`, payload: { enabled: true } }), 200, 're-enabled')
  await receiver.waitUntil(() => receiver.delivered().length >= first.length + 4)
  await settled(a, id, 10)
  t.same(receiver.delivered().slice(-2).map((r) => r.event.data.slug), ['third-story', 'while-disabled'], 'what waited, then what was recorded meanwhile')
  seen.push(await deliveries(a, id))

  // A manual retry of a finished delivery: a new delivery of the same event, out of turn.
  const retried = step(await a.as('admin', { method: 'POST', url: `/v1/webhooks/${id}/deliveries/${waiting.id as number}/retry` }), 202, 'a retry')
  t.match(retried.json(), { eventId: waiting.eventId, status: 'pending' })
  t.not(retried.json().id, waiting.id, 'a new delivery')
  await settled(a, id, 11)
  seen.push((await deliveries(a, id))[0])

  // Rotation (If-Match as for PATCH): the next delivery carries both signatures, and verifies with the new secret.
  step(await a.as('admin', { method: 'POST', url: `/v1/webhooks/${id}/rotate-secret`, headers: { 'if-match': '"stale"' } }), 412, 'a stale rotation')
  const rotated = step(await a.as('admin', { method: 'POST', url: `/v1/webhooks/${id}/rotate-secret` }), 200, 'rotated')
  receiver.secret = rotated.json().secret
  const before = receiver.received.length
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${story.slug}`, payload: { title: 'Harbour opened' } })
  await receiver.waitUntil(() => receiver.received.length > before)
  const signed = receiver.received.at(-1)!
  t.equal(signed.verified, true, 'verifies with the new secret')
  seen.push([signed.verified, String(signed.headers['webhook-signature']).split(' ').length])

  // Everything the receiver got, in order; the list of webhooks; deletion (If-Match again).
  seen.push(receiver.received.map((r) => [r.id, r.event.type, r.status, r.verified]))
  step(await a.as('admin', { method: 'GET', url: '/v1/webhooks?include=total' }), 200, 'the list')
  step(await a.as('admin', { method: 'DELETE', url: `/v1/webhooks/${id}`, headers: { 'if-match': '"stale"' } }), 412, 'a stale delete')
  step(await a.as('admin', { method: 'DELETE', url: `/v1/webhooks/${id}` }), 204, 'deleted')
  step(await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}` }), 404, 'gone')
  return seen.map(masker(await eventLog(a), receiver))
}

t.test('webhooks answer the same on SQLite and on PostgreSQL', (t) => sameOnBothEngines(t, 25, webhookStory))

/** Two processes on one database: A and B, each with its own pool and dispatcher, B on A's database. */
async function twoProcesses (t: Test, config: Record<string, unknown>, workers = fast): Promise<[TestApp, TestApp]> {
  const a = await build(t, config, { engine: 'postgres', workers })
  const b = await build(t, { ...config, postgres: { url: a.pg!.url, poolSize: 4 } }, { engine: 'postgres', workers })
  return [a, b]
}

t.test('two processes: every event reaches each webhook exactly once, in order', async (t) => {
  const [a, b] = await twoProcesses(t, { webhookAllowPrivate: true, commentModeration: 'none', commentRateLimit: 1_000_000 })
  // Three webhooks with overlapping subscriptions, each with its own receiver, registered on either process.
  const subscriptions = [ALL, ['article.published', 'comment.approved'], ['comment.submitted', 'article.updated']]
  const hooks: { events: string[], receiver: Receiver }[] = []
  for (const [i, events] of subscriptions.entries()) {
    const receiver = await startReceiver()
    t.teardown(() => receiver.close())
    const res = await (i % 2 === 0 ? a : b).as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events } })
    t.equal(res.statusCode, 201)
    receiver.secret = res.json().secret
    hooks.push({ events, receiver })
  }
  // Each round, both processes write at once: articles published, updated and commented on.
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all([a, b].map(async (p, i) => {
      const article = await createArticle(p, { title: `Round ${round} by ${i}`, status: 'published' })
      await Promise.all([
        p.as('editor', { method: 'PATCH', url: `/v1/articles/${article.slug}`, payload: { summary: `Summary ${round}` } }),
        postComment(i === 0 ? b : a, article.slug, { authorName: 'Ann', authorEmail: `ann${i}@example.org`, body: `On round ${round}` })
      ])
    }))
  }
  const log = await eventLog(a)
  t.equal(log.length, ROUNDS * 2 * 4, 'four events per article')
  for (const [i, { events, receiver }] of hooks.entries()) {
    const expected = log.filter((e) => events.includes(e.type)).map((e) => e.id)
    await receiver.waitUntil(() => receiver.received.length >= expected.length, 60_000)
    await new Promise((resolve) => setTimeout(resolve, 200)) // nothing more arrives
    t.same(receiver.received.map((r) => r.id), expected, `webhook ${i}: each of its ${expected.length} events once, in the order of the log`)
    t.ok(receiver.received.every((r) => r.verified === true && r.status === 200), `webhook ${i}: every delivery signed`)
  }
  const rows = (await a.pg!.db.execute(sql`SELECT webhook_id AS id, count(*) AS n, count(DISTINCT event_seq) AS events,
    bool_and(status = 'succeeded' AND attempts = 1) AS once FROM webhook_deliveries GROUP BY webhook_id ORDER BY webhook_id`)).rows
  t.same(rows.map((r) => [r.n, r.events, r.once]), hooks.map((h) => {
    const n = log.filter((e) => h.events.includes(e.type)).length
    return [n, n, true]
  }), 'one delivery row per event and webhook, each made in one attempt')
  t.comment(`${ROUNDS} rounds, ${log.length} events, ${hooks.reduce((n, h) => n + h.receiver.received.length, 0)} deliveries`)
})

t.test('two processes: of two writes with the same If-Match, one wins and the other is a 412', async (t) => {
  const [a, b] = await twoProcesses(t, { webhookAllowPrivate: true })
  const id = (await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: 'http://127.0.0.1:9/hooks', events: ['tag.updated'] } })).json().id as number
  for (let round = 0; round < ROUNDS; round++) {
    // A rotation shows only in updatedAt: each round is a second later on both clocks.
    for (const p of [a, b]) p.clock.advance(1000)
    const etag = (await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}` })).headers.etag as string
    const writes = [a, b].map((p, i) => round % 2 === 0
      ? p.as('admin', { method: 'PATCH', url: `/v1/webhooks/${id}`, headers: { 'if-match': etag }, payload: { description: `round ${round} by ${i}` } })
      : i === 0
        ? p.as('admin', { method: 'PATCH', url: `/v1/webhooks/${id}`, headers: { 'if-match': etag }, payload: { description: `round ${round} by ${i}` } })
        : p.as('admin', { method: 'POST', url: `/v1/webhooks/${id}/rotate-secret`, headers: { 'if-match': etag } }))
    const answers = await Promise.all(writes)
    t.same(answers.map((r) => r.statusCode).sort(), [200, 412], `round ${round}: one write, one 412`)
    const winner = answers.find((r) => r.statusCode === 200)!
    const now = await b.as('admin', { method: 'GET', url: `/v1/webhooks/${id}` })
    t.equal(now.headers.etag, winner.headers.etag, `round ${round}: the webhook is the winner's`)
  }
})

t.test('two processes: a sender that stopped answering keeps its lease until it runs out, then the other process delivers', async (t) => {
  // The first request hangs: its sender (A) holds the lease for webhookTimeoutMs + 5 s of A's clock.
  const receiver = await startReceiver((n) => n === 0 ? 'hang' : 200)
  t.teardown(() => receiver.close())
  const config = { webhookAllowPrivate: true, webhookTimeoutMs: 60_000 }
  const a = await build(t, config, { engine: 'postgres', workers: fast })
  const created = (await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: ['article.published'] } })).json()
  receiver.secret = created.secret
  await createArticle(a, { title: 'Stuck', status: 'published' })
  await receiver.waitUntil(() => receiver.received.length === 1)
  await createArticle(a, { title: 'Behind it', status: 'published' })

  // B starts on the same database while A's lease runs: it does not take the delivery, nor the one behind it.
  const b = await build(t, { ...config, postgres: { url: a.pg!.url, poolSize: 4 } }, { engine: 'postgres', workers: fast })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(receiver.received.length, 1, 'a live lease is respected, and the head blocks its queue')
  b.clock.advance(60_000)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(receiver.received.length, 1, 'still, just before it runs out (timeout + 5 s)')

  // By B's clock the lease ran out: B sends it again (the same webhook-id), then the next, in order.
  b.clock.advance(5_001)
  await receiver.waitUntil(() => receiver.received.length >= 3)
  const log = await eventLog(b)
  t.same(receiver.received.map((r) => r.id), [log[0]!.id, log[0]!.id, log[1]!.id], 'the stuck event again, then the one behind it')
  await settled(b, created.id, 2)
  const rows = await deliveries(b, created.id)
  t.match(rows, [{ status: 'succeeded', attempts: 1 }, { status: 'succeeded', attempts: 1 }], 'recorded by B; A\'s attempt never was')
  // A "dies": shut down, it aborts its attempt and gives back only leases it still holds (none).
  await a.app.close()
  t.match(await deliveries(b, created.id), rows, 'A\'s end changed nothing')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(receiver.received.length, 3, 'nothing sent twice more')
})

t.test('a fan-out never passes an event still to commit: the one after it waits for it, and both are delivered in order', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true }, { engine: 'postgres', workers: fast })
  const created = (await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: ['tag.updated', 'article.published'] } })).json()
  receiver.secret = created.secret
  // Another process's write records an event and has not committed yet.
  const other = openPgDatabase(a.pg!.url, { poolSize: 2 })
  t.teardown(() => other.$client.end())
  let commit!: () => void
  const held = new Promise<void>((resolve) => { commit = resolve })
  let recorded!: () => void
  const inFlight = new Promise<void>((resolve) => { recorded = resolve })
  const writer = other.transaction(async (tx) => {
    await outboxPg().record(tx, 'tag.updated', { slug: 'held', name: 'Held', description: null, articleCount: 0 }, a.clock.now)
    recorded()
    await held
  })
  await inFlight
  // This process writes meanwhile: its transaction waits for the held one (seq order is commit order), and
  // the fan-outs (the dispatcher's, polling all along, and one asked for here) find nothing to do.
  let wrote = false
  const write = createArticle(a, { title: 'After it', status: 'published' }).then(() => { wrote = true })
  await Promise.race([write, new Promise((resolve) => setTimeout(resolve, 1000))])
  t.equal(wrote, false, 'the later write waits for the earlier event to commit')
  t.equal(await a.app.webhooks.fanOut(a.clock.now), 0, 'a fan-out makes nothing yet')
  t.equal(receiver.received.length, 0, 'nothing delivered while the earlier event is uncommitted')
  commit()
  await writer
  await write
  await receiver.waitUntil(() => receiver.received.length >= 2)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(receiver.received.map((r) => r.event.type), ['tag.updated', 'article.published'], 'both, in the order of the log')
  t.same(receiver.received.map((r) => r.id), (await eventLog(a)).map((e) => e.id))
})

t.test('a dispatcher wakes when another process commits an event, not at its next poll', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  // Dispatchers that poll once a minute: only a wake-up can deliver within the test.
  const a = await build(t, { webhookAllowPrivate: true }, { engine: 'postgres', workers: { ...fast, pollMs: 60_000 } })
  const created = (await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: ['tag.updated'] } })).json()
  receiver.secret = created.secret
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(receiver.received.length, 0, 'nothing to deliver yet')
  // Another process (its own pool, no dispatcher of its own) records and commits an event.
  const other = openPgDatabase(a.pg!.url, { poolSize: 1 })
  t.teardown(() => other.$client.end())
  const started = Date.now()
  await other.transaction(async (tx) => {
    await outboxPg().record(tx, 'tag.updated', { slug: 'elsewhere', name: 'Elsewhere', description: null, articleCount: 0 }, a.clock.now)
  })
  await waitFor('the delivery', () => receiver.received.length === 1, 10_000)
  const ms = Date.now() - started
  t.ok(ms < 5000, `delivered ${ms} ms after the other process's commit, long before the next poll`)
  t.match(receiver.received[0]!.body, /"elsewhere"/)
})
