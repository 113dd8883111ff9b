import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { hasRole } from '../plugins/auth.js'
import { HttpProblem, NotFound, Unauthorized, Conflict } from '../http/errors.js'
import { checkIfMatch, etagOf, sendTagged } from '../http/etag.js'
import { ConditionalHeaders, WriteHeaders } from '../http/headers.js'
import { decodeCursor, queryFingerprint, toPage, type Page } from '../http/pagination.js'
import { NoContent, NotModified, problems, ref } from '../http/schemas.js'
import { SlugParams } from '../articles/schemas.js'
import { toComment, toModeratedComment, type CommentRecord } from './repository.js'
import {
  ArticleCommentsQuery, Comment, CommentIdParams, CommentList, CommentQueueQuery, CreateCommentBody,
  ModeratedComment, ModeratedCommentList, UpdateCommentBody, type CommentStatus
} from './schemas.js'
import { rateLimitedResponse, rateLimitHeaders } from './rate-limit.js'

// Schemas the replies are serialised with, chosen by the caller's role (see `view`). Module constants
// so that Fastify compiles each serialiser once per route.
const shapes = {
  public: { one: { $ref: 'Comment' }, list: { $ref: 'CommentList' } },
  moderator: { one: { $ref: 'ModeratedComment' }, list: { $ref: 'ModeratedCommentList' } }
}

const oneOfShapes = Type.Union([ref(Comment), ref(ModeratedComment)], {
  description: '`ModeratedComment` (with `authorEmail`, `ip`, `userAgent`) for moderators and above, `Comment` for everyone else.'
})

const created = Type.Union([ref(Comment), ref(ModeratedComment)], {
  description: 'The new comment: a `ModeratedComment` for moderators and above, a `Comment` for everyone else (the author\'s own email is not echoed).',
  headers: {
    location: { type: 'string', description: 'The comment\'s URL, `/v1/comments/{id}`.' },
    etag: { type: 'string', description: 'Strong ETag of this representation.' },
    ...rateLimitHeaders
  }
})

const PUBLIC_THREAD: CommentStatus[] = ['approved', 'deleted']

