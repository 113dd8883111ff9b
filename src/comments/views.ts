// How each caller sees comments. Moderators and above get the private fields (ModeratedComment);
// everyone else gets the public fields, built field by field (toComment) AND serialised with PublicComment,
// which has no private fields, so an email, IP or user agent cannot reach a caller below moderator even
// if a mapping went wrong. The document names one model per route (Comment, its private fields optional).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TSchema } from 'typebox'
import { NotFound } from '../http/errors.js'
import { etagOf, sendRepresentation } from '../http/etag.js'
import type { Page } from '../http/pagination.js'
import { hasRole } from '../plugins/auth.js'
import { visibilityOf } from '../articles/visibility.js'
import { toComment, toModeratedComment, type CommentRecord } from './repository.js'
import { PublicComment, PublicCommentList, type ModeratedComment } from './schemas.js'

// The schemas replies are serialised with: the same objects every time, so each is compiled once per route.
const shapes = {
  public: { one: PublicComment as TSchema, list: PublicCommentList as TSchema },
  moderator: { one: { $ref: 'ModeratedComment' } as TSchema, list: { $ref: 'ModeratedCommentList' } as TSchema }
}

export function view (request: FastifyRequest, reply: FastifyReply) {
  const moderator = hasRole(request, 'moderator')
  const shape = moderator ? shapes.moderator : shapes.public
  // Different callers get different representations at the same URL.
  reply.header('vary', 'Authorization')
  function send (body: object, schema: TSchema, status: number) {
    const json = reply.compileSerializationSchema(schema as Record<string, unknown>)(body as Record<string, unknown>)
    return sendRepresentation(request, reply, json, etagOf(json), status)
  }
  return {
    moderator,
    map: moderator ? toModeratedComment : toComment,
    sendOne: (record: CommentRecord, status = 200) =>
      send(moderator ? toModeratedComment(record) : toComment(record), shape.one, status),
    sendList: (page: Page<PublicComment | ModeratedComment>) => send(page, shape.list, 200)
  }
}

/**
 * A comment the caller may see, or 404. Its article first: a comment is seen only by a caller who can see
 * its article (moderators too). Then its status: moderators see every comment, the public approved ones.
 */
export async function loadComment (app: FastifyInstance, request: FastifyRequest, id: number): Promise<CommentRecord> {
  const record = await app.comments.findById(id)
  if (record === undefined || !commentVisible(app, request, record)) throw new NotFound(`No comment ${id}.`)
  return record
}

/** Whether the caller may see this comment: see loadComment. */
export const commentVisible = (app: FastifyInstance, request: FastifyRequest, record: CommentRecord): boolean =>
  app.articles.isVisible({ status: record.articleStatus, publishedAt: record.articlePublishedAt }, visibilityOf(request, app.clock())) &&
  (hasRole(request, 'moderator') || record.status === 'approved')
