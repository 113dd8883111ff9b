// Errors Node's HTTP parser meets before Fastify sees a request (headers over maxHeaderSize, a request
// that is not HTTP, a client too slow to send its headers) answered as problem details too, written
// straight to the socket since there is no request object yet.
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

const problems: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers-too-large', 'The request line and headers are larger than the limit.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request-timeout', 'The request was not received in time.']
}

export function clientErrorHandler (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, name, detail] = problems[err.code ?? ''] ?? [400, 'malformed-request', 'The request is not valid HTTP.']
  const title = STATUS_CODES[status] ?? 'Bad Request'
  const body = JSON.stringify({ type: `/problems/${name}`, title, status, detail })
  this.log.debug({ err }, 'client error')
  if (!socket.writable) {
    socket.destroy(err)
    return
  }
  socket.end([
    `HTTP/1.1 ${status} ${title}`,
    'Connection: close',
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body
  ].join('\r\n'))
}

/**
 * Errors Fastify meets while routing, before any hook runs: a path with a broken percent-escape, and
 * (with a routerOptions.maxParamLength as long as the URL limit, rare) a path parameter over the limit.
 */
export function frameworkErrors (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const [status, name, title] = error.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? [414, 'uri-too-long', 'URI Too Long']
    : [400, 'malformed-request', 'Malformed Request']
  const instance = request.url.split('?')[0]
  reply.code(status).header('x-request-id', request.id).type('application/problem+json')
    .send(JSON.stringify({ type: `/problems/${name}`, title, status, detail: error.message, instance }))
}
