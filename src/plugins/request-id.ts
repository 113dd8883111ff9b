// X-Request-Id: a client's own id when it is sane (so that logs on both sides share one), else a UUID; sent
// back on every answer, the earliest refusals included. `requestId` is the server's genReqId
// (src/app.ts, serverOptions); the hook echoes it.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'

const REQUEST_ID = /^[\w.:@-]{1,128}$/

export function requestId (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

export default fp(async (app) => {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
}, { name: 'request-id' })
