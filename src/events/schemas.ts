// The events of the log and of webhook deliveries: one named schema per type, all with the same envelope
// `{ id, type, occurredAt, data }`. `data` holds only what the public may see (section 10 of the contract).
import { Type, type Static, type TSchema } from 'typebox'
import { Article } from '../articles/schemas.js'
import { Comment } from '../comments/schemas.js'
import { Tag } from '../tags/schemas.js'
import { Cursor, Limit, PageInfo, Slug, StringEnum, Timestamp, ref } from '../http/schemas.js'

/** The types a webhook can subscribe to, in the order the documentation lists them. */
export const EVENT_TYPES = [
  'article.published', 'article.updated', 'article.unpublished',
  'comment.submitted', 'comment.approved', 'comment.edited', 'comment.removed',
  'tag.updated', 'tag.deleted'
] as const
export type EventType = typeof EVENT_TYPES[number]

export const PING = 'webhook.ping'

export const EventTypeSchema = StringEnum(EVENT_TYPES, {
  $id: 'EventType',
  title: 'EventType',
  description: 'What changed, as the public sees it. `webhook.ping` (sent by `POST /v1/webhooks/{id}/ping`) is not subscribed to: a ping always goes to its webhook.'
})

export const EVENT_ID_PATTERN = '^evt_[A-Za-z0-9_-]{16,40}$'

/** An event id as src/events/outbox.ts makes them (this one at 2026-07-08T09:15:00Z), for the document's examples. */
export const EVENT_ID_EXAMPLE = 'evt_019f41025620c4a91e7b3d58'

/** The statuses a new comment can have, as `comment.submitted` says it. */
export const SubmittedCommentStatus = StringEnum(['pending', 'approved'] as const, {
  $id: 'SubmittedCommentStatus',
  title: 'SubmittedCommentStatus',
  description: '`approved` when it was published at once, `pending` when it waits for a moderator.'
})

export const EventId = Type.String({
  pattern: EVENT_ID_PATTERN,
  description: 'Unique per event; the `webhook-id` header of every delivery of it, the same on each retry: receivers use it to ignore duplicates.',
  examples: [EVENT_ID_EXAMPLE]
})

const example = (schema: TSchema): unknown => (schema as { examples?: unknown[] }).examples?.[0]

interface EventSpec<D extends TSchema> {
  type: string
  name: string
  description: string
  data: D
  dataExample: unknown
}

function eventSchema<D extends TSchema> (spec: EventSpec<D>) {
  return Type.Object({
    id: EventId,
    type: StringEnum([spec.type] as const, { description: `Always \`${spec.type}\`.` }),
    occurredAt: { ...Timestamp, description: 'When Gazette recorded the change (for a scheduled publication, when it was announced).' } as typeof Timestamp,
    data: spec.data
  }, {
    $id: spec.name,
    title: spec.name,
    description: spec.description,
    additionalProperties: false,
    examples: [{ id: EVENT_ID_EXAMPLE, type: spec.type, occurredAt: '2026-07-08T09:15:00.000Z', data: spec.dataExample }]
  })
}

const articleExample = example(Article) as { slug: string }
const commentExample = example(Comment) as { id: number, articleSlug: string }
const tagExample = example(Tag) as { slug: string }

// The `data` of the events that carry less than a whole resource: named models, so that generated clients
// get one class each with a name that says what it is.

export const UnpublishedArticle = Type.Object({ slug: Slug }, {
  $id: 'UnpublishedArticle',
  title: 'UnpublishedArticle',
  description: 'An article that left public view: the slug the public knew.',
  additionalProperties: false,
  examples: [{ slug: articleExample.slug }]
})

