// Moderation: the queue across articles, status changes and edits, deletes (tombstones), for moderators
// and above. PATCH and DELETE also serve a comment's author, who proves it with the edit token from the
// 201 (`Comment-Token`) within COMMENT_EDIT_MINUTES, and is rate-limited like a post. The article's
// commentCount follows every change in the same transaction.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { Unauthorized } from '../http/errors.js'
import { writeIfMatch } from '../http/conditional.js'
import { ConditionalHeaders } from '../http/headers.js'
import { cursorKey } from '../http/cursor.js'
import { queryFingerprint, toPage } from '../http/pagination.js'
import { NoContent, NotModified, problems, ref } from '../http/schemas.js'
import { isVisible, viewOf } from '../articles/visibility.js'
import { hasRole } from '../plugins/auth.js'
import { COMMENT_WRITES, rateLimitedResponse } from './rate-limit.js'
import { keyOfSort, toModeratedComment, type CommentRecord } from './repository.js'
import { Comment, CommentIdParams, CommentQueueQuery, CommentWriteHeaders, ModeratedCommentList, UpdateCommentBody } from './schemas.js'
import { authorReaches, commentVisible, loadComment, loadForAuthor, publicEtag, view } from './views.js'

type Limiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** Either credential: a moderator's bearer token, or the comment's edit token (its author). */
const EITHER_CREDENTIAL: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { commentToken: [] }]

const AUTHOR_ACCESS = 'Moderators and above send their bearer token. A comment\'s author may instead send the `editToken` of its 201 as `Comment-Token`, for `COMMENT_EDIT_MINUTES` after posting (default 15): neither → 401; a wrong token, a closed window or a comment moderated to `spam` or `trash` → 403; a tombstone, or a comment of an article the public cannot see → 404. Authors\' requests count against the same `COMMENT_RATE_LIMIT` allowance as posts (429). An author\'s checks and write are one atomic step: should the comment change in between (a moderator\'s decision, another edit), the request is checked again against the comment as it now stands, and a comment that keeps changing is a 409 `conflict` that changed nothing.'

/** 401 before anything else when the request carries neither a bearer token nor a Comment-Token. */
async function requireCredentials (request: FastifyRequest): Promise<void> {
  if (request.caller.role === 'public' && request.headers['comment-token'] === undefined) {
    throw new Unauthorized('Send a bearer token (moderators and above), or the comment\'s edit token as Comment-Token (its author, within the edit window).')
  }
}

