import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { invalid } from '../http/errors.js'
import { ConditionalHeaders } from '../http/headers.js'
import { cursorKey } from '../http/cursor.js'
import { queryFingerprint, toPage } from '../http/pagination.js'
import { NotModified, problems, ref } from '../http/schemas.js'
import { eventJson } from './repository.js'
import { EventList, EventListQuery } from './schemas.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/events', {
    config: { role: 'admin' },
    schema: {
      tags: ['webhooks'],
      operationId: 'listEvents',
      summary: 'Read the event log',
      description: [
        'Every change the public could see, oldest first, as webhooks receive them: each event was recorded in the same transaction as its change, so none is missing after a crash and none exists for a change that did not happen. Filter by `type` (repeatable). Keyset-paginated: follow `page.nextCursor` to the end. To poll for what is new, keep the id of the last event you read and ask with `after`.',
        `Events are kept \`EVENT_RETENTION_DAYS\` (${app.config.eventRetentionDays} here). Webhook pings are not in the log. Erasing a commenter's data (\`POST /v1/privacy/erase\`) rewrites the events that showed their comments to show tombstones, in place: ids and order stay.`
      ].join('\n\n'),
      querystring: EventListQuery,
      headers: ConditionalHeaders,
      response: { 200: ref(EventList), 304: NotModified, ...problems(412, 422) }
    }
  }, async (request, reply) => {
    const q = request.query
    const limit = q.limit ?? 20
    const types = [...new Set(q.type ?? [])]
    const fingerprint = queryFingerprint('events', { type: types })
    const key = cursorKey(q.cursor, fingerprint, ['int'])
    if (key !== undefined && q.after !== undefined) throw invalid('query', '/after', 'cannot be combined with cursor')
    let afterSeq = key?.[0] ?? 0
    if (q.after !== undefined) {
      const seq = await app.events.seqOf(q.after)
      if (seq === undefined) throw invalid('query', '/after', 'is not the id of an event in the log (it may have expired)')
      afterSeq = seq
    }
    const rows = await app.events.list({ afterSeq, limit: limit + 1, types })
    const page = toPage(request, reply, rows, { limit, fingerprint, keyOf: (row) => [row.seq], map: eventJson })
    return reply.represent(`{"data":[${page.data.join(',')}],"page":${JSON.stringify(page.page)}}`)
  })
}

export default routes