export const SubmittedComment = Type.Object({
  id: Type.Integer({ examples: [commentExample.id] }),
  articleSlug: Slug,
  status: ref(SubmittedCommentStatus)
}, {
  $id: 'SubmittedComment',
  title: 'SubmittedComment',
  description: 'A new comment, as moderation tools are told of it: its id, its article and its status, nothing its author wrote.',
  additionalProperties: false,
  examples: [{ id: commentExample.id, articleSlug: commentExample.articleSlug, status: 'pending' }]
})

export const RemovedComment = Type.Object({
  id: Type.Integer({ examples: [commentExample.id] }),
  articleSlug: Slug
}, {
  $id: 'RemovedComment',
  title: 'RemovedComment',
  description: 'A comment that left public view: its id and its article.',
  additionalProperties: false,
  examples: [{ id: commentExample.id, articleSlug: commentExample.articleSlug }]
})

export const DeletedTag = Type.Object({ slug: Tag.properties.slug }, {
  $id: 'DeletedTag',
  title: 'DeletedTag',
  description: 'A public tag that is gone: the slug the public knew.',
  additionalProperties: false,
  examples: [{ slug: tagExample.slug }]
})

export const WebhookPing = Type.Object({ webhookId: Type.Integer({ examples: [3] }) }, {
  $id: 'WebhookPing',
  title: 'WebhookPing',
  description: 'A test event: the webhook it was sent to.',
  additionalProperties: false,
  examples: [{ webhookId: 3 }]
})

export const ArticlePublishedEvent = eventSchema({
  type: 'article.published',
  name: 'ArticlePublishedEvent',
  description: 'An article became visible to the public: published now, or its scheduled `publishedAt` arrived (announced by the scheduler, exactly once, also after downtime), or put back from draft or archive (by a PATCH or a restore). `data` is the article.',
  data: ref(Article),
  dataExample: articleExample
})

export const ArticleUpdatedEvent = eventSchema({
  type: 'article.updated',
  name: 'ArticleUpdatedEvent',
  description: 'A visible article changed and stays visible (content, metadata, slug: the old slug now redirects), by a PATCH or by restoring an earlier revision. `data` is the article. Renaming or deleting one of its tags sends `tag.updated`/`tag.deleted` instead, and new comments send comment events.',
  data: ref(Article),
  dataExample: articleExample
})

export const ArticleUnpublishedEvent = eventSchema({
  type: 'article.unpublished',
  name: 'ArticleUnpublishedEvent',
  description: 'A visible article left public view: back to draft, archived, rescheduled to a later time, or deleted. Its comments leave with it. `data.slug` is the slug the public knew.',
  data: ref(UnpublishedArticle),
  dataExample: { slug: articleExample.slug }
})

export const CommentSubmittedEvent = eventSchema({
  type: 'comment.submitted',
  name: 'CommentSubmittedEvent',
  description: 'Any new comment, approved or waiting for moderation: for moderation tools. Only the id, the article and the status; read the comment with a moderator token.',
  data: ref(SubmittedComment),
  dataExample: { id: commentExample.id, articleSlug: commentExample.articleSlug, status: 'pending' }
})

export const CommentApprovedEvent = eventSchema({
  type: 'comment.approved',
  name: 'CommentApprovedEvent',
  description: 'A comment became visible: approved at creation or by a moderator, on an article the public can see. `data` is the public comment (never an email, IP, user agent or edit token). Once its author\'s data are erased (`POST /v1/privacy/erase`), the event in the log shows the comment as a tombstone (`status: "deleted"`, empty body, null author fields).',
  data: ref(Comment),
  dataExample: commentExample
})

export const CommentEditedEvent = eventSchema({
  type: 'comment.edited',
  name: 'CommentEditedEvent',
  description: 'The body of a visible comment changed and it stays visible: edited by its author within the edit window (`Comment-Token`) or by a moderator. `data` is the public comment, with `edited: true`. After an erasure the event shows a tombstone, as for `comment.approved`.',
  data: ref(Comment),
  dataExample: commentExample
})

