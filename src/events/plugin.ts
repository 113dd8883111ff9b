// The event log's background work: the publication scheduler and retention.
//
// Scheduler: a scheduled article becomes public when its time comes, with no write to notice it. A timer
// set to the next due publication (read from the database, capped at `pollMs` so that a publication scheduled
// by another process is seen too) announces it (article.published, see src/articles/announcements.ts);
// at start, before the server takes requests, every publication that came due while it was down is
// announced. The claim is in the same transaction as the event, so two processes on one database
// announce each publication once.
//
// Retention: events (and with them webhook deliveries) older than EVENT_RETENTION_DAYS are deleted at start
// and every hour, in small batches.
import fp from 'fastify-plugin'

const DAY = 24 * 60 * 60 * 1000
const RETENTION_INTERVAL_MS = 60 * 60 * 1000

export interface SchedulerOptions {
  /** The longest the scheduler sleeps before looking again (ms of real time). */
  pollMs: number
}

export default fp<SchedulerOptions>(async (app, opts) => {
  let timer: NodeJS.Timeout | undefined
  let retention: NodeJS.Timeout | undefined
  let closing = false

  /** Announces everything due; false when it failed (logged), to be tried again on the next tick. */
  async function announceDue (): Promise<void> {
    const now = app.clock()
    for (;;) {
      if (closing || await app.articles.announceDuePublications(now) === 0) return
      // There may be more (a batch at a time); let requests through in between.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  async function tick (): Promise<void> {
    timer = undefined
    if (closing) return
    try {
      await announceDue()
      if (closing) return
      const next = await app.articles.nextScheduledPublication()
      const wait = next === null ? opts.pollMs : Math.min(opts.pollMs, Math.max(0, next - app.clock()))
      if (!closing) timer = setTimeout(tick, wait).unref()
    } catch (err) {
      app.log.error({ err }, 'announcing scheduled publications failed; trying again')
      if (!closing) timer = setTimeout(tick, opts.pollMs).unref()
    }
  }

  async function expire (): Promise<void> {
    if (closing) return
    try {
      const deleted = await app.events.purge(app.clock() - app.config.eventRetentionDays * DAY)
      if (deleted > 0) app.log.info({ deleted }, 'expired events and their webhook deliveries')
    } catch (err) {
      app.log.error({ err }, 'expiring old events failed')
    }
  }

  app.addHook('onReady', async () => {
    await announceDue()
    await expire()
    timer = setTimeout(tick, 0).unref()
    retention = setInterval(() => { expire().catch(() => {}) }, RETENTION_INTERVAL_MS).unref()
  })

  app.addHook('preClose', async () => {
    closing = true
    clearTimeout(timer)
    clearInterval(retention)
  })
}, { name: 'event-log', dependencies: ['repositories'] })
