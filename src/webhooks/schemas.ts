import { Type, type Static } from 'typebox'
import { Cursor, IncludeTotal, Limit, Nullable, PageInfo, RowId, StringEnum, Timestamp, ref } from '../http/schemas.js'
import { EVENT_ID_EXAMPLE, EVENT_TYPES, EventId, EventTypeSchema, PING } from '../events/schemas.js'

const WebhookUrl = Type.String({
  minLength: 1,
  maxLength: 2000,
  format: 'uri',
  description: 'Where deliveries are POSTed: an http or https URL on a public address (loopback, private, link-local and other non-public addresses are refused unless the server runs with `WEBHOOK_ALLOW_PRIVATE=true`). Redirects are not followed.',
  examples: ['https://hooks.news.example/gazette']
})

const Subscriptions = Type.Array(ref(EventTypeSchema), {
  minItems: 1,
  uniqueItems: true,
  description: 'The event types to deliver.',
  examples: [['article.published', 'article.updated', 'article.unpublished']]
})

const Description = Nullable(Type.String({ maxLength: 500, examples: ['Purge the CDN'] }))

const webhookExample = {
  id: 3,
  url: 'https://hooks.news.example/gazette',
  events: ['article.published', 'article.updated', 'article.unpublished'],
  description: 'Purge the CDN',
  enabled: true,
  disabledAt: null,
  disabledReason: null,
  failingSince: null,
  createdAt: '2026-07-08T09:15:00.000Z',
  updatedAt: '2026-07-08T09:15:00.000Z'
}

const webhookFields = {
  id: Type.Integer({ examples: [3] }),
  url: WebhookUrl,
  events: Subscriptions,
  description: Description,
  enabled: Type.Boolean({ description: 'Disabled endpoints receive nothing; new events wait and are delivered when it is enabled again (within the retention).' }),
  disabledAt: Nullable(Timestamp),
  disabledReason: Nullable(Type.String({ description: 'Why it was disabled: by an admin, or after 24 hours of failed deliveries.' })),
  failingSince: Nullable({ ...Timestamp, description: 'When the current run of failed attempts began; null while deliveries succeed. After 24 hours of failures the webhook is disabled.' } as typeof Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp
}

export const Webhook = Type.Object(webhookFields, {
  $id: 'Webhook',
  title: 'Webhook',
  description: 'An endpoint that receives events, signed per Standard Webhooks. The secret is never shown again after creation (or rotation).',
  additionalProperties: false,
  examples: [webhookExample]
})
export type Webhook = Static<typeof Webhook>

const SECRET_EXAMPLE = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7GfN2Fkpuc0='

export const WebhookWithSecret = Type.Object({
  ...webhookFields,
  secret: Nullable(Type.String({
    pattern: '^whsec_[A-Za-z0-9+/]{43}=$',
    description: 'The signing secret, `whsec_` + base64 of 32 random bytes, as Standard Webhooks libraries take it. Shown in this response only (stored encrypted); `null` when this response is replayed for a repeated `Idempotency-Key`.',
    examples: [SECRET_EXAMPLE]
  }))
}, {
  $id: 'WebhookWithSecret',
  title: 'WebhookWithSecret',
  description: 'A webhook with its new signing secret, shown once.',
  additionalProperties: false,
  examples: [{ ...webhookExample, secret: SECRET_EXAMPLE }]
})
export type WebhookWithSecret = Static<typeof WebhookWithSecret>

export const WebhookList = Type.Object({
  data: Type.Array(ref(Webhook)),
  page: ref(PageInfo)
}, { $id: 'WebhookList', title: 'WebhookList', additionalProperties: false })

export const CreateWebhookBody = Type.Object({
  url: WebhookUrl,
  events: Subscriptions,
  description: Type.Optional(Description)
}, {
  $id: 'CreateWebhook',
  title: 'CreateWebhook',
  additionalProperties: false,
  examples: [{ url: 'https://hooks.news.example/gazette', events: ['article.published', 'article.updated', 'article.unpublished'], description: 'Purge the CDN' }]
})
export type CreateWebhookInput = Static<typeof CreateWebhookBody>

export const UpdateWebhookBody = Type.Object({
  url: Type.Optional(WebhookUrl),
  events: Type.Optional(Subscriptions),
  description: Type.Optional(Description),
  enabled: Type.Optional(Type.Boolean({ description: '`true` re-enables a disabled webhook (its failure count starts again and waiting deliveries go out at once); `false` disables it.' }))
}, {
  $id: 'UpdateWebhook',
  title: 'UpdateWebhook',
  description: 'Any subset of the fields. A new `events` list applies to events recorded from now on.',
  additionalProperties: false,
  examples: [{ enabled: true }]
})
export type UpdateWebhookInput = Static<typeof UpdateWebhookBody>

const WebhookId = RowId('The webhook id, in plain decimal digits.')

export const WebhookIdParams = Type.Object({
  id: WebhookId
}, { additionalProperties: false })

export const DeliveryParams = Type.Object({
  id: WebhookId,
  deliveryId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The delivery id, in plain decimal digits.' })
}, { additionalProperties: false })

export const WebhookListQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  include: Type.Optional(ref(IncludeTotal))
}, { additionalProperties: false })

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const
export const DeliveryStatus = StringEnum(DELIVERY_STATUSES, {
  $id: 'DeliveryStatus',
  title: 'DeliveryStatus',
  description: '`pending`: not delivered yet (waiting for its turn, its next try, or the webhook to be enabled again). `succeeded`: the receiver answered 2xx. `failed`: given up after 24 hours of failures.'
})

