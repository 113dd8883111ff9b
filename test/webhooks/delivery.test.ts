// Webhook deliveries end to end: a real receiver on a local port gets every event exactly once, in order,
// signed per Standard Webhooks (verified with the `standardwebhooks` package); failures are retried with the
// same webhook-id; an endpoint failing for a day is disabled and can be re-enabled.
import t from 'tap'
import { createHmac } from 'node:crypto'
import { build, createArticle, eventLog, postComment, type TestApp, onSqlite } from '../helper.js'
import { startReceiver, type Receiver } from '../../scripts/webhook-receiver.js'
import { defaultBackoff } from '../../src/webhooks/dispatcher.js'

const ALL = ['article.published', 'article.updated', 'article.unpublished', 'comment.submitted', 'comment.approved',
  'comment.edited', 'comment.removed', 'tag.updated', 'tag.deleted']

const fast = { pollMs: 20, minIntervalMs: 0, backoff: () => 1000 }

async function register (a: TestApp, receiver: Receiver, events = ALL): Promise<{ id: number, secret: string }> {
  const res = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events, description: 'test receiver' } })
  if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`)
  const body = res.json()
  receiver.secret = body.secret
  return body
}

async function deliveries (a: TestApp, id: number, query = ''): Promise<any[]> {
  const res = await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}/deliveries?limit=100${query}` })
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json().data
}

/** Waits until the newest delivery of the webhook has recorded `attempts` attempts. */
async function attempted (a: TestApp, id: number, attempts: number, which = 0): Promise<any> {
  const until = Date.now() + 30_000
  for (;;) {
    const d = (await deliveries(a, id))[which]
    if (d !== undefined && d.attempts >= attempts) return d
    if (Date.now() > until) throw new Error(`delivery never reached ${attempts} attempts: ${JSON.stringify(d)}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Waits until the delivery is no longer pending, and returns the webhook's log. */
async function settled (a: TestApp, id: number, delivery: number): Promise<any[]> {
  const until = Date.now() + 30_000
  for (;;) {
    const log = await deliveries(a, id)
    if (log.find((d) => d.id === delivery)?.status !== 'pending') return log
    if (Date.now() > until) throw new Error(`delivery ${delivery} still pending`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

t.test('every event reaches the receiver exactly once, in order, with a valid signature', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true, commentModeration: 'none' }, { workers: fast })
  const hook = await register(a, receiver)
  t.match(hook.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'a whsec_ secret of 32 random bytes')
  t.equal(Buffer.from(hook.secret.slice(6), 'base64').length, 32)

  await createArticle(a, { title: 'Draft only', body: 'Nobody sees this.' })
  const story = await createArticle(a, { title: 'Harbour opens', status: 'published', tags: ['Ports'] })
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${story.slug}`, payload: { summary: 'Now with a summary.' } })
  const comment = (await postComment(a, story.slug, { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Welcome!' })).json()
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${comment.id}`, payload: { body: 'Welcome home!' } })
  await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${comment.id}` })
  await a.as('editor', { method: 'PATCH', url: '/v1/tags/ports', payload: { name: 'Harbours' } })
  await a.as('editor', { method: 'DELETE', url: `/v1/articles/${story.slug}` })

  const log = await eventLog(a)
  t.same(log.map((e) => e.type), [
    'article.published', 'article.updated', 'comment.submitted', 'comment.approved', 'comment.edited', 'comment.removed',
    'tag.updated', 'article.unpublished'
  ], 'the log: the draft emitted nothing')
  await receiver.waitUntil(() => receiver.received.length >= log.length)
  await new Promise((resolve) => setTimeout(resolve, 100)) // nothing more arrives
  t.same(receiver.received.map((r) => r.id), log.map((e) => e.id), 'each event once, in the order of the log, webhook-id = event id')
  t.ok(receiver.received.every((r) => r.verified === true), 'every signature verifies with the standardwebhooks package')
  t.same(receiver.received.map((r) => r.event), log, 'the body is the event as the log shows it')
  for (const r of receiver.received) {
    t.equal(r.headers['content-type'], 'application/json')
    t.match(r.headers['webhook-timestamp'], /^\d{10}$/, 'seconds since the epoch')
    t.ok(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000) < 60, 'real time, as receivers check it')
  }
  // The signature, recomputed by hand from the specification: base64 HMAC-SHA256 of "id.timestamp.body".
  const first = receiver.received[0]!
  const expected = createHmac('sha256', Buffer.from(hook.secret.slice(6), 'base64'))
    .update(`${first.id}.${String(first.headers['webhook-timestamp'])}.${first.body}`).digest('base64')
  t.equal(first.headers['webhook-signature'], `v1,${expected}`)

  // The receiver has the request before the dispatcher records its answer: wait for the newest record.
  const log2 = await settled(a, hook.id, (await deliveries(a, hook.id))[0].id)
  t.equal(log2.length, log.length, 'one delivery per event')
  t.ok(log2.every((d) => d.status === 'succeeded' && d.attempts === 1 && d.lastResponseCode === 200 && d.nextAttemptAt === null && d.lastError === null))
  t.same(log2.map((d) => d.eventId), log.map((e) => e.id).reverse(), 'the delivery log is newest first')
})

