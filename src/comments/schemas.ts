// Reader comments. Moderators and above also see the author's email, IP and user agent, and the report
// count; no one else ever does. One documented model per route: `Comment` (those fields optional: present
// for moderators) where any caller may ask, `ModeratedComment` (always present) where only moderators may,
// `CreatedComment` (a `Comment` with its edit token) for a new comment. Replies to callers below moderator
// are serialised with `PublicComment` and `PublicCreatedComment`, which have no private fields at all, so
// they cannot reach anyone else even if a mapping went wrong (src/comments/views.ts).
import { Type, type Static } from 'typebox'
import { WriteHeaders } from '../http/headers.js'
import { Cursor, EmailAddress, IncludeTotal, Limit, Nullable, PageInfo, RowId, Slug, StringEnum, Timestamp, ref } from '../http/schemas.js'

/** The statuses a moderator may set with PATCH; `deleted` is DELETE's. */
const MODERATION_STATUSES = ['pending', 'approved', 'spam', 'trash'] as const

export const CommentStatus = StringEnum([...MODERATION_STATUSES, 'deleted'], {
  $id: 'CommentStatus',
  title: 'CommentStatus',
  description: 'Only `approved` comments (and `deleted` tombstones that keep a thread together) are public. `deleted` is set by DELETE, never by PATCH.'
})
export type CommentStatus = Static<typeof CommentStatus>

export const ModerationStatus = StringEnum(MODERATION_STATUSES, {
  $id: 'ModerationStatus',
  title: 'ModerationStatus',
  description: 'A status a moderator may give a comment: approve it, put it back in the queue (`pending`), or mark it as `spam` or `trash`.'
})

const commentExample = {
  id: 7,
  articleSlug: 'pacific-fleet-returns-to-vladivostok',
  parentId: null,
  authorName: 'Ivan',
  authorUrl: 'https://ivan.example',
  avatarHash: '5f2b6a0c3e0b8d9a41c7e7e3f0b3a3c1d6a1e2f0c9b8a7d6e5f4a3b2c1d0e9f8',
  body: 'Good to see them **home**.',
  bodyHtml: '<p>Good to see them <strong>home</strong>.</p>\n',
  status: 'approved',
  edited: false,
  createdAt: '2026-07-08T10:02:00.000Z',
  updatedAt: '2026-07-08T10:02:00.000Z'
}

const moderatedExtras = { authorEmail: 'ivan@example.com', ip: '203.0.113.7', userAgent: 'Mozilla/5.0', reportCount: 0 }
const editTokenExample = 'gzc_Jm4vQ0b8m7yYp2kq3Xc9WZl1H5tR6sA0eN8uVdK2fGo'

const publicFields = {
  id: Type.Integer({ examples: [7] }),
  articleSlug: Slug,
  parentId: Nullable(Type.Integer({ description: 'The comment this one replies to; null for a top-level comment.' })),
  authorName: Nullable(Type.String({ description: 'null only on a tombstone (`status: "deleted"`).' })),
  authorUrl: Nullable(Type.String({ description: 'An http(s) URL the author gave; null when none (and on tombstones).' })),
  avatarHash: Nullable(Type.String({
    pattern: '^[0-9a-f]{64}$',
    description: 'HMAC-SHA256 of the lower-cased, trimmed email under a server secret, hex: the same author gets the same hash, and it cannot be reversed or checked against a guessed email. null on tombstones.'
  })),
  body: Type.String({ description: 'Markdown; empty on a tombstone.' }),
  bodyHtml: Type.String({ description: 'The body rendered to HTML: raw HTML escaped, unsafe links dropped, links marked `rel="nofollow ugc"`. Images are never shown as `<img>` (a remote image would reveal every reader\'s address to its host): an http(s) image is a link to it, any other its alt text.' }),
  status: ref(CommentStatus),
  edited: Type.Boolean({ description: 'The body was changed after the comment was posted (by its author within the edit window, or by a moderator); `updatedAt` says when.' }),
  createdAt: Timestamp,
  updatedAt: Timestamp
}

/** What everyone may see of a comment: what replies to callers below moderator are serialised with. */
export const PublicComment = Type.Object(publicFields, { additionalProperties: false })
export type PublicComment = Static<typeof PublicComment>

