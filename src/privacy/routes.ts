// Data-subject requests (GDPR articles 15 and 17), for admins: export everything Gazette holds about a
// commenter's address, and erase it. POST with the address in the body: never in a URL or a log line.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { cursorKey } from '../http/cursor.js'
import { queryFingerprint, toPage } from '../http/pagination.js'
import { problems, ref } from '../http/schemas.js'
import { toModeratedComment } from '../comments/repository.js'
import { ModeratedCommentList } from '../comments/schemas.js'
import { normaliseEmail } from '../comments/service.js'
import { ErasureResult, PrivacyEraseRequest, PrivacyExportRequest } from './schemas.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/privacy/export', {
    config: { role: 'admin' },
    schema: {
      tags: ['privacy'],
      operationId: 'exportPersonalData',
      summary: 'Export a commenter\'s data',
      description: [
        'Every comment by the address, matched case-insensitively, in every status, oldest first, with the private fields (`authorEmail`, `ip`, `userAgent`) and the article each belongs to: the answer to a data-subject access request. Tombstones hold nothing of their author and are not included.',
        'Paginated like every list, with `limit` (1–100, default 20) and `cursor` in the body instead of the query string: send `page.nextCursor` back with the same `email` until it is null. No `Link` header, since the next page has no URL.',
        'The address is never in the URL, so it never reaches access logs. A stored response to an `Idempotency-Key` holds these data for a day; erasing the address deletes it too.'
      ].join('\n\n'),
      body: ref(PrivacyExportRequest),
      response: { 200: ref(ModeratedCommentList), ...problems(400, 413, 415, 422) }
    }
  }, async (request, reply) => {
    const { email, cursor } = request.body
    const limit = request.body.limit ?? 20
    const fingerprint = queryFingerprint('privacy/export', { email: normaliseEmail(email) })
    const afterId = cursorKey(cursor, fingerprint, ['row'], 'body')?.[0] ?? 0
    const rows = await app.comments.listByEmail(email, afterId, limit)
    return reply.send(toPage(request, reply, rows, { limit, fingerprint, keyOf: (r) => [r.id], map: toModeratedComment, link: false }))
  })

  app.post('/privacy/erase', {
    config: { role: 'admin' },
    schema: {
      tags: ['privacy'],
      operationId: 'erasePersonalData',
      summary: 'Erase a commenter\'s data',
      description: [
        'Every comment by the address (matched case-insensitively) becomes a tombstone if it has replies (`status: "deleted"`, no body, no author fields) and disappears otherwise, with any tombstone above it left without replies; articles\' `commentCount`s follow. The address, and the IPs and user agents its comments came from, leave every table that held them: comments, reports (which keep counting but no longer name a client), and the stored responses of `Idempotency-Key` requests. On SQLite, deleted data are overwritten in the database file, not left in free space; on PostgreSQL, which has no such setting, they leave every table at once, but their old row versions stay in the database files until `VACUUM` (autovacuum) frees that space and new rows overwrite it, and in the write-ahead log until it is recycled.',
        'The event log follows, in the same transaction: each erased comment the public could see gets a `comment.removed` event, and the `comment.approved` and `comment.edited` events that carried an erased comment\'s author name and words show it as a tombstone instead (the log keeps its ids and order); their webhook deliveries not yet made are dropped, those made stay in the delivery log, which holds no comment data.',
        'Idempotent: a repeat finds nothing left and answers `{ "erased": 0 }`. The address is never in the URL, so it never reaches access logs; the log records only how many comments were erased.'
      ].join('\n\n'),
      body: ref(PrivacyEraseRequest),
      response: { 200: ref(ErasureResult), ...problems(400, 413, 415, 422) }
    }
  }, async (request) => {
    const { erased, checkpointed } = await app.privacy.erase(request.body.email, app.clock())
    request.log.info({ erased, checkpointed }, 'personal data erased')
    return { erased }
  })
}

export default routes