t.test('a webhook receives only the types it subscribed to, from its registration on', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true }, { workers: fast })
  await createArticle(a, { title: 'Before the webhook', status: 'published' })
  await register(a, receiver, ['article.unpublished'])
  await createArticle(a, { title: 'After the webhook', status: 'published' })
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/before-the-webhook', payload: { status: 'archived' } })
  await receiver.waitUntil(() => receiver.received.length >= 1)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(receiver.received.map((r) => [r.event.type, r.event.data]), [['article.unpublished', { slug: 'before-the-webhook' }]])
})

t.test('a receiver failing three times gets the event on the fourth try, with the same webhook-id, and later events wait', async (t) => {
  const receiver = await startReceiver((n) => n < 3 ? 503 : 200)
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true }, { workers: fast })
  const hook = await register(a, receiver)
  await createArticle(a, { title: 'First', status: 'published' })
  await createArticle(a, { title: 'Second', status: 'published' })
  for (let failures = 1; failures <= 3; failures++) {
    await attempted(a, hook.id, failures, 1)
    await new Promise((resolve) => setTimeout(resolve, 60))
    t.equal(receiver.received.length, failures, `attempt ${failures} made, the next waits for its backoff`)
    const [second, first] = await deliveries(a, hook.id)
    t.match(first, { status: 'pending', attempts: failures, lastResponseCode: 503, lastError: 'answered 503', nextAttemptAt: new Date(a.clock.now + 1000).toISOString() })
    t.match(second, { status: 'pending', attempts: 0 }, 'the second event waits behind the first')
    a.clock.advance(1000)
  }
  await receiver.waitUntil(() => receiver.received.length >= 5)
  const ids = receiver.received.map((r) => r.id)
  t.equal(new Set(ids.slice(0, 4)).size, 1, 'four tries of one event, all with the same webhook-id')
  t.not(ids[4], ids[0], 'then the second event')
  t.same(receiver.received.map((r) => r.status), [503, 503, 503, 200, 200])
  t.ok(receiver.received.every((r) => r.verified))
  // The receiver has the request before the dispatcher records its answer: wait for the record.
  const [second, first] = await settled(a, hook.id, (await deliveries(a, hook.id))[0].id)
  t.match(first, { status: 'succeeded', attempts: 4, lastResponseCode: 200, lastError: null, nextAttemptAt: null })
  t.match(second, { status: 'succeeded', attempts: 1 })
  const webhook = (await a.as('admin', { method: 'GET', url: `/v1/webhooks/${hook.id}` })).json()
  t.match(webhook, { enabled: true, failingSince: null }, 'a success ends the run of failures')
})

t.test('the default backoff: first retry within 10 s, growing exponentially with jitter, capped at an hour', async (t) => {
  const firsts = Array.from({ length: 200 }, () => defaultBackoff(1))
  t.ok(firsts.every((ms) => ms >= 3750 && ms <= 6250), `first retries between ${Math.min(...firsts)} and ${Math.max(...firsts)} ms`)
  const seconds = [1, 2, 3, 4].map((n) => Array.from({ length: 50 }, () => defaultBackoff(n)).reduce((s, x) => s + x, 0) / 50)
  t.ok(seconds[1]! > seconds[0]! * 1.5 && seconds[3]! > seconds[2]! * 1.5, 'each wait about twice the one before')
  t.ok(defaultBackoff(30) <= 3600_000 * 1.25, 'at most about an hour apart')
  const samples = new Set(Array.from({ length: 20 }, () => defaultBackoff(5)))
  t.ok(samples.size > 10, 'jittered')
})