const EMAIL = 'As the author gave it. null on tombstones: deleting erases it.'
const IP = 'The client address the comment came from (the proxy\'s client when TRUST_PROXY is set). null once cleared, `COMMENT_PRIVATE_DAYS` after posting, and on tombstones.'
const USER_AGENT = 'As the client sent it (at most 512 characters). Cleared like `ip`.'
const REPORT_COUNT = 'How many distinct clients reported the comment (`POST /v1/comments/{id}/reports`). Sort the queue by it with `sort=-reportCount`.'
const privateFields = {
  authorEmail: Nullable(Type.String({ description: EMAIL })),
  ip: Nullable(Type.String({ description: IP })),
  userAgent: Nullable(Type.String({ description: USER_AGENT })),
  reportCount: Type.Integer({ minimum: 0, description: REPORT_COUNT })
}

const MODERATORS_ONLY = 'Moderators, editors and admins only: absent for every other caller.'

/** The private fields as optional properties of a model every caller may get. */
const optionalPrivateFields = {
  authorEmail: Type.Optional(Nullable(Type.String({ description: `${EMAIL} ${MODERATORS_ONLY}` }))),
  ip: Type.Optional(Nullable(Type.String({ description: `${IP} ${MODERATORS_ONLY}` }))),
  userAgent: Type.Optional(Nullable(Type.String({ description: `${USER_AGENT} ${MODERATORS_ONLY}` }))),
  reportCount: Type.Optional(Type.Integer({ minimum: 0, description: `${REPORT_COUNT} ${MODERATORS_ONLY}` }))
}

export const Comment = Type.Object({ ...publicFields, ...optionalPrivateFields }, {
  $id: 'Comment',
  title: 'Comment',
  description: 'A reader comment. Moderators, editors and admins also get the author\'s `authorEmail`, `ip` and `userAgent`, which no other caller ever receives, from any route, and the comment\'s `reportCount`. A tombstone (a deleted comment kept because it has replies) has `status: "deleted"`, an empty body and null author fields.',
  additionalProperties: false,
  examples: [commentExample, { ...commentExample, ...moderatedExtras }]
})
export type Comment = Static<typeof Comment>

export const ModeratedComment = Type.Object({ ...publicFields, ...privateFields }, {
  $id: 'ModeratedComment',
  title: 'ModeratedComment',
  description: 'A comment as moderators, editors and admins see it, from the routes only they may use: with the author\'s email, IP and user agent, which no other caller ever receives, and its report count.',
  additionalProperties: false,
  examples: [{ ...commentExample, ...moderatedExtras }]
})
export type ModeratedComment = Static<typeof ModeratedComment>

const editToken = Nullable(Type.String({
  description: 'The secret that lets the comment\'s author edit (`PATCH`) or delete it for `COMMENT_EDIT_MINUTES` after posting: send it as the `Comment-Token` header. Shown this once and stored only as a hash, so a replay of this response (same `Idempotency-Key`) has `null` here, as has every comment when the server allows no edits (`COMMENT_EDIT_MINUTES=0`). Keep it where the author\'s browser keeps its drafts, not in a URL.'
}))

export const CreatedComment = Type.Object({ ...publicFields, ...optionalPrivateFields, editToken }, {
  $id: 'CreatedComment',
  title: 'CreatedComment',
  description: 'The answer to a new comment: the `Comment` (with the private fields for moderators and above only) and, once, its `editToken`.',
  additionalProperties: false,
  examples: [{ ...commentExample, editToken: editTokenExample }, { ...commentExample, ...moderatedExtras, editToken: editTokenExample }]
})

/** A new comment as callers below moderator get it (serialisation only, like PublicComment). */
export const PublicCreatedComment = Type.Object({ ...publicFields, editToken }, { additionalProperties: false })

export const CommentList = Type.Object({
  data: Type.Array(ref(Comment)),
  page: ref(PageInfo)
}, { $id: 'CommentList', title: 'CommentList', additionalProperties: false })

/** A page of comments as callers below moderator get it (serialisation only, like PublicComment). */
export const PublicCommentList = Type.Object({
  data: Type.Array(PublicComment),
  page: ref(PageInfo)
}, { additionalProperties: false })

export const ModeratedCommentList = Type.Object({
  data: Type.Array(ref(ModeratedComment)),
  page: ref(PageInfo)
}, { $id: 'ModeratedCommentList', title: 'ModeratedCommentList', additionalProperties: false })

