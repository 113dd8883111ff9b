// The webhook dispatcher: turns the event log into signed deliveries, in the background, so that no request
// ever waits for a receiver. A request's transaction only appends its events (src/events/outbox.ts); after
// it commits, the outbox wakes the dispatcher, which
//   1. fans the new events out into pending deliveries, one queue per webhook (repository.ts),
//   2. leases what may go now: the head of each queue (one at a time per webhook, so in event order), plus
//      pings and out-of-turn retries, in one immediate transaction (another process cannot lease them too),
//   3. sends each (sender.ts) and records the outcome: done, retried later with exponential backoff and
//      jitter, or, after 24 hours of failures, given up with the webhook disabled; then goes on with the
//      next delivery of that webhook.
// It also looks every `pollMs` for work nobody woke it for: retries coming due, writes by another process,
// leases left by a process that died. On shutdown it aborts what it is sending and gives the leases back,
// so undelivered events go out on the next start (at least once: a receiver may see an event again, with
// the same webhook-id).
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { FastifyInstance } from 'fastify'
import { eventJson } from '../events/repository.js'
import { publish, webhookDelivery, type WebhookDeliveryMessage } from '../observability/channels.js'
import type { Resolver } from './address.js'
import type { ClaimedDelivery, RetryPolicy } from './repository.js'
import type { AttemptResult, WebhookSender } from './sender.js'

const SECOND = 1000
const HOUR = 60 * 60 * SECOND

export interface DispatcherOptions extends RetryPolicy {
  /** The longest the dispatcher sleeps before looking for work (ms of real time). */
  pollMs: number
  /** How long a leased delivery stays with its sender before another process may take it over. */
  leaseMs: number
  /** The shortest time between two rounds when writes keep waking it (ms): deliveries batch up under load. */
  minIntervalMs: number
  /** DNS for deliveries and registrations (tests pass a fake one). */
  resolver: Resolver
}

/**
 * Exponential backoff with jitter: 5 s after the first failure, doubling up to an hour apart, each ±25% at
 * random so that receivers coming back up are not hit by every retry at once. About 30 attempts in 24 hours.
 */
export function defaultBackoff (failures: number): number {
  const base = Math.min(HOUR, 5 * SECOND * 2 ** Math.max(0, failures - 1))
  return Math.round(base * (0.75 + Math.random() * 0.5))
}

export interface Dispatcher {
  /** Look for work now (after a write, a ping, a retry, a re-enabled webhook). */
  kick: () => void
  /** Stop: abort what is being sent and give its leases back. */
  stop: () => Promise<void>
}

export function startDispatcher (app: FastifyInstance, sender: WebhookSender, opts: DispatcherOptions): Dispatcher {
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  const sending = new Map<number, { webhookId: number, ordered: boolean, abort: AbortController, done: Promise<void> }>()
  let timer: NodeJS.Timeout | undefined
  let timerDue = Infinity
  let running = false
  let again = false
  let closing = false
  let lastRound = 0

  function schedule (ms: number): void {
    if (closing) return
    const due = Date.now() + ms
    if (timer !== undefined && timerDue <= due) return
    clearTimeout(timer)
    timerDue = due
    timer = setTimeout(round, ms).unref()
  }

  function kick (): void {
    if (running) { again = true; return }
    schedule(Math.max(0, lastRound + opts.minIntervalMs - Date.now()))
  }

  async function round (): Promise<void> {
    timer = undefined
    timerDue = Infinity
    if (closing || running) return
    running = true
    lastRound = Date.now()
    try {
      again = true
      // Woken again while at it (`again`): go round once more rather than wait for the timer.
      while (again) {
        again = false
        if (closing || !await app.webhooks.any()) break
        const now = app.clock()
        await app.webhooks.fanOut(now)
        const busy = new Set([...sending.values()].filter((s) => s.ordered).map((s) => s.webhookId))
        for (const d of await app.webhooks.claim(now, owner, opts.leaseMs, busy)) send(d)
      }
    } catch (err) {
      app.log.error({ err }, 'webhook dispatcher round failed; trying again')
    } finally {
      running = false
      schedule(opts.pollMs)
    }
  }

  function send (d: ClaimedDelivery): void {
    const abort = new AbortController()
    const done = (async () => {
      let result: AttemptResult
      try {
        const keys = app.webhookService.signingKeys(d, app.clock())
        result = await sender.send({ url: d.url, eventId: d.event.id, body: eventJson(d.event), keys }, abort.signal)
      } catch (err) {
        result = { ok: false, statusCode: null, error: `not sent: ${(err as Error).message}` }
      }
      sending.delete(d.id)
      if (abort.signal.aborted) return // shutting down: stop() gives the lease back
      if (!result.ok) app.log.warn({ webhook: d.webhookId, delivery: d.id, event: d.event.id, error: result.error }, 'webhook delivery failed')
      let next: ClaimedDelivery | undefined
      try {
        const recorded = await app.webhooks.complete(d, result, owner, app.clock(), opts)
        next = recorded.next
        // For gazette_webhook_deliveries_total (src/observability/prometheus.ts).
        if (recorded.outcome !== undefined) publish<WebhookDeliveryMessage>(webhookDelivery, { outcome: recorded.outcome })
      } catch (err) {
        app.log.error({ err, delivery: d.id }, 'recording a webhook delivery failed; its lease will run out and it will be sent again')
      }
      // The queue's next delivery was leased with this outcome: straight on with it.
      if (next !== undefined && !closing) send(next)
      else if (next !== undefined) await app.webhooks.release([next.id], owner)
      else kick()
    })()
    sending.set(d.id, { webhookId: d.webhookId, ordered: d.ordered, abort, done })
  }

  return {
    kick,
    async stop () {
      closing = true
      clearTimeout(timer)
      const inFlight = [...sending.entries()]
      for (const [, s] of inFlight) s.abort.abort()
      await Promise.allSettled(inFlight.map(([, s]) => s.done))
      if (inFlight.length > 0) {
        await app.webhooks.release(inFlight.map(([id]) => id), owner)
        app.log.info({ deliveries: inFlight.length }, 'webhook deliveries in flight left for the next start')
      }
      sender.close()
    }
  }
}