t.test('an endpoint failing for 24 hours is disabled; re-enabled, it gets what waited', async (t) => {
  let up = false
  const receiver = await startReceiver(() => up ? 200 : 500)
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true }, { workers: { ...fast, backoff: () => 3600_000 } })
  const hook = await register(a, receiver)
  await createArticle(a, { title: 'Down all day', status: 'published' })
  await createArticle(a, { title: 'Waiting behind', status: 'published' })
  await attempted(a, hook.id, 1, 1)
  const failingSince = new Date(a.clock.now).toISOString()
  for (let hour = 1; hour < 24; hour++) {
    a.clock.advance(3600_000)
    await attempted(a, hook.id, hour + 1, 1)
  }
  t.match((await a.as('admin', { method: 'GET', url: `/v1/webhooks/${hook.id}` })).json(), { enabled: true, failingSince }, 'after 23 hours, still trying')
  a.clock.advance(3600_000)
  await attempted(a, hook.id, 25, 1)
  const disabled = (await a.as('admin', { method: 'GET', url: `/v1/webhooks/${hook.id}` })).json()
  t.match(disabled, { enabled: false, disabledAt: new Date(a.clock.now).toISOString(), disabledReason: /failing since .*answered 500/ })
  const [waiting, given] = await deliveries(a, hook.id)
  t.match(given, { status: 'failed', attempts: 25, nextAttemptAt: null }, 'given up after 24 hours')
  t.match(waiting, { status: 'pending', attempts: 0 }, 'the next event still waits')

  // While disabled, nothing is sent; new events wait.
  await createArticle(a, { title: 'While disabled', status: 'published' })
  a.clock.advance(3600_000)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(receiver.received.length, 25, 'nothing sent to a disabled endpoint')
  const retry = await a.as('admin', { method: 'POST', url: `/v1/webhooks/${hook.id}/deliveries/${waiting.id}/retry` })
  t.equal(retry.statusCode, 409, 'a waiting delivery of a disabled webhook is not retried by hand')

  up = true
  const enabled = await a.as('admin', { method: 'PATCH', url: `/v1/webhooks/${hook.id}`, payload: { enabled: true } })
  t.match(enabled.json(), { enabled: true, disabledAt: null, disabledReason: null, failingSince: null })
  await receiver.waitUntil(() => receiver.delivered().length >= 2)
  t.same(receiver.delivered().map((r) => r.event.data.slug), ['waiting-behind', 'while-disabled'],
    're-enabled, it gets what waited, and the event recorded while disabled, in order')

  // The given-up delivery can be retried by hand.
  const res = await a.as('admin', { method: 'POST', url: `/v1/webhooks/${hook.id}/deliveries/${given.id}/retry` })
  t.equal(res.statusCode, 202)
  t.match(res.json(), { eventId: given.eventId, status: 'pending', attempts: 0, nextAttemptAt: new Date(a.clock.now).toISOString() })
  t.not(res.json().id, given.id, 'a new delivery of the same event')
  await receiver.waitUntil(() => receiver.delivered().length >= 3)
  t.equal(receiver.delivered()[2]!.id, given.eventId, 'the same event, the same webhook-id')
  // The receiver has the request before the dispatcher records its answer: wait for the record.
  const log = await settled(a, hook.id, res.json().id)
  t.match(log.find((d) => d.id === given.id), { status: 'failed', attempts: 25 }, 'the log keeps the given-up delivery as it ended')
  t.match(log.find((d) => d.id === res.json().id), { status: 'succeeded', attempts: 1 })
})

