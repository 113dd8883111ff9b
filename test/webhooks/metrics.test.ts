// Webhook deliveries in /metrics (METRICS=true): each attempt counted by outcome
// (gazette_webhook_deliveries_total), and the backlog of enabled webhooks read at each scrape
// (gazette_webhook_backlog_deliveries, gazette_webhook_backlog_oldest_age_seconds).
import t from 'tap'
import { build, createArticle, metric, scrape, type TestApp } from '../helper.js'
import { startReceiver, type Receiver } from '../../scripts/webhook-receiver.js'

async function register (a: TestApp, receiver: Receiver): Promise<number> {
  const res = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: ['article.published'] } })
  if (res.statusCode !== 201) throw new Error(res.body)
  return res.json().id
}

async function deliveries (a: TestApp, id: number): Promise<{ status: string, attempts: number }[]> {
  return (await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}/deliveries` })).json().data
}

async function until (what: string, predicate: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!await predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const backlog = async (a: TestApp) => {
  const m = await scrape(a)
  return {
    waiting: metric(m, 'gazette_webhook_backlog_deliveries'),
    age: metric(m, 'gazette_webhook_backlog_oldest_age_seconds'),
    delivered: metric(m, 'gazette_webhook_deliveries_total', { outcome: 'delivered' }),
    failed: metric(m, 'gazette_webhook_deliveries_total', { outcome: 'failed' }),
    gaveUp: metric(m, 'gazette_webhook_deliveries_total', { outcome: 'gave-up' })
  }
}

t.test('attempts by outcome, and the backlog: how many deliveries wait and for how long', async (t) => {
  const receiver = await startReceiver((n) => n === 0 ? 503 : 200)
  t.teardown(() => receiver.close())
  // Retries a second later by the app's clock, which stands still until the test moves it.
  const a = await build(t, { metrics: true, webhookAllowPrivate: true }, { workers: { pollMs: 20, minIntervalMs: 0, backoff: () => 1000 } })
  t.same(await backlog(a), { waiting: 0, age: 0, delivered: 0, failed: 0, gaveUp: 0 }, 'nothing yet')
  const id = await register(a, receiver)
  await createArticle(a, { title: 'First', status: 'published' })
  await createArticle(a, { title: 'Second', status: 'published' })
  await until('the first attempt', async () => (await deliveries(a, id)).some((d) => d.attempts === 1))
  // On PostgreSQL an event becomes a delivery when a dispatcher fans it out, not in the write itself.
  await until('both queued', async () => (await deliveries(a, id)).length === 2)
  a.clock.advance(30_000)
  t.same(await backlog(a), { waiting: 2, age: 30, delivered: 0, failed: 1, gaveUp: 0 },
    'the first failed and waits for its retry, the second waits behind it; the oldest was queued 30 s ago')

  await until('both delivered', () => receiver.delivered().length === 2)
  await until('the deliveries recorded', async () => (await deliveries(a, id)).every((d) => d.status === 'succeeded'))
  t.same(await backlog(a), { waiting: 0, age: 0, delivered: 2, failed: 1, gaveUp: 0 }, 'the backlog drained')
})

t.test('a delivery given up is counted; a disabled webhook\'s waiting deliveries are not backlog', async (t) => {
  const receiver = await startReceiver(() => 503)
  t.teardown(() => receiver.close())
  // Failing for 0 ms is failing too long: the first failure gives up and disables the webhook.
  const a = await build(t, { metrics: true, webhookAllowPrivate: true }, { workers: { pollMs: 20, minIntervalMs: 0, disableAfterMs: 0 } })
  const id = await register(a, receiver)
  await createArticle(a, { title: 'First', status: 'published' })
  await createArticle(a, { title: 'Second', status: 'published' })
  await until('the webhook disabled', async () => (await a.as('admin', { method: 'GET', url: `/v1/webhooks/${id}` })).json().enabled === false)
  // The second event is a delivery if a fan-out reached it before the webhook was disabled: on SQLite the
  // dispatcher's first round sees both; on PostgreSQL it wakes on the first commit and may not.
  t.match((await deliveries(a, id)).map((d) => d.status).join(' '), /^(pending )?failed$/, 'one given up, the other (if queued) still waiting')
  t.same(await backlog(a), { waiting: 0, age: 0, delivered: 0, failed: 0, gaveUp: 1 }, 'waiting on a disabled webhook is not backlog to alert on')
})
