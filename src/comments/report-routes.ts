// Readers flag comments: POST /v1/comments/{id}/reports. Public and rate-limited; one report per client
// and comment (a repeat is accepted and changes nothing); at COMMENT_REPORT_THRESHOLD reports an
// approved comment goes back to pending (src/comments/reports.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { NotFound } from '../http/errors.js'
import { problems, ref } from '../http/schemas.js'
import { rateLimitedResponse, rateLimitHeaders, REPORTS } from './rate-limit.js'
import { CommentIdParams, CreateReportBody } from './schemas.js'
import { loadComment } from './views.js'

type Limiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

// Bodiless (`type: 'null'` keeps @fastify/swagger from inventing a content), and the same answer whether
// or not the report counted, so it tells nothing about others' reports.
const accepted = Type.Unsafe<undefined>({
  type: 'null',
  description: 'Accepted: the report is recorded, or this client had already reported the comment and nothing changed.',
  headers: rateLimitHeaders(REPORTS)
})

const routes: FastifyPluginAsyncTypebox<{ reports: Limiter }> = async (app, opts) => {
  app.post('/comments/:id/reports', {
    preHandler: opts.reports,
    schema: {
      tags: ['comments'],
      operationId: 'reportComment',
      summary: 'Report a comment',
      description: [
        'Open to everyone who can see the comment (anything else is 404, as for `GET /v1/comments/{id}`). One report per client and comment counts: a repeat, with whatever reason, is a 202 that changes nothing. The client is remembered by a keyed hash of its address (or of its token), never the address itself.',
        'Moderators see each comment\'s `reportCount` and can sort the queue by it (`GET /v1/comments?sort=-reportCount`). When an approved comment\'s count reaches `COMMENT_REPORT_THRESHOLD` (default 3), it goes back to `pending` until a moderator decides.',
        'At most `COMMENT_RATE_LIMIT` reports a minute per client address (429 with `Retry-After`), counted apart from comments.'
      ].join('\n\n'),
      params: CommentIdParams,
      body: ref(CreateReportBody),
      response: { 202: accepted, ...problems(400, 404, 413, 415, 422), ...rateLimitedResponse(REPORTS) }
    }
  }, async (request, reply) => {
    const record = await loadComment(app, request, request.params.id)
    if (record.status === 'deleted') throw new NotFound(`No comment ${record.id}.`)
    const identity = request.caller.tokenId !== null ? `token:${request.caller.tokenId}` : `client:${request.ip}`
    await app.reportService.report(record.id, identity, request.body.reason)
    return reply.code(202).send()
  })
}

export default routes
