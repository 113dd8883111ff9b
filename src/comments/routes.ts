// Comments as readers use them: post, read a thread, read one comment. Moderation is in moderation-routes.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Conflict, HttpProblem, NotFound, retryStale, STALE_RETRIES, StaleRead, Unauthorized } from '../http/errors.js'
import { ConditionalHeaders } from '../http/headers.js'
import { cursorKey, type CursorKey } from '../http/cursor.js'
import { queryFingerprint, toPage } from '../http/pagination.js'
import { NotModified, problems, ref } from '../http/schemas.js'
import { SlugParams } from '../articles/schemas.js'
import { isPublicAt, isVisible, threadStatuses, viewOf } from '../articles/visibility.js'
import moderationRoutes from './moderation-routes.js'
import { COMMENT_WRITES, rateLimitedResponse, rateLimitHeaders, readerLimits } from './rate-limit.js'
import reportRoutes from './report-routes.js'
import { toComment, toModeratedComment } from './repository.js'
import { ArticleCommentsQuery, Comment, CommentIdParams, CommentList, CreateCommentBody, CreatedComment } from './schemas.js'
import { loadComment, view } from './views.js'

const created = Type.Unsafe({
  ...ref(CreatedComment),
  description: 'The new comment with its `editToken`, shown this once; with `authorEmail`, `ip`, `userAgent` and `reportCount` for moderators and above only (a reader\'s own email is not echoed).',
  headers: {
    location: { type: 'string', description: 'The comment\'s URL, `/v1/comments/{id}`.' },
    etag: { type: 'string', description: 'Strong ETag of the comment as `GET` shows it to this caller (without `editToken`): use it in `If-Match`.' },
    ...rateLimitHeaders(COMMENT_WRITES)
  }
})

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const limits = readerLimits(app, app.config.commentRateLimit)

  app.post('/articles/:slug/comments', {
    // The edit token is stored only as a hash: a replay of this 201 shows it as null.
    config: { shownOnce: ['editToken'] },
    preHandler: limits.commentWrites,
    schema: {
      tags: ['comments'],
      operationId: 'createComment',
      summary: 'Leave a comment',
      description: [
        'Open to everyone. The email is never published: it gives the comment its `avatarHash`, and moderators see it.',
        'The comment is `approved` or `pending` depending on the server\'s moderation mode (`COMMENT_MODERATION`: `all`, `first` — approved if the email already has an approved comment — or `none`); a comment with more links than `COMMENT_MAX_LINKS` (bare URLs and images count: an image is shown as a link) is always `pending`. A pending comment is not public: its `Location` answers 404 to the public until a moderator approves it.',
        'The answer carries an `editToken`, shown this once: with it as `Comment-Token`, the author may edit or delete the comment for `COMMENT_EDIT_MINUTES` (see `PATCH /v1/comments/{id}`).',
        'Flood control: at most `COMMENT_RATE_LIMIT` comments a minute per client address, authors\' edits and deletes included (429 with `Retry-After`); responses carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.',
        'An article that is not published is 404 (409 `comments-closed` for an editor who can see it); `commentsOpen: false` is 409 `comments-closed`. `parentId` must be an approved comment of the same article (422).'
      ].join('\n\n'),
      params: SlugParams,
      body: ref(CreateCommentBody),
      response: { 201: created, ...problems(400, 404, 409, 413, 415, 422), ...rateLimitedResponse(COMMENT_WRITES) }
    }
  }, async (request, reply) => {
    // Only the columns a comment needs (findTarget), not the article's body. A caller that may not see
    // the article gets 404; an editor who can see an unpublished one, 409. Should the article or the
    // parent change before the insert, all of it is checked again (StaleRead).
    //
    // The first attempt may start from the article as this process last read it (reusableTarget), which
    // is only ever a way to success: the write checks it again inside its transaction (StaleRead when it
    // changed), and any other answer it leads to (404, 409, a parent of another article: 422) is
    // decided again from a fresh read, so a reused article never gives an answer a fresh one would not.
    const ua = request.headers['user-agent']
    const origin = { ip: request.ip, userAgent: typeof ua === 'string' && ua !== '' ? ua.slice(0, 512) : null }
    // The attempt from memory does not count against the fresh reads a changing article is given.
    const remembered = app.comments.reusableTarget(request.params.slug)
    const { record, editToken } = await retryStale(async (attempt) => {
      const now = app.clock()
      const reused = attempt === 1 ? remembered : undefined
      const article = reused ?? await app.comments.findTarget(request.params.slug)
      try {
        if (!article || !isVisible(article, viewOf(request, now).articles)) throw new NotFound(`No article at "${request.params.slug}".`)
        if (!isPublicAt(article, now)) {
          throw new Conflict(`"${article.slug}" is not published: only published articles take comments.`, 'comments-closed', 'Comments Closed')
        }
        return await app.commentService.create(article, request.body, origin)
      } catch (err) {
        // Sound only because create() throws nothing under 500 once the comment is committed: a refusal
        // from here on means nothing was written, so the fresh attempt cannot write it twice.
        throw reused !== undefined && err instanceof HttpProblem && err.status < 500 ? new StaleRead() : err
      }
    }, remembered === undefined ? STALE_RETRIES : STALE_RETRIES + 1)
    reply.header('location', `/v1/comments/${record.id}`)
    return view(request, reply).sendCreated(record, editToken)
  })

  app.get('/articles/:slug/comments', {
    config: { publicCache: true },
    schema: {
      tags: ['comments'],
      operationId: 'listArticleComments',
      summary: 'List an article\'s comments',
      description: 'Approved comments and tombstones (deleted comments kept because they have replies), oldest first, flat: rebuild threads from `parentId`. Keyset-paginated. Moderators (and above) get `ModeratedComment`s and may filter by `status` (`any` for all); the public may only ask for `approved`. 404 when the caller may not see the article (moderators included: a draft\'s or a scheduled article\'s thread is 404 to them, as the article is; editors see every article).',
      params: SlugParams,
      querystring: ArticleCommentsQuery,
      headers: ConditionalHeaders,
      response: {
        200: Type.Unsafe({ ...ref(CommentList), description: 'A page of the thread; its comments carry `authorEmail`, `ip`, `userAgent` and `reportCount` for moderators and above only.' }),
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
    // The article's id and visibility only (findTarget), not its body and tags: on PostgreSQL, reading the
    // whole row and its tags took more time than the thread's page (bench/README.md, "PostgreSQL: list pages
    // built once per shape").
    const article = await app.comments.findTarget(request.params.slug)
    if (!article || !isVisible(article, viewOf(request, app.clock()).articles)) throw new NotFound(`No article at "${request.params.slug}".`)
    const limit = q.limit ?? 20
    const fingerprint = queryFingerprint(`articles/${article.id}/comments`, { ...q, moderator: v.moderator })
    const cursor = cursorKey(q.cursor, fingerprint, ['int', 'row'])
    const params = {
      articleId: article.id,
      visibility: null, // the article's visibility was checked above
      statuses: threadStatuses(q.status),
      sort: 'createdAt' as const,
      after: cursor,
      limit,
      withTotal: q.include === 'total'
    }
    const keyOf = (r: { createdAt: number, id: number }): CursorKey => [r.createdAt, r.id]
    // The public's page never selects a comment's private fields; a moderator's has them all.
    if (v.moderator) {
      const { rows, total } = await app.comments.list(params)
      return v.sendList(toPage(request, reply, rows, { limit, fingerprint, total, keyOf, map: toModeratedComment }), article.id)
    }
    const { rows, total } = await app.comments.publicThread(params)
    return v.sendList(toPage(request, reply, rows, { limit, fingerprint, total, keyOf, map: toComment }), article.id)
  })

  app.get('/comments/:id', {
    config: { publicCache: true },
    schema: {
      tags: ['comments'],
      operationId: 'getComment',
      summary: 'Get a comment',
      description: 'The public sees approved comments on published articles only (anything else is 404); moderators and above see every status, as a `ModeratedComment`. A comment is seen exactly when its article is: a moderator, like the public, sees only published articles that are due (editors see every article); a comment on any other article is 404 to them.',
      params: CommentIdParams,
      headers: ConditionalHeaders,
      response: { 200: Type.Unsafe({ ...ref(Comment), description: 'The comment, with `authorEmail`, `ip`, `userAgent` and `reportCount` for moderators and above only.' }), 304: NotModified, ...problems(404, 422) }
    }
  }, async (request, reply) => {
    const record = await loadComment(app, request, request.params.id)
    return view(request, reply).sendOne(record)
  })

  await app.register(moderationRoutes, { commentWrites: limits.commentWrites })
  await app.register(reportRoutes, { reports: limits.reports })
}

export default routes