t.test('ping, manual retry and rotation', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true }, { workers: fast })
  const hook = await register(a, receiver)
  const ping = await a.as('admin', { method: 'POST', url: `/v1/webhooks/${hook.id}/ping` })
  t.equal(ping.statusCode, 202)
  t.match(ping.json(), { webhookId: hook.id, eventType: 'webhook.ping', status: 'pending', attempts: 0 })
  await attempted(a, hook.id, 1)
  t.match(receiver.received[0]!.event, { type: 'webhook.ping', data: { webhookId: hook.id } })
  t.equal(receiver.received[0]!.verified, true)
  t.same(await eventLog(a), [], 'a ping is not in the event log')

  const retry = await a.as('admin', { method: 'POST', url: `/v1/webhooks/${hook.id}/deliveries/${ping.json().id}/retry` })
  t.equal(retry.statusCode, 202)
  await receiver.waitUntil(() => receiver.received.length >= 2)
  t.equal(receiver.received[1]!.id, receiver.received[0]!.id, 'redelivered with the same webhook-id')

  const old = receiver.secret!
  const rotated = await a.as('admin', { method: 'POST', url: `/v1/webhooks/${hook.id}/rotate-secret` })
  t.equal(rotated.statusCode, 200)
  const secret = rotated.json().secret as string
  t.match(secret, /^whsec_/)
  t.not(secret, old)
  await createArticle(a, { title: 'After rotation', status: 'published' })
  receiver.secret = secret
  await receiver.waitUntil(() => receiver.received.length >= 3)
  const signed = receiver.received[2]!
  t.equal(signed.verified, true, 'verifies with the new secret')
  t.match(signed.headers['webhook-signature'], /^v1,\S+ v1,\S+$/, 'two signatures during the overlap')
  receiver.secret = old
  a.clock.advance(23 * 3600_000)
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/after-rotation', payload: { title: 'Still overlapping' } })
  await receiver.waitUntil(() => receiver.received.length >= 4)
  t.equal(receiver.received[3]!.verified, true, 'the old secret still verifies for a day')
  a.clock.advance(3600_000)
  receiver.secret = secret
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/after-rotation', payload: { title: 'After the overlap' } })
  await receiver.waitUntil(() => receiver.received.length >= 5)
  t.match(receiver.received[4]!.headers['webhook-signature'], /^v1,\S+$/, 'then only the new secret signs')
  t.equal(receiver.received[4]!.verified, true)
})

t.test('a slow receiver times out, a redirect is not followed, and neither slows a request', async (t) => {
  const elsewhere = await startReceiver()
  t.teardown(() => elsewhere.close())
  const receiver = await startReceiver((n) => n === 0 ? 'hang' : { status: 307, headers: { location: elsewhere.url } })
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true, webhookTimeoutMs: 300 }, { workers: fast })
  const hook = await register(a, receiver)
  const started = Date.now()
  await createArticle(a, { title: 'Slow receiver', status: 'published' })
  t.ok(Date.now() - started < 2000, 'the write answered without waiting for the receiver')
  await receiver.waitUntil(() => receiver.received.length >= 1)
  const d = await attempted(a, hook.id, 1)
  t.match(d, { status: 'pending', attempts: 1, lastResponseCode: null, lastError: /within 300 ms/ })
  a.clock.advance(1000)
  const d2 = await attempted(a, hook.id, 2)
  t.match(d2, { status: 'pending', attempts: 2, lastResponseCode: 307, lastError: /redirect not followed/ })
  t.equal(elsewhere.received.length, 0, 'the redirect target got nothing')
})

