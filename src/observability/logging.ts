// Logs: pino, JSON lines (or pino-pretty for a terminal), and one line per request.
//
// Fastify's two default lines per request ("incoming request", "request completed") are turned off by
// the log controller below (its other lines, such as a response stream's error, stay); this plugin writes
// one line when the response is finished:
//   {"level":30,"time":…,"reqId":"…","trace_id":"…","method":"GET","route":"/v1/articles/:slug",
//    "url":"/v1/articles/pacific-fleet","status":200,"duration_ms":1.42,"msg":"request"}
// reqId and trace_id are bindings of the request's logger, so every other line a request logs carries
// them too. Probes and scrapes (/health…, /metrics) are logged at debug level, so that a probe every few
// seconds does not drown the log.
//
// What is never logged: request and response bodies, headers (Authorization, Comment-Token, cookies),
// client addresses. The redaction below is a second line of defence should an object carrying one of
// these fields ever be logged; test/process/logs.test.ts checks a whole session's log for them.
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'

const REDACT = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["comment-token"]',
  'headers.authorization', 'headers.cookie', 'headers["comment-token"]',
  'authorization', 'token', 'secret', 'editToken', 'email', 'authorEmail', 'body',
  '*.token', '*.secret', '*.editToken', '*.email', '*.authorEmail', '*.body'
]

// A statement that failed (Drizzle's DrizzleQueryError) carries its bound values: as `params`, and in its
// message ("Failed query: …\nparams: …"), which the stack repeats. A comment's are its author's email,
// address and body (a batch's, on PostgreSQL, every comment's of the batch). PostgreSQL's error (the cause)
// may name a value in its `detail`. The statement's text stays: it says what failed.
const REDACT_ERROR = ['err.params', 'err.detail', 'err.cause.params', 'err.cause.detail']
const ERROR_TEXT = ['err.message', 'err.stack', 'err.cause.message', 'err.cause.stack']
const PARAMS = /\nparams: [\s\S]*?(?=\n {4}at |$)/g

/** What replaces a redacted value: '[redacted]', or for an error's message and stack, the text less any bound values. */
function censor (value: unknown, path: string[]): unknown {
  const last = path[path.length - 1]
  return (last === 'message' || last === 'stack') && typeof value === 'string' ? value.replace(PARAMS, '\nparams: [redacted]') : '[redacted]'
}

/** Pino options for the server's logger: the level, the format (JSON unless pretty), the redaction. */
export function loggerOptions (config: Pick<Config, 'logLevel' | 'logFormat'>, isTTY: boolean): NonNullable<FastifyServerOptions['logger']> {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === undefined && isTTY)
  return {
    level: config.logLevel,
    redact: { paths: [...REDACT, ...REDACT_ERROR, ...ERROR_TEXT], censor },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
  }
}

/** Fastify's log lines, less the two per request that the request-log plugin replaces with one. */
export class OneLinePerRequest extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error) super.requestCompleted(error, request, reply, metadata)
  }
}

const QUIET = /^\/(health|metrics)(\/|$)/

export default fp(async (app) => {
  // No logger (tests, the bench's LOG_LEVEL=silent): no hook.
  const level: string | undefined = app.log.level
  if (level === undefined || level === 'silent') return
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url
    const status = reply.statusCode
    const line = {
      method: request.method,
      route: route ?? null,
      url: request.url,
      status,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100
    }
    if (status >= 500) request.log.error(line, 'request')
    else if (route !== undefined && QUIET.test(route)) request.log.debug(line, 'request')
    else request.log.info(line, 'request')
    done()
  })
  app.addHook('onRequestAbort', (request, done) => {
    request.log.info({ method: request.method, route: request.routeOptions.url ?? null, url: request.url, aborted: true }, 'request aborted by the client')
    done()
  })
}, { name: 'request-log' })