export const DeliveryEventType = StringEnum([...EVENT_TYPES, PING], {
  $id: 'DeliveryEventType',
  title: 'DeliveryEventType',
  description: 'The type of an event delivered to a webhook: an `EventType`, or `webhook.ping` for a test event.'
})

export const Delivery = Type.Object({
  id: Type.Integer({ examples: [981] }),
  webhookId: Type.Integer({ examples: [3] }),
  eventId: EventId,
  eventType: ref(DeliveryEventType),
  status: ref(DeliveryStatus),
  attempts: Type.Integer({ minimum: 0, description: 'Attempts made so far.' }),
  lastAttemptAt: Nullable(Timestamp),
  lastResponseCode: Nullable(Type.Integer({ description: 'The HTTP status of the last attempt; null when there was no answer (timeout, refused connection, a non-public address).' })),
  lastError: Nullable(Type.String({ description: 'What went wrong in the last attempt; null after a success.' })),
  nextAttemptAt: Nullable({ ...Timestamp, description: 'When the next attempt is due; null once it succeeded or failed.' } as typeof Timestamp),
  createdAt: Timestamp
}, {
  $id: 'Delivery',
  title: 'Delivery',
  description: 'One event on its way to one webhook. Retried with exponential backoff and jitter (the first retry within 10 s, then doubling to an hour apart) until the receiver answers 2xx or the webhook has failed for 24 hours. Deliveries to a webhook go out one at a time in the order of the events; pings and manual retries of finished deliveries do not wait their turn.',
  additionalProperties: false,
  examples: [{
    id: 981,
    webhookId: 3,
    eventId: EVENT_ID_EXAMPLE,
    eventType: 'article.updated',
    status: 'pending',
    attempts: 2,
    lastAttemptAt: '2026-07-08T09:15:06.000Z',
    lastResponseCode: 503,
    lastError: 'answered 503',
    nextAttemptAt: '2026-07-08T09:15:16.000Z',
    createdAt: '2026-07-08T09:15:00.000Z'
  }]
})
export type Delivery = Static<typeof Delivery>

export const DeliveryList = Type.Object({
  data: Type.Array(ref(Delivery)),
  page: ref(PageInfo)
}, { $id: 'DeliveryList', title: 'DeliveryList', additionalProperties: false })

export const DeliveryListQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  status: Type.Optional(ref(DeliveryStatus))
}, { additionalProperties: false })

export const webhookComponents = [DeliveryEventType, Webhook, WebhookWithSecret, WebhookList, CreateWebhookBody, UpdateWebhookBody, DeliveryStatus, Delivery, DeliveryList]
