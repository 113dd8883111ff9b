// How each caller sees comments. Moderators and above get ModeratedComment; everyone else gets Comment,
// built field by field (toComment) AND serialised with the public schema, which has no private fields,
// so an email, IP or user agent cannot reach a caller below moderator even if a mapping went wrong.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { NotFound } from '../http/errors.js'
import { etagOf, sendRepresentation, serialiseAs } from '../http/etag.js'
import type { Page } from '../http/pagination.js'
import { ref } from '../http/schemas.js'
import { authorReaches as reachedByAuthor, commentVisible as visibleIn, viewOf } from '../articles/visibility.js'
import { toComment, toModeratedComment, type CommentRecord } from './repository.js'
import { Comment, ModeratedComment } from './schemas.js'

// The schemas replies are serialised with.
const shapes = {
  public: { one: 'Comment', list: 'CommentList', created: 'CreatedComment' },
  moderator: { one: 'ModeratedComment', list: 'ModeratedCommentList', created: 'CreatedModeratedComment' }
}

/** The documented response of a route that answers either shape. */
export const eitherShape = (description: string, extra: Record<string, unknown> = {}) =>
  Type.Union([ref(Comment), ref(ModeratedComment)], { description, ...extra })

export function view (request: FastifyRequest, reply: FastifyReply) {
  const { moderator } = viewOf(request, request.server.clock())
  const shape = moderator ? shapes.moderator : shapes.public
  // Different callers get different representations at the same URL.
  reply.header('vary', 'Authorization')
  function send (body: object, component: string, status: number) {
    const json = serialiseAs(reply, component, body)
    return sendRepresentation(request, reply, json, etagOf(json), status)
  }
  return {
    moderator,
    map: moderator ? toModeratedComment : toComment,
    sendOne: (record: CommentRecord, status = 200) =>
      send(moderator ? toModeratedComment(record) : toComment(record), shape.one, status),
    /**
     * The 201 of a new comment, with its edit token. The ETag names the comment as a GET shows it (and
     * as If-Match is checked against), not this one-off body with its secret.
     */
    sendCreated: (record: CommentRecord, editToken: string | null) => {
      const body = moderator ? toModeratedComment(record) : toComment(record)
      const json = serialiseAs(reply, shape.created, { ...body, editToken })
      return sendRepresentation(request, reply, json, etagOf(serialiseAs(reply, shape.one, body)), 201)
    },
    sendList: (page: Page<Comment | ModeratedComment>) => send(page, shape.list, 200)
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
  visibleIn(viewOf(request, app.clock()), record)

/**
 * Whether a comment's author (who acts as the public does) may still reach it: not a tombstone, and on an
 * article the public can see. See loadForAuthor.
 */
export const authorReaches = (app: FastifyInstance, record: CommentRecord): boolean => reachedByAuthor(record, app.clock())

/**
 * A comment its author may act on with `token`: 404 when it does not exist, is a tombstone or its
 * article is hidden from the public (as for every public caller); 403 for a wrong token, a closed
 * window or a comment moderated away (spam, trash), whatever its status otherwise (a pending comment
 * is its author's to fix).
 */
export async function loadForAuthor (app: FastifyInstance, id: number, token: string): Promise<CommentRecord> {
  const record = await app.comments.findById(id)
  if (record === undefined || !authorReaches(app, record)) throw new NotFound(`No comment ${id}.`)
  app.commentService.checkAuthor(record, token)
  return record
}
