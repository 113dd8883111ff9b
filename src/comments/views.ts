// How each caller sees comments. Moderators and above get the private fields (ModeratedComment);
// everyone else gets the public fields, built field by field (toComment) AND serialised with PublicComment,
// which has no private fields, so an email, IP or user agent cannot reach a caller below moderator even
// if a mapping went wrong. The document names one model per route (Comment, its private fields optional).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TSchema } from 'typebox'
import { NotFound } from '../http/errors.js'
import { etagOf, sendRepresentation } from '../http/etag.js'
import type { Page } from '../http/pagination.js'
import { authorReaches as reachedByAuthor, commentVisible as visibleIn, viewOf } from '../articles/visibility.js'
import { toComment, toModeratedComment, type CommentRecord } from './repository.js'
import { PublicComment, PublicCommentList, PublicCreatedComment, type ModeratedComment } from './schemas.js'

// The schemas replies are serialised with: the same objects every time, so each is compiled once per route.
const shapes = {
  public: { one: PublicComment as TSchema, list: PublicCommentList as TSchema, created: PublicCreatedComment as TSchema },
  moderator: { one: { $ref: 'ModeratedComment' } as TSchema, list: { $ref: 'ModeratedCommentList' } as TSchema, created: { $ref: 'CreatedComment' } as TSchema }
}

/** A comment as `schema` serialises it. */
const serialise = (reply: FastifyReply, schema: TSchema, body: object): string =>
  reply.compileSerializationSchema(schema as Record<string, unknown>)(body as Record<string, unknown>)

/** The ETag of a comment as the public (and so its author) sees it: what an author's If-Match is checked against. */
export const publicEtag = (reply: FastifyReply, record: CommentRecord): string => etagOf(serialise(reply, shapes.public.one, toComment(record)))

export function view (request: FastifyRequest, reply: FastifyReply) {
  const { moderator } = viewOf(request, request.server.clock())
  const shape = moderator ? shapes.moderator : shapes.public
  // Different callers get different representations at the same URL.
  reply.header('vary', 'Authorization')
  function send (body: object, schema: TSchema, status: number) {
    const json = serialise(reply, schema, body)
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
      const json = serialise(reply, shape.created, { ...body, editToken })
      return sendRepresentation(request, reply, json, etagOf(serialise(reply, shape.one, body)), 201)
    },
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
