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
import { DrizzleQueryError } from 'drizzle-orm'
import type { Config } from '../config.js'

const REDACT = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["comment-token"]',
  'headers.authorization', 'headers.cookie', 'headers["comment-token"]',
  'authorization', 'token', 'secret', 'editToken', 'email', 'authorEmail', 'body',
  '*.token', '*.secret', '*.editToken', '*.email', '*.authorEmail', '*.body'
]

// A statement that failed (Drizzle's DrizzleQueryError) carries its bound values: as `params`, and in its
// message ("Failed query: …\nparams: …"), which the stack repeats. A comment's are its author's email,
// address and body (a batch's, on PostgreSQL, every comment's of the batch). Before pino serializes an
// error, the values are taken out of it and of every error in its cause chain (withoutValues, by the exact
// text Drizzle wrote, whatever the values hold); the statement's text stays: it says what failed.
// PostgreSQL's error may name a value in its `detail`: redacted too.
const REDACT_ERROR = ['err.params', 'err.detail']

/** `err`, or a copy of it (same class) whose message and stack hold no bound values, nor those of its causes. */
export function withoutValues (err: Error): Error {
  const cause = err.cause instanceof Error ? withoutValues(err.cause) : err.cause
  if (!(err instanceof DrizzleQueryError) && cause === err.cause) return err
  const values = err instanceof DrizzleQueryError ? `\nparams: ${String(err.params)}` : undefined
  const clean = (text: string | undefined): string | undefined =>
    values === undefined || text === undefined ? text : text.split(values).join('\nparams: [redacted]')
  const copy = Object.assign(Object.create(Object.getPrototypeOf(err) as object) as Error, err)
  Object.defineProperties(copy, {
    message: { value: clean(err.message), writable: true, configurable: true },
    stack: { value: clean(err.stack), writable: true, configurable: true },
    cause: { value: cause, writable: true, configurable: true, enumerable: Object.prototype.propertyIsEnumerable.call(err, 'cause') }
  })
  if ('params' in copy) (copy as { params: unknown }).params = '[redacted]'
  return copy
}

/** Pino options for the server's logger: the level, the format (JSON unless pretty), the redaction. */
export function loggerOptions (config: Pick<Config, 'logLevel' | 'logFormat'>, isTTY: boolean): NonNullable<FastifyServerOptions['logger']> {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === undefined && isTTY)
  return {
    level: config.logLevel,
    redact: { paths: [...REDACT, ...REDACT_ERROR], censor: '[redacted]' },
    // `log.error({ err }, …)` and `log.error(err)` (whose message becomes the line's msg) alike.
    hooks: {
      logMethod (args, method) {
        const [first] = args as unknown[]
        if (first instanceof Error) args[0] = withoutValues(first) as never
        else if (typeof first === 'object' && first !== null && (first as { err?: unknown }).err instanceof Error) {
          args[0] = { ...first, err: withoutValues((first as { err: Error }).err) } as never
        }
        return method.apply(this, args)
      }
    },
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