const routes: FastifyPluginAsyncTypebox<{ commentWrites: Limiter }> = async (app, opts) => {
  /** Authors' edits and deletes count like posts; moderators are not limited. */
  const authorsLimited = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!hasRole(request, 'moderator')) await opts.commentWrites(request, reply)
  }

  /**
   * How a PATCH or DELETE reads comment `id` for writeIfMatch: a moderator, the comment as moderators see
   * it; its author (Comment-Token), the public representation (whose ETag the 201 and GETs carry), and
   * only while the token, the window and the status allow (403) and the public sees the article (404).
   * A moderator's decision changes the public representation too, so it makes the author's write start
   * again from a fresh read, which then answers as the comment now stands.
   */
  function access (request: FastifyRequest, reply: FastifyReply, id: number) {
    if (hasRole(request, 'moderator')) {
      return {
        load: () => loadComment(app, request, id),
        etag: (record: CommentRecord) => reply.etagOf(toModeratedComment(record), 'ModeratedComment'),
        // A moderator loses sight of a comment when its article is unpublished, which its ETag does not show.
        visible: (record: CommentRecord) => commentVisible(app, request, record)
      }
    }
    const token = String(request.headers['comment-token'])
    return {
      load: () => loadForAuthor(app, id, token),
      etag: (record: CommentRecord) => publicEtag(reply, record),
      visible: (record: CommentRecord) => authorReaches(app, record)
    }
  }

  app.get('/comments', {
    config: { role: 'moderator' },
    schema: {
      tags: ['comments'],
      operationId: 'listComments',
      summary: 'The moderation queue',
      description: 'Comments across all articles, newest first by default, or the most reported first (`sort=-reportCount`). Filter by `status` (`pending` for the comments waiting for a decision; every status by default) and by `article` (a slug; an unknown slug lists nothing). Keyset-paginated. Only comments of the articles the caller can see: a moderator\'s queue leaves out the comments of drafts and of scheduled or archived articles (an editor\'s has them all); `article` naming one of those lists nothing.',
      querystring: CommentQueueQuery,
      headers: ConditionalHeaders,
      response: { 200: ref(ModeratedCommentList), 304: NotModified, ...problems(422) }
    }
  }, async (request, reply) => {
    const q = request.query
    const limit = q.limit ?? 20
    const sort = q.sort ?? '-createdAt'
    const fingerprint = queryFingerprint('comments', q)
    const cursor = sort === '-reportCount' ? cursorKey(q.cursor, fingerprint, ['row', 'int', 'row']) : cursorKey(q.cursor, fingerprint, ['int', 'row'])
    // Only comments of articles the caller can see: a moderator does not see a draft, nor its comments.
    const visibility = viewOf(request, app.clock()).articles
    const target = q.article === undefined ? undefined : await app.comments.findTarget(q.article)
    const article = target !== undefined && isVisible(target, visibility) ? target : undefined
    const { rows, total } = q.article !== undefined && article === undefined
      ? { rows: [], total: q.include === 'total' ? 0 : undefined }
      : await app.comments.list({
        articleId: article?.id,
        visibility: article === undefined ? visibility : null,
        statuses: q.status === undefined || q.status === 'any' ? undefined : [q.status],
        sort,
        after: cursor,
        limit,
        withTotal: q.include === 'total'
      })
    const page = toPage(request, reply, rows, { limit, fingerprint, total, keyOf: keyOfSort(sort), map: toModeratedComment })
    return reply.represent(page)
  })

  app.patch('/comments/:id', {
    preValidation: requireCredentials,
    preHandler: authorsLimited,
    schema: {
      tags: ['comments'],
      operationId: 'updateComment',
      summary: 'Moderate or edit a comment',
      description: [
        'Moderators set `status` to approve, unapprove (`pending`), or mark as `spam` or `trash`, and may edit `body`. The article\'s `commentCount` follows at once. A tombstone cannot be changed (409). A comment is seen exactly when its article is: a moderator, like the public, sees only published articles that are due (editors see every article); a comment on any other article is 404 to them.',
        'The comment\'s author may edit `body` only (`status` → 403). A changed body sets `edited: true` and `updatedAt`; an edit of an approved comment goes through moderation again, as a new comment would (`COMMENT_MODERATION`, `COMMENT_MAX_LINKS`; in `first` mode the comment itself does not count as its author\'s earlier approval), so it may return to `pending`. A pending comment stays pending. On an article whose comments are closed, authors cannot edit (409 `comments-closed`).',
        AUTHOR_ACCESS,
        'With `If-Match` (the ETag of the representation the caller sees), a stale ETag is a 412 and nothing changes.'
      ].join('\n\n'),
      params: CommentIdParams,
      headers: CommentWriteHeaders,
      security: EITHER_CREDENTIAL,
      body: ref(UpdateCommentBody),
      response: {
        200: Type.Unsafe({ ...ref(Comment), description: 'The comment as the caller sees it: with `authorEmail`, `ip`, `userAgent` and `reportCount` for moderators and above, without them for its author.' }),
        ...problems(400, 403, 404, 409, 412, 413, 415, 422),
        ...rateLimitedResponse(COMMENT_WRITES)
      }
    }
  }, async (request, reply) => {
    const moderator = hasRole(request, 'moderator')
    const updated = await writeIfMatch(request, {
      ...access(request, reply, request.params.id),
      write: (current, unchanged) => moderator
        ? app.commentService.update(current, request.body, unchanged)
        : app.commentService.editByAuthor(current, request.body, unchanged)
    })
    return view(request, reply).sendOne(updated)
  })

  app.delete('/comments/:id', {
    preValidation: requireCredentials,
    preHandler: authorsLimited,
    schema: {
      tags: ['comments'],
      operationId: 'deleteComment',
      summary: 'Delete a comment',
      description: [
        'A comment with replies stays as a tombstone (`status: "deleted"`, empty body, author fields null and erased from storage) so the thread keeps its shape; one without replies is removed, together with any tombstone above it left without replies. A comment is seen exactly when its article is: a moderator, like the public, sees only published articles that are due (editors see every article); a comment on any other article is 404 to them.',
        AUTHOR_ACCESS,
        'With `If-Match`, a stale ETag is a 412 and nothing is deleted.'
      ].join('\n\n'),
      params: CommentIdParams,
      headers: CommentWriteHeaders,
      security: EITHER_CREDENTIAL,
      response: { 204: NoContent, ...problems(403, 404, 409, 412, 422), ...rateLimitedResponse(COMMENT_WRITES) }
    }
  }, async (request, reply) => {
    await writeIfMatch(request, {
      ...access(request, reply, request.params.id),
      write: (current, unchanged) => app.commentService.delete(current, unchanged)
    })
    return reply.code(204).send()
  })
}

export default routes