const routes: FastifyPluginAsyncTypebox = async (app) => {
  /**
   * How this caller sees comments. The public view is built field by field (toComment) AND serialised
   * with the public schema, which has no private fields, so an email, IP or user agent cannot reach a
   * caller below moderator even if a mapping went wrong.
   */
  function view (request: FastifyRequest, reply: FastifyReply) {
    const moderator = hasRole(request, 'moderator')
    const shape = moderator ? shapes.moderator : shapes.public
    // Different callers get different representations at the same URL.
    reply.header('vary', 'Authorization')
    /** Serialises before anything is sent, so a body that does not fit its schema fails as a clean 500. */
    function send (body: object, schema: { [key: string]: unknown }, status: number) {
      const json = reply.compileSerializationSchema(schema)(body as { [key: string]: unknown })
      reply.type('application/json; charset=utf-8').serializer(() => json)
      return sendTagged(request, reply, body, status)
    }
    return {
      moderator,
      map: moderator ? toModeratedComment : toComment,
      sendOne: (record: CommentRecord, status = 200) =>
        send(moderator ? toModeratedComment(record) : toComment(record), shape.one, status),
      sendList: (page: Page<Comment | ModeratedComment>) => send(page, shape.list, 200)
    }
  }

  /** A comment the caller may see, or 404: the public sees approved comments on visible articles only. */
  async function load (request: FastifyRequest, id: number): Promise<CommentRecord> {
    const record = await app.comments.findById(id)
    const visible = record !== undefined && (hasRole(request, 'moderator') || (record.status === 'approved' &&
      app.articles.isVisible({ status: record.articleStatus, publishedAt: record.articlePublishedAt }, { visibleAt: app.clock() })))
    if (!visible) throw new NotFound(`No comment ${id}.`)
    return record
  }

  app.post('/articles/:slug/comments', {
    config: {
      rateLimit: {
        max: app.config.commentRateLimit,
        timeWindow: 60_000,
        // After validation: a request refused for its shape is not a comment and does not count.
        hook: 'preHandler',
        keyGenerator: (request) => request.ip,
        errorResponseBuilder: (_request, context) => new HttpProblem(429, 'rate-limited', 'Too Many Requests',
          `At most ${context.max} comments a minute from one address. Retry in ${context.after}.`)
      }
    },
    schema: {
      tags: ['comments'],
      operationId: 'createComment',
      summary: 'Leave a comment',
      description: [
        'Open to everyone. The email is never published: it gives the comment its `avatarHash`, and moderators see it.',
        'The comment is `approved` or `pending` depending on the server\'s moderation mode (`COMMENT_MODERATION`: `all`, `first` — approved if the email already has an approved comment — or `none`); a comment with more links than `COMMENT_MAX_LINKS` is always `pending`. A pending comment is not public: its `Location` answers 404 to the public until a moderator approves it.',
        'Flood control: at most `COMMENT_RATE_LIMIT` comments a minute per client address (429 with `Retry-After`); responses carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.',
        'An article that is not published is 404 (409 `comments-closed` for an editor who can see it); `commentsOpen: false` is 409 `comments-closed`. `parentId` must be an approved comment of the same article (422).'
      ].join('\n\n'),
      params: SlugParams,
      body: ref(CreateCommentBody),
      response: { 201: created, ...problems(400, 404, 409, 413, 415, 422), ...rateLimitedResponse }
    }
  }, async (request, reply) => {
    const editor = hasRole(request, 'editor')
    const article = await app.articles.findRowBySlug(request.params.slug, editor ? null : { visibleAt: app.clock() })
    if (!article) throw new NotFound(`No article at "${request.params.slug}".`)
    if (!app.articles.isVisible(article, { visibleAt: app.clock() })) {
      throw new Conflict(`"${article.slug}" is not published: only published articles take comments.`, 'comments-closed', 'Comments Closed')
    }
    const ua = request.headers['user-agent']
    const record = await app.commentService.create(article, request.body, {
      ip: request.ip ?? null,
      userAgent: typeof ua === 'string' && ua !== '' ? ua.slice(0, 512) : null
    })
    reply.header('location', `/v1/comments/${record.id}`)
    return view(request, reply).sendOne(record, 201)
  })

  app.get('/articles/:slug/comments', {
    schema: {
      tags: ['comments'],
      operationId: 'listArticleComments',
      summary: 'List an article\'s comments',
      description: 'Approved comments and tombstones (deleted comments kept because they have replies), oldest first, flat: rebuild threads from `parentId`. Keyset-paginated. Moderators (and above) get `ModeratedComment`s and may filter by `status` (`any` for all); the public may only ask for `approved`. 404 when the caller may not see the article.',
      params: SlugParams,
      querystring: ArticleCommentsQuery,
      headers: ConditionalHeaders,
      response: {
        200: Type.Union([ref(CommentList), ref(ModeratedCommentList)], { description: '`ModeratedCommentList` for moderators and above.' }),
        304: NotModified,
        ...problems(401, 404, 422)
      }
    }
  }, async (request, reply) => {
    const q = request.query
    const v = view(request, reply)
    if (!v.moderator && q.status !== undefined && q.status !== 'approved') {
      throw new Unauthorized('Only moderators may list comments that are not approved.')
    }
    const article = await app.articles.findRowBySlug(request.params.slug, v.moderator ? null : { visibleAt: app.clock() })
    if (!article) throw new NotFound(`No article at "${request.params.slug}".`)
    const limit = q.limit ?? 20
    const fingerprint = queryFingerprint(`articles/${article.id}/comments`, { ...q, moderator: v.moderator })
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor, fingerprint, 2)
    const { rows, total } = await app.comments.list({
      articleId: article.id,
      statuses: q.status === undefined ? PUBLIC_THREAD : q.status === 'any' ? undefined : [q.status],
      descending: false,
      after: cursor,
      limit,
      withTotal: q.include === 'total'
    })
    return v.sendList(toPage(request, reply, rows, { limit, fingerprint, total, keyOf: (r) => [r.createdAt, r.id], map: v.map }))
  })

  app.get('/comments', {
    config: { role: 'moderator' },
    schema: {
      tags: ['comments'],
      operationId: 'listComments',
      summary: 'The moderation queue',
      description: 'Comments across all articles, newest first by default. Filter by `status` (`pending` for the comments waiting for a decision; every status by default) and by `article` (a slug; an unknown slug lists nothing). Keyset-paginated.',
      querystring: CommentQueueQuery,
      headers: ConditionalHeaders,
      response: { 200: ref(ModeratedCommentList), 304: NotModified, ...problems(422) }
    }
  }, async (request, reply) => {
    const q = request.query
    const limit = q.limit ?? 20
    const fingerprint = queryFingerprint('comments', q)
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor, fingerprint, 2)
    const article = q.article === undefined ? undefined : await app.articles.findRowBySlug(q.article, null)
    const { rows, total } = q.article !== undefined && article === undefined
      ? { rows: [], total: q.include === 'total' ? 0 : undefined }
      : await app.comments.list({
        articleId: article?.id,
        statuses: q.status === undefined || q.status === 'any' ? undefined : [q.status],
        descending: q.sort !== 'createdAt',
        after: cursor,
        limit,
        withTotal: q.include === 'total'
      })
    const page = toPage(request, reply, rows, { limit, fingerprint, total, keyOf: (r) => [r.createdAt, r.id], map: toModeratedComment })
    return sendTagged(request, reply, page)
  })

  app.get('/comments/:id', {
    schema: {
      tags: ['comments'],
      operationId: 'getComment',
      summary: 'Get a comment',
      description: 'The public sees approved comments on published articles only (anything else is 404); moderators and above see every comment, as a `ModeratedComment`.',
      params: CommentIdParams,
      headers: ConditionalHeaders,
      response: { 200: oneOfShapes, 304: NotModified, ...problems(404, 422) }
    }
  }, async (request, reply) => {
    const record = await load(request, request.params.id)
    return view(request, reply).sendOne(record)
  })

  app.patch('/comments/:id', {
    config: { role: 'moderator' },
    schema: {
      tags: ['comments'],
      operationId: 'updateComment',
      summary: 'Moderate or edit a comment',
      description: 'Set `status` to approve, unapprove (`pending`), or mark as `spam` or `trash`; edit `body`. The article\'s `commentCount` follows at once. A tombstone cannot be changed (409). With `If-Match`, a stale ETag is a 412 and nothing changes.',
      params: CommentIdParams,
      headers: WriteHeaders,
      body: ref(UpdateCommentBody),
      response: { 200: ref(ModeratedComment), ...problems(400, 404, 409, 412, 413, 415, 422) }
    }
  }, async (request, reply) => {
    const current = await load(request, request.params.id)
    checkIfMatch(request, etagOf(toModeratedComment(current)))
    const updated = await app.commentService.update(current, request.body)
    return view(request, reply).sendOne(updated)
  })

  app.delete('/comments/:id', {
    config: { role: 'moderator' },
    schema: {
      tags: ['comments'],
      operationId: 'deleteComment',
      summary: 'Delete a comment',
      description: 'A comment with replies stays as a tombstone (`status: "deleted"`, empty body, author fields null and erased from storage) so the thread keeps its shape; one without replies is removed, together with any tombstone above it left without replies. With `If-Match`, a stale ETag is a 412 and nothing is deleted.',
      params: CommentIdParams,
      headers: WriteHeaders,
      response: { 204: NoContent, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => {
    const current = await load(request, request.params.id)
    checkIfMatch(request, etagOf(toModeratedComment(current)))
    await app.commentService.delete(current)
    return reply.code(204).send()
  })
}

export default routes
