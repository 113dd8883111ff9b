// Webhook endpoints and their delivery logs (admins only).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Conflict, NotFound } from '../http/errors.js'
import { writeIfMatch } from '../http/conditional.js'
import { ConditionalHeaders, WriteHeaders } from '../http/headers.js'
import { cursorKey } from '../http/cursor.js'
import { queryFingerprint, toPage } from '../http/pagination.js'
import { NoContent, NotModified, problems, ref } from '../http/schemas.js'
import { toDelivery, toWebhook, type WebhookRow } from './repository.js'
import {
  CreateWebhookBody, Delivery, DeliveryList, DeliveryListQuery, DeliveryParams, UpdateWebhookBody, Webhook,
  WebhookIdParams, WebhookList, WebhookListQuery, WebhookWithSecret
} from './schemas.js'

const SIGNING = 'Deliveries are POSTed per Standard Webhooks: `webhook-id` (the event id), `webhook-timestamp` and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with the secret\'s bytes), so any Standard Webhooks library verifies them.'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  async function load (id: number): Promise<WebhookRow> {
    const row = await app.webhooks.findById(id)
    if (!row) throw new NotFound(`No webhook ${id}.`)
    return row
  }

  /** The If-Match steps of a write to the webhook `id` (src/http/conditional.ts, writeIfMatch): its ETag is the Webhook's. */
  const guarded = (reply: FastifyReply, id: number) => ({
    load: () => load(id),
    etag: (row: WebhookRow) => reply.etagOf(toWebhook(row), 'Webhook')
  })

  /** A webhook with its new secret; the ETag names the webhook as it is read from now on. */
  function sendWithSecret (reply: FastifyReply, row: WebhookRow, secret: string, status: number) {
    const webhook = toWebhook(row)
    return reply.represent({ ...webhook, secret }, { status, etagOf: { body: webhook, as: 'Webhook' } })
  }

  app.post('/webhooks', {
    config: { role: 'admin', shownOnce: ['secret'] },
    schema: {
      tags: ['webhooks'],
      operationId: 'createWebhook',
      summary: 'Register a webhook',
      description: [
        'Events of the chosen types recorded from now on are delivered to `url`. The response carries the signing `secret`, shown this once (Gazette stores it encrypted: it must sign with it).',
        SIGNING,
        'The URL must be http(s) without credentials, on a public address: a loopback, private, link-local or otherwise non-public address, or a host name resolving to one, is a 422 unless the server runs with `WEBHOOK_ALLOW_PRIVATE=true`; the address actually connected to is checked again at every delivery.'
      ].join('\n\n'),
      body: ref(CreateWebhookBody),
      response: {
        201: { ...ref(WebhookWithSecret), headers: { location: { type: 'string', description: 'The webhook\'s URL.' }, etag: { type: 'string', description: 'The ETag of the webhook (without its secret).' } } },
        ...problems(400, 413, 415, 422)
      }
    }
  }, async (request, reply) => {
    const { row, secret } = await app.webhookService.create(request.body)
    reply.header('location', `/v1/webhooks/${row.id}`)
    return sendWithSecret(reply, row, secret, 201)
  })

  app.get('/webhooks', {
    config: { role: 'admin' },
    schema: {
      tags: ['webhooks'],
      operationId: 'listWebhooks',
      summary: 'List webhooks',
      description: 'Oldest first, without secrets.',
      querystring: WebhookListQuery,
      headers: ConditionalHeaders,
      response: { 200: ref(WebhookList), 304: NotModified, ...problems(412, 422) }
    }
  }, async (request, reply) => {
    const q = request.query
    const limit = q.limit ?? 20
    const fingerprint = queryFingerprint('webhooks', q)
    const key = cursorKey(q.cursor, fingerprint, ['row'])
    const rows = await app.webhooks.list({ afterId: key?.[0], limit })
    const total = q.include === 'total' ? await app.webhooks.count() : undefined
    return reply.represent(toPage(request, reply, rows, { limit, fingerprint, total, keyOf: (row) => [row.id], map: toWebhook }))
  })

  app.get('/webhooks/:id', {
    config: { role: 'admin' },
    schema: {
      tags: ['webhooks'],
      operationId: 'getWebhook',
      summary: 'Get a webhook',
      description: 'Without its secret. `enabled: false` with a `disabledReason` after 24 hours of failed deliveries; `PATCH {"enabled": true}` re-enables it.',
      params: WebhookIdParams,
      headers: ConditionalHeaders,
      response: { 200: ref(Webhook), 304: NotModified, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => reply.represent(toWebhook(await load(request.params.id))))

  app.patch('/webhooks/:id', {
    config: { role: 'admin' },
    schema: {
      tags: ['webhooks'],
      operationId: 'updateWebhook',
      summary: 'Change, disable or re-enable a webhook',
      description: 'Merge semantics. `{"enabled": true}` re-enables a disabled webhook: its failure count starts again and the deliveries waiting for it go out at once, oldest first (events recorded while it was disabled included, as long as they are kept). A new `url` is checked like on registration. With `If-Match`, a stale ETag is a 412 and nothing changes.',
      params: WebhookIdParams,
      headers: WriteHeaders,
      body: ref(UpdateWebhookBody),
      response: { 200: ref(Webhook), ...problems(400, 404, 409, 412, 413, 415, 422) }
    }
  }, async (request, reply) => {
    const { before, row } = await writeIfMatch(request, {
      ...guarded(reply, request.params.id),
      write: async (current, unchanged) => ({ before: current, row: await app.webhookService.update(current, request.body, unchanged) })
    })
    if (row.enabled && !before.enabled) app.webhookDispatcher.kick()
    return reply.represent(toWebhook(row))
  })

  app.delete('/webhooks/:id', {
    config: { role: 'admin' },
    schema: {
      tags: ['webhooks'],
      operationId: 'deleteWebhook',
      summary: 'Delete a webhook',
      description: 'With its delivery log; nothing more is sent to it. With `If-Match`, a stale ETag is a 412 and nothing is deleted.',
      params: WebhookIdParams,
      headers: WriteHeaders,
      response: { 204: NoContent, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => {
    await writeIfMatch(request, {
      ...guarded(reply, request.params.id),
      write: (current, unchanged) => app.webhooks.delete(current, unchanged)
    })
    return reply.code(204).send()
  })

  app.post('/webhooks/:id/rotate-secret', {
    config: { role: 'admin', shownOnce: ['secret'] },
    schema: {
      tags: ['webhooks'],
      operationId: 'rotateWebhookSecret',
      summary: 'Rotate a webhook\'s signing secret',
      description: 'A new secret, shown in this response only. For 24 hours deliveries carry two signatures (`v1,<new> v1,<old>`), so a receiver can switch to the new secret without rejecting anything; then only the new one signs. With `If-Match`, a stale ETag is a 412 and nothing changes.',
      params: WebhookIdParams,
      headers: WriteHeaders,
      response: { 200: ref(WebhookWithSecret), ...problems(404, 409, 412, 422) }
    }
  }, async (request, reply) => {
    const { row, secret } = await writeIfMatch(request, {
      ...guarded(reply, request.params.id),
      write: (current, unchanged) => app.webhookService.rotateSecret(current, unchanged)
    })
    return sendWithSecret(reply, row, secret, 200)
  })

  app.post('/webhooks/:id/ping', {
    config: { role: 'admin' },
    schema: {
      tags: ['webhooks'],
      operationId: 'pingWebhook',
      summary: 'Send a test event',
      description: 'Queues a `webhook.ping` event for this webhook only (it is not in the event log) and answers at once: follow the returned delivery in the delivery log. A ping does not wait behind undelivered events, and is sent to a disabled webhook too (once, without retries), to test it before re-enabling.',
      params: WebhookIdParams,
      response: { 202: { ...ref(Delivery), description: 'Accepted: the ping\'s delivery, pending.' }, ...problems(404, 422) }
    }
  }, async (request, reply) => {
    const webhook = await load(request.params.id)
    const delivery = await app.webhooks.ping(webhook.id, app.clock())
    app.webhookDispatcher.kick()
    return reply.code(202).send(toDelivery(delivery))
  })

  app.get('/webhooks/:id/deliveries', {
    config: { role: 'admin' },
    schema: {
      tags: ['webhooks'],
      operationId: 'listWebhookDeliveries',
      summary: 'A webhook\'s delivery log',
      description: 'Newest first: each delivery\'s status, attempts, last response code or error, and next try. Filter by `status`. Kept as long as their events (`EVENT_RETENTION_DAYS`).',
      params: WebhookIdParams,
      querystring: DeliveryListQuery,
      headers: ConditionalHeaders,
      response: { 200: ref(DeliveryList), 304: NotModified, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => {
    const webhook = await load(request.params.id)
    const q = request.query
    const limit = q.limit ?? 20
    const fingerprint = queryFingerprint(`webhooks/${webhook.id}/deliveries`, q)
    const key = cursorKey(q.cursor, fingerprint, ['int'])
    const rows = await app.webhooks.deliveries(webhook.id, { beforeId: key?.[0], limit, status: q.status })
    return reply.represent(toPage(request, reply, rows, { limit, fingerprint, keyOf: (row) => [row.id], map: toDelivery }))
  })

  app.post('/webhooks/:id/deliveries/:deliveryId/retry', {
    config: { role: 'admin' },
    schema: {
      tags: ['webhooks'],
      operationId: 'retryWebhookDelivery',
      summary: 'Retry a delivery now',
      description: 'A pending delivery is tried now, keeping its place in the order (one being attempted at this moment is left to finish). A finished one (succeeded or failed) is sent again as a new delivery of the same event (same `webhook-id`), returned here, retried like any other but without waiting behind newer deliveries; the log keeps the first one as it ended. 409 when the webhook is disabled and the delivery is waiting in its queue (re-enable the webhook instead).',
      params: DeliveryParams,
      response: { 202: { ...ref(Delivery), description: 'Accepted: the delivery that will carry the retry, due now.' }, ...problems(404, 409, 422) }
    }
  }, async (request, reply) => {
    const webhook = await load(request.params.id)
    const delivery = await app.webhooks.findDelivery(webhook.id, request.params.deliveryId)
    if (!delivery) throw new NotFound(`Webhook ${webhook.id} has no delivery ${request.params.deliveryId}.`)
    if (!webhook.enabled && delivery.status === 'pending' && delivery.ordered) {
      throw new Conflict('The webhook is disabled: its pending deliveries go out when it is enabled again (PATCH {"enabled": true}).')
    }
    const retried = await app.webhooks.retryDelivery(delivery, app.clock())
    app.webhookDispatcher.kick()
    return reply.code(202).send(toDelivery(retried))
  })
}

export default routes