t.test('webhook routes: validation, ETags, If-Match, admins only, secrets never shown again', onSqlite, async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true }, { workers: fast })
  const created = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: ['tag.updated'] } })
  t.equal(created.statusCode, 201)
  const id = created.json().id
  t.equal(created.headers.location, `/v1/webhooks/${id}`)
  t.match(created.json(), { id: Number, url: receiver.url, events: ['tag.updated'], description: null, enabled: true, disabledAt: null, failingSince: null })
  const got = await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}` })
  t.equal(got.headers.etag, created.headers.etag, 'the 201 carries the ETag of the webhook as read')
  t.notOk('secret' in got.json(), 'never shown again')
  const list = await a.as('admin', { method: 'GET', url: '/v1/webhooks?include=total' })
  t.match(list.json(), { data: [{ id }], page: { total: 1, nextCursor: null } })
  t.notOk(list.body.includes('whsec_'))
  const stored = a.app.db.$client.prepare('SELECT secret FROM webhooks').pluck().get() as string
  t.notOk(stored.includes(created.json().secret.slice(6)), 'stored encrypted')
  t.match(stored, /^v1\.[0-9a-f]{8}\./)

  for (const [payload, pointer] of [
    [{ url: receiver.url, events: [] }, '/events'],
    [{ url: receiver.url, events: ['article.deleted'] }, '/events/0'],
    [{ url: receiver.url, events: ['tag.updated', 'tag.updated'] }, '/events'],
    [{ url: 'ftp://example.com/x', events: ['tag.updated'] }, '/url'],
    [{ url: 'https://user:pw@example.com/x', events: ['tag.updated'] }, '/url'],
    [{ url: 'not a url', events: ['tag.updated'] }, '/url'],
    [{ url: receiver.url, events: ['tag.updated'], secret: 'whsec_x' }, '']
  ] as const) {
    const res = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload })
    t.equal(res.statusCode, 422, JSON.stringify(payload))
    t.ok(res.json().errors.some((e: { pointer: string }) => e.pointer.startsWith(pointer)), `${JSON.stringify(payload)}: ${res.body}`)
  }
  for (const role of ['editor', 'moderator'] as const) {
    t.equal((await a.as(role, { method: 'GET', url: '/v1/webhooks' })).statusCode, 403)
    t.equal((await a.as(role, { method: 'GET', url: '/v1/events' })).statusCode, 403)
  }
  t.equal((await a.inject({ method: 'GET', url: '/v1/events' })).statusCode, 401)

  const stale = await a.as('admin', { method: 'PATCH', url: `/v1/webhooks/${id}`, headers: { 'if-match': '"stale"' }, payload: { enabled: false } })
  t.equal(stale.statusCode, 412)
  const off = await a.as('admin', { method: 'PATCH', url: `/v1/webhooks/${id}`, headers: { 'if-match': String(got.headers.etag) }, payload: { enabled: false, description: 'paused' } })
  t.match(off.json(), { enabled: false, description: 'paused', disabledReason: 'disabled by an admin', disabledAt: String })
  t.equal((await a.as('admin', { method: 'POST', url: `/v1/webhooks/${id}/rotate-secret`, headers: { 'if-match': '"stale"' } })).statusCode, 412)
  t.equal((await a.as('admin', { method: 'GET', url: '/v1/webhooks/999' })).statusCode, 404)
  t.equal((await a.as('admin', { method: 'POST', url: `/v1/webhooks/${id}/deliveries/999/retry` })).statusCode, 404)
  t.equal((await a.as('admin', { method: 'DELETE', url: `/v1/webhooks/${id}` })).statusCode, 204)
  t.equal((await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}` })).statusCode, 404)
})

t.test('a replayed POST shows the secret as null', onSqlite, async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true }, { workers: fast })
  const send = () => a.as('admin', { method: 'POST', url: '/v1/webhooks', headers: { 'idempotency-key': 'hook-1' }, payload: { url: receiver.url, events: ['tag.updated'] } })
  const first = await send()
  t.equal(first.statusCode, 201)
  t.match(first.json().secret, /^whsec_/)
  const again = await send()
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.json().id, first.json().id, 'no second webhook')
  t.equal(again.json().secret, null, 'the secret is not replayed (nor stored in the idempotency record)')
  const rotate = () => a.as('admin', { method: 'POST', url: `/v1/webhooks/${first.json().id}/rotate-secret`, headers: { 'idempotency-key': 'rotate-1' } })
  const rotated = await rotate()
  t.match(rotated.json().secret, /^whsec_/)
  const rotatedAgain = await rotate()
  t.equal(rotatedAgain.headers['idempotent-replayed'], 'true', 'no second rotation')
  t.equal(rotatedAgain.json().secret, null)
  const records = a.app.db.$client.prepare('SELECT body FROM idempotency_keys').pluck().all() as string[]
  t.notOk(records.some((b) => b.includes(first.json().secret) || b.includes(rotated.json().secret)), 'no idempotency record holds a secret')
})
