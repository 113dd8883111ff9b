// The requests Gazette makes to webhook receivers, for the OpenAPI 3.1 `webhooks` section: one operation per
// event type, its body the event's named schema, with the Standard Webhooks headers.
import { EVENT_ID_EXAMPLE, EVENT_ID_PATTERN, EVENT_TYPES, PING, eventSchemas, WebhookPingEvent } from '../events/schemas.js'

const headers = [
  {
    name: 'webhook-id',
    in: 'header',
    required: true,
    description: 'The event id: the same on every retry of this event, so a receiver can ignore a duplicate.',
    schema: { type: 'string', pattern: EVENT_ID_PATTERN, examples: [EVENT_ID_EXAMPLE] }
  },
  {
    name: 'webhook-timestamp',
    in: 'header',
    required: true,
    description: 'When this attempt was made, in seconds since the epoch. Reject deliveries too far from your clock (Standard Webhooks libraries allow 5 minutes) to stop replays.',
    schema: { type: 'string', pattern: '^\\d+$', examples: ['1783502100'] }
  },
  {
    name: 'webhook-signature',
    in: 'header',
    required: true,
    description: '`v1,` + base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the bytes of the secret after `whsec_` (base64-decoded). Space-separated when several secrets sign (for 24 hours after a rotation): accept the delivery if any one matches. Any Standard Webhooks library checks it, e.g. `new Webhook(secret).verify(body, headers)`.',
    schema: { type: 'string', examples: ['v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4='] }
  }
]

function operation (type: string, schemaName: string, description: string) {
  return {
    post: {
      tags: ['webhooks'],
      operationId: `on${schemaName}`,
      summary: `\`${type}\``,
      description,
      parameters: headers,
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } }
      },
      responses: {
        '2XX': { description: 'Received: this delivery is done.' },
        default: { description: 'Anything else, a redirect (never followed), or no answer within `WEBHOOK_TIMEOUT_MS`: the delivery is retried with exponential backoff for 24 hours, and the next events for this webhook wait.' }
      },
      security: []
    }
  }
}

/** The OpenAPI `webhooks` object (typed loosely: @fastify/swagger's types want a PathItemObject per entry, which this is). */
export function webhookOperations (): Record<string, never> {
  const out: Record<string, ReturnType<typeof operation>> = {}
  for (const type of EVENT_TYPES) {
    const schema = eventSchemas[type] as unknown as { $id: string, description: string }
    out[type] = operation(type, schema.$id, schema.description)
  }
  const ping = WebhookPingEvent as unknown as { $id: string, description: string }
  out[PING] = operation(PING, ping.$id, ping.description)
  return out as unknown as Record<string, never>
}