export const CommentRemovedEvent = eventSchema({
  type: 'comment.removed',
  name: 'CommentRemovedEvent',
  description: 'A visible comment left public view: moderated to another status; deleted by a moderator or by its author (a comment with replies stays as a tombstone); sent back to `pending`, by an author\'s edit that the moderation rules hold or by `COMMENT_REPORT_THRESHOLD` reports; or erased (`POST /v1/privacy/erase`).',
  data: ref(RemovedComment),
  dataExample: { id: commentExample.id, articleSlug: commentExample.articleSlug }
})

export const TagUpdatedEvent = eventSchema({
  type: 'tag.updated',
  name: 'TagUpdatedEvent',
  description: 'A public tag was created (`POST /v1/tags`), renamed or re-described; `data` is the tag as the public sees it. A new slug sends `tag.deleted` for the old slug first. Tags that only drafts or scheduled articles carry send nothing.',
  data: ref(Tag),
  dataExample: tagExample
})

export const TagDeletedEvent = eventSchema({
  type: 'tag.deleted',
  name: 'TagDeletedEvent',
  description: 'A public tag is gone: deleted (it left every article), or re-slugged (followed by `tag.updated` with the new slug).',
  data: ref(DeletedTag),
  dataExample: { slug: tagExample.slug }
})

export const WebhookPingEvent = eventSchema({
  type: PING,
  name: 'WebhookPingEvent',
  description: 'A test event sent to one webhook by `POST /v1/webhooks/{id}/ping`; never in the event log.',
  data: ref(WebhookPing),
  dataExample: { webhookId: 3 }
})

/** Every event schema of the log, by type. */
export const eventSchemas = {
  'article.published': ArticlePublishedEvent,
  'article.updated': ArticleUpdatedEvent,
  'article.unpublished': ArticleUnpublishedEvent,
  'comment.submitted': CommentSubmittedEvent,
  'comment.approved': CommentApprovedEvent,
  'comment.edited': CommentEditedEvent,
  'comment.removed': CommentRemovedEvent,
  'tag.updated': TagUpdatedEvent,
  'tag.deleted': TagDeletedEvent
} satisfies Record<EventType, TSchema>

/** The `data` each event type carries, as the outbox records it. */
export type EventData = { [K in EventType]: Static<typeof eventSchemas[K]>['data'] }

type LogEvent = Static<typeof eventSchemas[EventType]>

const variants = (schemas: TSchema[]) => ({
  oneOf: schemas.map((s) => ({ $ref: (s as { $id: string }).$id })),
  discriminator: {
    propertyName: 'type',
    mapping: Object.fromEntries(schemas.map((s) => [
      (s as unknown as { examples: { type: string }[] }).examples[0]!.type,
      `#/components/schemas/${(s as { $id: string }).$id}`
    ]))
  }
})

export const Event = Type.Unsafe<LogEvent>({
  $id: 'Event',
  title: 'Event',
  description: 'An event of the log: one of the event types, told apart by `type`.',
  ...variants(Object.values(eventSchemas))
})

export const EventList = Type.Object({
  data: Type.Array(ref(Event)),
  page: ref(PageInfo)
}, { $id: 'EventList', title: 'EventList', additionalProperties: false })

export const EventListQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  after: Type.Optional(Type.String({
    pattern: EVENT_ID_PATTERN,
    description: 'Only events recorded after this one (the id of the last event you read): how to poll for new events. Not with `cursor`.'
  })),
  type: Type.Optional(Type.Array(ref(EventTypeSchema), { maxItems: EVENT_TYPES.length, description: 'Only events of these types; repeat for several.' }))
}, { additionalProperties: false })

/** The components this module adds to the OpenAPI document, in dependency order. */
export const eventComponents = [
  EventTypeSchema, SubmittedCommentStatus, UnpublishedArticle, SubmittedComment, RemovedComment, DeletedTag, WebhookPing,
  ...Object.values(eventSchemas), WebhookPingEvent, Event, EventList
]
