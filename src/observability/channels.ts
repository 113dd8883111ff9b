// Events that operations code counts, published on node:diagnostics_channel: the code where they happen
// needs no reference to metrics, and publishing costs one property read when nothing subscribes
// (metrics off). Messages carry outcomes only, never content or personal data.
import { channel } from 'node:diagnostics_channel'

/** A comment's moderation status was decided: automatically when it was posted, or by a moderator. */
export interface CommentModerationMessage {
  by: 'auto' | 'moderator'
  /** The status it got (`deleted` for a delete, whether a tombstone stays or not). */
  status: string
}
export const commentModeration = channel('gazette:comment-moderation')

/**
 * A webhook delivery attempt ended, as recorded. Published by the webhook dispatcher, counted as
 * gazette_webhook_deliveries_total{outcome}: `delivered` (2xx), `failed` (another answer or a network
 * error; it will be retried), `gave-up` (retries exhausted or the endpoint disabled).
 */
export interface WebhookDeliveryMessage {
  outcome: 'delivered' | 'failed' | 'gave-up'
}
export const webhookDelivery = channel('gazette:webhook-delivery')

export function publish<T extends object> (ch: ReturnType<typeof channel>, message: T): void {
  if (ch.hasSubscribers) ch.publish(message)
}
