// Webhooks: the service the routes use and the background dispatcher, started once the app is ready and
// stopped before the database closes.
import fp from 'fastify-plugin'
import { defaultBackoff, startDispatcher, type Dispatcher, type DispatcherOptions } from './dispatcher.js'
import { systemResolver } from './address.js'
import { webhookSender } from './sender.js'
import { openSecretBox, webhookService, type WebhookService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance {
    webhookService: WebhookService
    webhookDispatcher: Dispatcher
  }
}

const DAY = 24 * 60 * 60 * 1000

export type WebhookOptions = Partial<DispatcherOptions>

export default fp<WebhookOptions>(async (app, given) => {
  const { config } = app
  const opts: DispatcherOptions = {
    pollMs: 1000,
    leaseMs: config.webhookTimeoutMs + 5000,
    minIntervalMs: 5,
    backoff: defaultBackoff,
    disableAfterMs: DAY,
    resolver: systemResolver,
    ...given
  }
  const box = await openSecretBox(config.webhookEncryptionKey, app.settings, app.webhooks)
  app.decorate('webhookService', webhookService(app.webhooks, { allowPrivate: config.webhookAllowPrivate, resolver: opts.resolver, box, now: app.clock }))

  const sender = webhookSender({ timeoutMs: config.webhookTimeoutMs, allowPrivate: config.webhookAllowPrivate, resolver: opts.resolver })
  const dispatcher = startDispatcher(app, sender, opts)
  app.decorate('webhookDispatcher', dispatcher)
  app.onEventsRecorded(dispatcher.kick)
  // Read at each scrape when METRICS=true (nothing otherwise).
  app.addMetricGauge({
    name: 'gazette_webhook_backlog_deliveries',
    help: 'Webhook deliveries waiting to be sent (enabled webhooks: new, or failed and waiting for a retry).',
    read: async () => (await app.webhooks.backlog()).pending
  })
  app.addMetricGauge({
    name: 'gazette_webhook_backlog_oldest_age_seconds',
    help: 'How long the oldest waiting webhook delivery has waited, in seconds (0 when none waits).',
    read: async () => {
      const { oldest } = await app.webhooks.backlog()
      return oldest === null ? 0 : Math.max(0, app.clock() - oldest) / 1000
    }
  })
  app.addHook('onReady', async () => { dispatcher.kick() })
  app.addHook('preClose', async () => { await dispatcher.stop() })
}, { name: 'webhooks', dependencies: ['repositories', 'metrics'] })
