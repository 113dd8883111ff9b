// How each caller sees comments. Moderators and above get the private fields (ModeratedComment);
// everyone else gets the public fields, built field by field (toComment) AND serialised with PublicComment,
// which has no private fields, so an email, IP or user agent cannot reach a caller below moderator even
// if a mapping went wrong. The document names one model per route (Comment, its private fields optional).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TSchema } from 'typebox'
import { dependencyKeys as dk } from '../db/change-clock.js'
import { NotFound } from '../http/errors.js'
import type { Page } from '../http/pagination.js'
import { authorReaches as reachedByAuthor, commentVisible as visibleIn, viewOf } from '../articles/visibility.js'
import { toComment, toModeratedComment, type CommentRecord } from './repository.js'
import { PublicComment, PublicCommentList, PublicCreatedComment, type ModeratedComment } from './schemas.js'

// The schemas replies are serialised with: the same objects every time, so each is compiled once per route.
const shapes = {
  public: { one: PublicComment as TSchema, list: PublicCommentList as TSchema, created: PublicCreatedComment as TSchema },
  moderator: { one: { $ref: 'ModeratedComment' } as TSchema, list: { $ref: 'ModeratedCommentList' } as TSchema, created: { $ref: 'CreatedComment' } as TSchema }
}

/** The ETag of a comment as the public (and so its author) sees it: what an author's If-Match is checked against. */
export const publicEtag = (reply: FastifyReply, record: CommentRecord): string => reply.etagOf(toComment(record), shapes.public.one)

export function view (request: FastifyRequest, reply: FastifyReply) {
  const { moderator } = viewOf(request, request.server.clock())
  const shape = moderator ? shapes.moderator : shapes.public
  // Different callers get different representations at the same URL.
  reply.header('vary', 'Authorization')
  return {
    moderator,
    sendOne: (record: CommentRecord, status = 200) =>
      reply.represent(moderator ? toModeratedComment(record) : toComment(record), { as: shape.one, status, keys: [dk.comments(record.articleId)] }),
    /**
     * The 201 of a new comment, with its edit token. The ETag names the comment as a GET shows it (and
     * as If-Match is checked against), not this one-off body with its secret.
     */
    sendCreated: (record: CommentRecord, editToken: string | null) => {
      const body = moderator ? toModeratedComment(record) : toComment(record)
      return reply.represent({ ...body, editToken }, { as: shape.created, status: 201, etagOf: { body, as: shape.one } })
    },
    /** A page of the comments of article `articleId`. */
    sendList: (page: Page<PublicComment | ModeratedComment>, articleId?: number) =>
      reply.represent(page, { as: shape.list, keys: articleId === undefined ? undefined : [dk.comments(articleId)] })
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
