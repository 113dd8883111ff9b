// Protection against overload and oversized input: load shedding (503 + Retry-After while the event
// loop is saturated, or while shutting down), a cap on the request target's length (414) and on JSON
// nesting depth (400).
// The body size (413) is Fastify's bodyLimit; the header size (431) is Node's maxHeaderSize, answered by
// src/http/client-errors.ts. Both are set where the server is made, in src/app.ts.
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { HttpProblem } from '../http/errors.js'

/** Seconds a shed client is asked to wait. */
export const RETRY_AFTER = 10

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: never shed this route (liveness, readiness and metrics must answer under load). Its 503 is documented by src/http/route-contract.ts. */
    shedding?: boolean
  }
  interface FastifyInstance {
    /** Whether requests are being shed now (the load sample is over a limit). */
    shedding: () => boolean
  }
}

class Overloaded extends HttpProblem {
  constructor () {
    super(503, 'overloaded', 'Service Unavailable', `The server is overloaded; retry in ${RETRY_AFTER} seconds.`, undefined, { 'retry-after': String(RETRY_AFTER) })
  }
}

/**
 * How deeply arrays and objects nest in a JSON text, counted without parsing it (brackets inside
 * strings do not count), stopping as soon as `max` is exceeded.
 */
export function jsonDepthExceeds (text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) {
      inString = true
    } else if (c === 91 || c === 123) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) {
      depth--
    }
  }
  return false
}

export default fp(async (app) => {
  const { config } = app

  // The load is sampled every LOAD_SAMPLE_INTERVAL by @fastify/under-pressure, from the moment it is
  // registered. Its first samples after start-up measure start-up itself (migrations, compiling every
  // route's schemas, which block the event loop for a second or more), so a server that had just started
  // answered 503 to everything, /health included, and readiness probes flapped (issue 13, item 10).
  // Pressure is acted on only once a whole sample has been taken after the server was ready (and, when it
  // listens, after it started listening): two intervals after that moment, the value in force is one
  // measured entirely after it.
  const interval = Math.max(10, config.loadSampleInterval)
  let settledAt = Infinity
  const settleFrom = () => { settledAt = Date.now() + 2 * interval }
  app.addHook('onReady', async () => { settleFrom() })
  app.addHook('onListen', async () => { settleFrom() })
  const settled = () => Date.now() >= settledAt

  // Called by under-pressure when a sample is over a limit; /health goes through it too, so an
  // overloaded instance reports 503 and a load balancer steers away.
  function pressureHandler (request: FastifyRequest, _reply: FastifyReply): Promise<void> | undefined {
    if (!settled() || request.routeOptions.config.shedding === false) return undefined
    return Promise.reject(new Overloaded())
  }
  await app.register(underPressure, {
    maxEventLoopDelay: config.maxEventLoopDelay,
    maxEventLoopUtilization: config.maxEventLoopUtilization,
    eventLoopUtilizationMode: 'interval',
    sampleInterval: interval,
    pressureHandler
  })
  app.decorate('shedding', () => settled() && app.isUnderPressure())

  // Once closing, a request that still arrives on an open connection (pipelined, or on a keep-alive
  // connection busy when the signal came) is refused as a problem; Fastify's return503OnClosing would
  // send its own non-problem JSON, so app.ts turns that off in favour of this.
  let closing = false
  app.addHook('preClose', async () => { closing = true })

  app.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
    if (closing) {
      done(new HttpProblem(503, 'shutting-down', 'Service Unavailable', 'The server is shutting down; retry on a new connection.', undefined, { connection: 'close', 'retry-after': '1' }))
    } else if (request.url.length > config.maxUrlLength) {
      done(new HttpProblem(414, 'uri-too-long', 'URI Too Long', `The request target is longer than ${config.maxUrlLength} characters.`))
    } else {
      done()
    }
  })

  // Fastify's own JSON parser (secure-json-parse: __proto__ and constructor.prototype keys are refused),
  // behind a depth check: a deeply nested body would otherwise cost stack in every later step.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonDepthExceeds(body as string, config.maxJsonDepth)) {
      done(new HttpProblem(400, 'malformed-request', 'Malformed Request', `The JSON body nests deeper than ${config.maxJsonDepth} levels.`), undefined)
      return
    }
    parseJson(request, body as string, done)
  })
}, { name: 'limits' })
