// Moderation: the queue across articles, status changes and edits, deletes (tombstones). Moderators
// and above only; the article's commentCount follows every change in the same transaction.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { etagAs, sendTagged, writeIfMatch } from '../http/etag.js'
import { ConditionalHeaders, WriteHeaders } from '../http/headers.js'
import { decodeCursor, queryFingerprint, toPage } from '../http/pagination.js'
import { NoContent, NotModified, problems, ref } from '../http/schemas.js'
import { visibilityOf } from '../articles/visibility.js'
import { toModeratedComment } from './repository.js'
import { CommentIdParams, CommentQueueQuery, ModeratedComment, ModeratedCommentList, UpdateCommentBody } from './schemas.js'
import { commentVisible, loadComment, view } from './views.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/comments', {
    config: { role: 'moderator' },
    schema: {
      tags: ['comments'],
      operationId: 'listComments',
      summary: 'The moderation queue',
      description: 'Comments across all articles, newest first by default. Filter by `status` (`pending` for the comments waiting for a decision; every status by default) and by `article` (a slug; an unknown slug lists nothing). Keyset-paginated. Only comments of the articles the caller can see: a moderator\'s queue leaves out the comments of drafts and of scheduled or archived articles (an editor\'s has them all); `article` naming one of those lists nothing.',
      querystring: CommentQueueQuery,
      headers: ConditionalHeaders,
      response: { 200: ref(ModeratedCommentList), 304: NotModified, ...problems(422) }
    }
  }, async (request, reply) => {
    const q = request.query
    const limit = q.limit ?? 20
    const fingerprint = queryFingerprint('comments', q)
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor, fingerprint, 2)
    // Only comments of articles the caller can see: a moderator does not see a draft, nor its comments.
    const visibility = visibilityOf(request, app.clock())
    const article = q.article === undefined ? undefined : await app.articles.findRowBySlug(q.article, visibility)
    const { rows, total } = q.article !== undefined && article === undefined
      ? { rows: [], total: q.include === 'total' ? 0 : undefined }
      : await app.comments.list({
        articleId: article?.id,
        visibility: article === undefined ? visibility : null,
        statuses: q.status === undefined || q.status === 'any' ? undefined : [q.status],
        descending: q.sort !== 'createdAt',
        after: cursor,
        limit,
        withTotal: q.include === 'total'
      })
    const page = toPage(request, reply, rows, { limit, fingerprint, total, keyOf: (r) => [r.createdAt, r.id], map: toModeratedComment })
    return sendTagged(request, reply, page)
  })

  app.patch('/comments/:id', {
    config: { role: 'moderator' },
    schema: {
      tags: ['comments'],
      operationId: 'updateComment',
      summary: 'Moderate or edit a comment',
      description: 'Set `status` to approve, unapprove (`pending`), or mark as `spam` or `trash`; edit `body`. The article\'s `commentCount` follows at once. A tombstone cannot be changed (409). With `If-Match`, a stale ETag is a 412 and nothing changes. A comment is seen exactly when its article is: a moderator, like the public, sees only published articles that are due (editors see every article); a comment on any other article is 404 to them.',
      params: CommentIdParams,
      headers: WriteHeaders,
      body: ref(UpdateCommentBody),
      response: { 200: ref(ModeratedComment), ...problems(400, 404, 409, 412, 413, 415, 422) }
    }
  }, async (request, reply) => {
    const updated = await writeIfMatch(request, {
      load: () => loadComment(app, request, request.params.id),
      etag: (record) => etagAs(reply, 'ModeratedComment', toModeratedComment(record)),
      write: (current, unchanged) => app.commentService.update(current, request.body, unchanged),
      // A moderator loses sight of a comment when its article is unpublished, which its ETag does not show.
      visible: (record) => commentVisible(app, request, record)
    })
    return view(request, reply).sendOne(updated)
  })

  app.delete('/comments/:id', {
    config: { role: 'moderator' },
    schema: {
      tags: ['comments'],
      operationId: 'deleteComment',
      summary: 'Delete a comment',
      description: 'A comment with replies stays as a tombstone (`status: "deleted"`, empty body, author fields null and erased from storage) so the thread keeps its shape; one without replies is removed, together with any tombstone above it left without replies. With `If-Match`, a stale ETag is a 412 and nothing is deleted. A comment is seen exactly when its article is: a moderator, like the public, sees only published articles that are due (editors see every article); a comment on any other article is 404 to them.',
      params: CommentIdParams,
      headers: WriteHeaders,
      response: { 204: NoContent, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => {
    await writeIfMatch(request, {
      load: () => loadComment(app, request, request.params.id),
      etag: (record) => etagAs(reply, 'ModeratedComment', toModeratedComment(record)),
      write: (current, unchanged) => app.commentService.delete(current, unchanged),
      // A moderator loses sight of a comment when its article is unpublished, which its ETag does not show.
      visible: (record) => commentVisible(app, request, record)
    })
    return reply.code(204).send()
  })
}

export default routes
