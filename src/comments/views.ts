// How each caller sees comments. Moderators and above get ModeratedComment; everyone else gets Comment,
// built field by field (toComment) AND serialised with the public schema, which has no private fields,
// so an email, IP or user agent cannot reach a caller below moderator even if a mapping went wrong.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { NotFound } from '../http/errors.js'
import { sendTagged } from '../http/etag.js'
import type { Page } from '../http/pagination.js'
import { ref } from '../http/schemas.js'
import { hasRole } from '../plugins/auth.js'
import { toComment, toModeratedComment, type CommentRecord } from './repository.js'
import { Comment, ModeratedComment } from './schemas.js'

// The schemas replies are serialised with. Module constants so that Fastify compiles each once per route.
const shapes = {
  public: { one: { $ref: 'Comment' }, list: { $ref: 'CommentList' } },
  moderator: { one: { $ref: 'ModeratedComment' }, list: { $ref: 'ModeratedCommentList' } }
}

/** The documented response of a route that answers either shape. */
export const eitherShape = (description: string, extra: Record<string, unknown> = {}) =>
  Type.Union([ref(Comment), ref(ModeratedComment)], { description, ...extra })

export function view (request: FastifyRequest, reply: FastifyReply) {
  const moderator = hasRole(request, 'moderator')
  const shape = moderator ? shapes.moderator : shapes.public
  // Different callers get different representations at the same URL.
  reply.header('vary', 'Authorization')
  /** Serialises before anything is sent, so a body that does not fit its schema fails as a clean 500. */
  function send (body: object, schema: { [key: string]: unknown }, status: number) {
    const json = reply.compileSerializationSchema(schema)(body as { [key: string]: unknown })
    // Only this body uses the precomputed JSON: an error raised after this point (a malformed
    // If-Match, say) must be serialised as its own problem, never replaced by the comment.
    reply.type('application/json; charset=utf-8').serializer((payload) => payload === body ? json : JSON.stringify(payload))
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
export async function loadComment (app: FastifyInstance, request: FastifyRequest, id: number): Promise<CommentRecord> {
  const record = await app.comments.findById(id)
  const visible = record !== undefined && (hasRole(request, 'moderator') || (record.status === 'approved' &&
    app.articles.isVisible({ status: record.articleStatus, publishedAt: record.articlePublishedAt }, { visibleAt: app.clock() })))
  if (!visible) throw new NotFound(`No comment ${id}.`)
  return record
}