const NonBlank = (min: number, max: number, description?: string) =>
  Type.String({ minLength: min, maxLength: max, pattern: '\\S', ...(description ? { description } : {}) })

export const CreateCommentBody = Type.Object({
  authorName: NonBlank(1, 100),
  authorEmail: EmailAddress('Never published: moderators only see it.'),
  authorUrl: Type.Optional(Type.String({
    format: 'uri',
    maxLength: 2000,
    pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\s]',
    description: 'An http or https URL; any other scheme is refused.'
  })),
  body: NonBlank(1, 10000, 'Markdown. Raw HTML is shown as text.'),
  parentId: Type.Optional(RowId('Reply to this comment: an approved comment of the same article.'))
}, {
  $id: 'CreateComment',
  title: 'CreateComment',
  additionalProperties: false,
  examples: [{ authorName: 'Ivan', authorEmail: 'ivan@example.com', authorUrl: 'https://ivan.example', body: 'Good to see them **home**.' }]
})
export type CreateCommentInput = Static<typeof CreateCommentBody>

export const UpdateCommentBody = Type.Object({
  status: Type.Optional(ref(ModerationStatus)),
  body: Type.Optional(NonBlank(1, 10000, 'Markdown; re-rendered to `bodyHtml`. A changed body sets `edited`.'))
}, {
  $id: 'UpdateComment',
  title: 'UpdateComment',
  description: 'Moderation: change the status (approve, unapprove, mark as spam or trash), edit the body, or both. The comment\'s author (with `Comment-Token`) may send `body` only.',
  additionalProperties: false,
  examples: [{ status: 'approved' }]
})
export type UpdateCommentInput = Static<typeof UpdateCommentBody>

export const CommentIdParams = Type.Object({
  id: RowId('The comment id, in plain decimal digits (`12`; `0x1`, `01` or ` 1` are a 422).')
}, { additionalProperties: false })

export const CommentStatusFilter = StringEnum([...MODERATION_STATUSES, 'deleted', 'any'], {
  $id: 'CommentStatusFilter',
  title: 'CommentStatusFilter',
  description: 'The comments of one status, or `any` for every status. Moderators only, except `approved`.'
})

export const ArticleCommentsQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  status: Type.Optional(ref(CommentStatusFilter)),
  include: Type.Optional(ref(IncludeTotal))
}, { additionalProperties: false })
export type ArticleCommentsQuery = Static<typeof ArticleCommentsQuery>

export const COMMENT_QUEUE_SORTS = ['-createdAt', 'createdAt', '-reportCount'] as const

export const CommentQueueSort = StringEnum(COMMENT_QUEUE_SORTS, {
  $id: 'CommentQueueSort',
  title: 'CommentQueueSort',
  description: 'The order of the moderation queue: `-createdAt` (the default) newest first, `createdAt` oldest first, `-reportCount` the most reported first (then newest).'
})

export const CommentQueueQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  status: Type.Optional(ref(CommentStatusFilter)),
  article: Type.Optional(Slug),
  sort: Type.Optional(ref(CommentQueueSort)),
  include: Type.Optional(ref(IncludeTotal))
}, { additionalProperties: false })
export type CommentQueueQuery = Static<typeof CommentQueueQuery>

export const REPORT_REASONS = ['spam', 'abuse', 'off-topic', 'other'] as const

export const ReportReason = StringEnum(REPORT_REASONS, {
  $id: 'ReportReason',
  title: 'ReportReason',
  description: 'Why a reader reports a comment.'
})

export const CreateReportBody = Type.Object({
  reason: ref(ReportReason)
}, {
  $id: 'CreateReport',
  title: 'CreateReport',
  description: 'A reader\'s report of a comment.',
  additionalProperties: false,
  examples: [{ reason: 'spam' }]
})
export type CreateReportInput = Static<typeof CreateReportBody>

/** PATCH and DELETE of a comment: the preconditions, and the author's edit token. */
export const CommentWriteHeaders = Type.Object({
  ...WriteHeaders.properties,
  'comment-token': Type.Optional(Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'The `editToken` from the 201 that created this comment: lets its author act on it without a bearer token, for `COMMENT_EDIT_MINUTES` after posting.'
  }))
})
