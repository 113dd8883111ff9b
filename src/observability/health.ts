// Health for load balancers and orchestrators:
// - GET /health: 200 when the database answers (the contract's, unchanged; shed under overload like any
//   route, so a plain load balancer steers away from an overloaded instance);
// - GET /health/live: 200 while the process answers at all. Never shed, never touches the database: a
//   liveness probe that failed under load or on a database hiccup would get a busy process restarted;
// - GET /health/ready: 200 when this instance should get traffic: the database answers, every migration
//   is applied, the server is not shutting down and not shedding load; else 503 naming what is wrong.
//   Goes false as soon as shutdown begins (src/server.ts: before the listener closes, SHUTDOWN_DELAY).
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import { databaseHealth } from '../db/health.js'
import { databaseHealthPg } from '../db/pg/health.js'
import { HttpProblem } from '../http/errors.js'
import { StringEnum, problems, ref } from '../http/schemas.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Marks the instance as shutting down: /health/ready answers 503 from now on. */
    beginShutdown: () => void
  }
}

/** The one value a passed check has; a named enum, so that generators make one type of it, not one per property. */
export const CheckResult = StringEnum(['ok'], {
  $id: 'CheckResult',
  title: 'CheckResult',
  description: 'A check that passed. A failed check is not a value here: the answer is then a 503 problem naming it.'
})

const ok = ref(CheckResult)

export const HealthStatus = Type.Object({ status: ok }, {
  $id: 'HealthStatus',
  title: 'HealthStatus',
  additionalProperties: false,
  examples: [{ status: 'ok' }]
})

export const Readiness = Type.Object({
  status: ok,
  checks: Type.Object({ database: ok, migrations: ok, shutdown: ok, load: ok }, {
    additionalProperties: false,
    description: '`database`: the database answers. `migrations`: every migration of this build is applied. `shutdown`: not shutting down. `load`: not shedding load.'
  })
}, {
  $id: 'Readiness',
  title: 'Readiness',
  description: 'Ready for traffic: every check passed.',
  additionalProperties: false,
  examples: [{ status: 'ok', checks: { database: 'ok', migrations: 'ok', shutdown: 'ok', load: 'ok' } }]
})

const notReadyResponse = Type.Unsafe({
  description: 'Not ready (`/problems/not-ready`): `detail` names each failed check, e.g. "Not ready: shutting down; shedding load.". Also `/problems/shutting-down` for a request that arrives on an open connection once the listener is closing.',
  headers: { 'retry-after': { type: 'integer', minimum: 0, description: 'Seconds before asking again.', examples: [1] } },
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
})

const notReady = (reasons: string[]) =>
  new HttpProblem(503, 'not-ready', 'Service Unavailable', `Not ready: ${reasons.join('; ')}.`, undefined, { 'retry-after': '1' })

export default fp(async (app) => {
  app.addSchema(CheckResult)
  app.addSchema(HealthStatus)
  app.addSchema(Readiness)
  const database = app.storage.engine === 'postgres' ? databaseHealthPg(app.storage.db) : databaseHealth(app.db)
  let draining = false
  app.decorate('beginShutdown', () => { draining = true })
  app.addHook('preClose', async () => { draining = true })

  const noStore = { 'cache-control': 'no-store' }

  app.get('/health', {
    schema: {
      tags: ['meta'],
      operationId: 'getHealth',
      summary: 'Health check',
      description: '200 when the database answers, 503 otherwise (and, like every route, 503 `overloaded` while the server sheds load). For orchestrators, `/health/live` and `/health/ready` split the question.',
      response: {
        200: Type.Unsafe({ ...ref(HealthStatus), description: 'The database answers.' }),
        ...problems(422, 503)
      }
    }
  }, async (request) => {
    try {
      await database.ping()
    } catch (err) {
      request.log.error({ err }, 'health check failed')
      throw new HttpProblem(503, 'unavailable', 'Service Unavailable', 'The database does not answer.')
    }
    return { status: 'ok' as const }
  })

  app.get('/health/live', {
    config: { shedding: false },
    schema: {
      tags: ['meta'],
      operationId: 'getLiveness',
      summary: 'Liveness probe',
      description: '200 whenever the process answers HTTP. Checks nothing else and is never shed: restart the process only when this fails (Kubernetes `livenessProbe`, systemd watchdogs).',
      response: { 200: Type.Unsafe({ ...ref(HealthStatus), description: 'The process answers.' }), ...problems(422) }
    }
  }, async (_request, reply) => {
    reply.headers(noStore)
    return { status: 'ok' as const }
  })

  app.get('/health/ready', {
    config: { shedding: false },
    schema: {
      tags: ['meta'],
      operationId: 'getReadiness',
      summary: 'Readiness probe',
      description: '200 when this instance should receive traffic: the database answers, every migration of this build is applied, the server is not shutting down and is not shedding load. Otherwise 503 `/problems/not-ready`, whose `detail` names every failed check. Goes 503 as soon as graceful shutdown begins, while requests are still served (`SHUTDOWN_DELAY`), so a load balancer stops sending traffic before the listener closes (Kubernetes `readinessProbe`).',
      response: { 200: Type.Unsafe({ ...ref(Readiness), description: 'Every check passed: send traffic here.' }), ...problems(422), 503: notReadyResponse }
    }
  }, async (request, reply) => {
    const reasons: string[] = []
    try {
      await database.ping()
      if (!await database.migrated()) reasons.push('the database lacks migrations this build needs')
    } catch (err) {
      request.log.error({ err }, 'readiness: the database does not answer')
      reasons.push('the database does not answer')
    }
    if (draining) reasons.push('shutting down')
    if (app.shedding()) reasons.push('shedding load')
    reply.headers(noStore)
    if (reasons.length > 0) throw notReady(reasons)
    return { status: 'ok' as const, checks: { database: 'ok' as const, migrations: 'ok' as const, shutdown: 'ok' as const, load: 'ok' as const } }
  })
}, { name: 'health', dependencies: ['db', 'limits'] })
