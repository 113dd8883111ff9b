// The route contract: what every route's schema says beyond what the route itself declares — the
// problems any route can meet before its handler, the headers the pipeline reads, security and the
// notes that go with them. This is the only code that rewrites route schemas: src/app.ts runs
// `describeRoute` as one onRoute hook, before any route is registered, so every route gets the same
// rules in the same order. (src/http/documenter.ts is the other pass, over the whole generated document:
// bodiless responses, response headers, parameter descriptions.)
//
// The rules only add: a route's own response, header or description always wins a merge. They run in
// the order of ROUTE_RULES, which is the order of the committed document (descriptions: the role note,
// then the idempotency note; request headers: `content-encoding`, then `idempotency-key`). Response keys
// are integer-like, so they come out in numeric order whatever the insertion order.
//
// `describeRoute` is idempotent, and leaves HEAD-only routes alone. (Fastify's HEAD twins shared their GET's
// `schema` object, so describing both appended the role note twice; the server now makes no twins: GET
// routes serve HEAD themselves, src/plugins/route-pipeline.ts.)
import type { FastifyContextConfig } from 'fastify'
import { Type, type TSchema } from 'typebox'
import { ContentEncoding, IdempotencyKey } from './headers.js'
import { problems, ref } from './schemas.js'

/** What the contract reads of a route: Fastify's route options, or a plain object in a test. */
export interface ContractRoute {
  method: string | string[]
  url: string
  schema?: object
  config?: FastifyContextConfig
}

export interface RouteRule {
  name: string
  /** Why every route that matches gets it. */
  why: string
  applies (route: ContractRoute): boolean
  apply (route: ContractRoute): void
}

type Schema = Record<string, any>

const schemaOf = (route: ContractRoute): Schema | undefined => route.schema as Schema | undefined
/** The methods a route serves (Fastify takes one or a list). */
export const methodsOf = (route: ContractRoute): string[] => ([] as string[]).concat(route.method)
const documented = (route: ContractRoute): boolean => schemaOf(route)?.operationId !== undefined
export const hasMethod = (route: ContractRoute, methods: readonly string[]) => methodsOf(route).some((m) => methods.includes(m))

/** Adds responses the route does not declare itself. */
function addResponses (schema: Schema, responses: Record<number, TSchema>): void {
  schema.response = { ...responses, ...(schema.response as object | undefined) }
}

/** Adds a request header property the route does not declare itself. */
function addHeader (schema: Schema, name: string, header: TSchema): void {
  const headers = schema.headers ?? { type: 'object' }
  schema.headers = { ...headers, properties: { ...headers.properties, [name]: header } }
}

/** Appends a paragraph to the operation's description, once. */
function addNote (schema: Schema, note: string): void {
  const description = schema.description === undefined || schema.description === '' ? undefined : String(schema.description)
  if (description === undefined) schema.description = note
  else if (!description.split('\n\n').includes(note)) schema.description = `${description}\n\n${note}`
}

/** The 503 of a route that is never shed (`config: { shedding: false }`). */
const shuttingDownResponse = {
  503: Type.Unsafe({
    description: 'The server is shutting down (`/problems/shutting-down`): this request came on a connection that was open when the listener closed. Retry on a new connection (`Retry-After`).',
    content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
  })
}

export function roleNote (role: string): string {
  return `Needs a token with role \`${role}\`${role === 'admin' ? '' : ' or above'}.`
}

export function idempotencyNote (shownOnce: readonly string[] = []): string {
  const shown = shownOnce.length === 0
    ? ''
    : ` ${shownOnce.map((f) => `\`${f}\``).join(', ')} ${shownOnce.length === 1 ? 'is a secret' : 'are secrets'} shown once and never stored: in a replay ${shownOnce.length === 1 ? 'it is' : 'they are'} \`null\`.`
  return `Idempotent with an \`Idempotency-Key\` header: a retry with the same key and body within 24 h replays the first response (\`Idempotent-Replayed: true\`); the same key with another body is a 422, and while the first request is still running a 409.${shown}`
}

export const ROUTE_RULES: readonly RouteRule[] = [
  {
    name: 'closed-query',
    why: 'A documented route with no query parameters still refuses unknown ones (422), like every other.',
    applies: documented,
    apply: (route) => { schemaOf(route)!.querystring ??= Type.Object({}, { additionalProperties: false }) }
  },
  {
    name: 'request-line',
    why: 'Any request can have a broken URL escape (400) or a request target over the limit (414, src/plugins/limits.ts).',
    applies: documented,
    apply: (route) => addResponses(schemaOf(route)!, problems(400, 414))
  },
  {
    name: 'preconditions',
    why: 'Where If-Match is accepted, a stale validator is a 412; a conditional write that keeps meeting concurrent changes gives up with a 409 (src/http/conditional.ts).',
    applies: (route) => documented(route) && schemaOf(route)!.headers?.properties?.['if-match'] !== undefined,
    apply: (route) => addResponses(schemaOf(route)!, hasMethod(route, ['PATCH', 'PUT', 'DELETE']) ? problems(409, 412) : problems(412))
  },
  {
    name: 'body-limits',
    why: 'Fastify reads a body on these methods, whether or not the route wants one: too large is a 413, not JSON a 415.',
    applies: (route) => documented(route) && hasMethod(route, ['POST', 'PATCH', 'PUT', 'DELETE']),
    apply: (route) => addResponses(schemaOf(route)!, problems(413, 415))
  },
  {
    name: 'content-encoding',
    why: 'A body may come compressed (src/plugins/compression.ts): every operation that takes one documents the header.',
    applies: (route) => schemaOf(route)?.body !== undefined,
    apply: (route) => addHeader(schemaOf(route)!, 'content-encoding', ref(ContentEncoding))
  },
  {
    name: 'shedding',
    why: 'Any route may be shed under load (503, src/plugins/limits.ts); one that is never shed (probes, metrics) can still be refused while the server shuts down, and says only that.',
    applies: documented,
    apply: (route) => addResponses(schemaOf(route)!, route.config?.shedding === false ? shuttingDownResponse : problems(503))
  },
  {
    name: 'authentication',
    why: 'A route states the least role it needs (`config: { role }`): it then needs a bearer token (401) of that role (403). Public routes accept a token too, and refuse an unknown or revoked one (401). Checked at request time by src/plugins/auth.ts.',
    applies: () => true,
    apply: (route) => {
      const schema = (route.schema ??= {}) as Schema
      const role = route.config?.role
      if (!role) {
        if (documented(route)) addResponses(schema, problems(401))
        return
      }
      schema.security = [{ bearerAuth: [] }]
      addResponses(schema, problems(401, 403))
      addNote(schema, roleNote(role))
    }
  },
  {
    name: 'idempotency',
    why: 'Every POST takes an Idempotency-Key (src/plugins/idempotency.ts): the header is documented and validated, a key still in use is a 409.',
    applies: (route) => hasMethod(route, ['POST']) && route.schema !== undefined,
    apply: (route) => {
      const schema = schemaOf(route)!
      addHeader(schema, 'idempotency-key', IdempotencyKey)
      addNote(schema, idempotencyNote(route.config?.shownOnce))
      // The responses' Idempotent-Replayed header is documented with the others (src/http/documenter.ts).
      const response = (schema.response ??= {}) as Schema
      response[409] ??= problems(409)[409]
    }
  },
  {
    name: 'public-cache-declared',
    why: 'A public GET that answers 304 is one the public cache could keep (src/plugins/public-cache.ts): its author must say whether it may, with `config: { publicCache: true | false }`, so that none is cached, or left uncached, by accident.',
    applies: (route) => hasMethod(route, ['GET']) && route.config?.role === undefined && schemaOf(route)?.response?.[304] !== undefined,
    apply: (route) => {
      if (typeof route.config?.publicCache !== 'boolean') {
        throw new Error(`${methodsOf(route).join(',')} ${route.url} is a public GET that declares 304: set config.publicCache to true (its 200s may be served from memory, src/plugins/public-cache.ts) or false`)
      }
    }
  },
  {
    name: 'surrogate-key',
    why: 'A public GET the cache keeps names what its answer was read from in `Surrogate-Key` (src/plugins/public-cache.ts), on its 200s and 304s, so a CDN in front can purge by the same keys.',
    applies: (route) => documented(route) && hasMethod(route, ['GET']) && route.config?.publicCache === true,
    apply: (route) => {
      const response = (schemaOf(route)!.response ??= {}) as Schema
      for (const status of ['200', '304']) {
        const r = response[status] as Schema | undefined
        if (r === undefined || r.headers?.['surrogate-key'] !== undefined) continue
        response[status] = { ...r, headers: { ...r.headers, 'surrogate-key': { type: 'string' } } }
      }
    }
  },
  {
    name: 'response-names',
    why: 'A response that is a bare $ref gets a description naming what it is, not "Default Response".',
    applies: documented,
    apply: (route) => {
      for (const [status, response] of Object.entries((schemaOf(route)!.response ?? {}) as Record<string, Schema>)) {
        if (typeof response.$ref === 'string' && response.description === undefined) {
          response.description = `${status === '201' ? 'Created: the new ' : ''}${response.$ref.replace(/^.*\//, '')}.`
        }
      }
    }
  }
]

/**
 * Applies ROUTE_RULES to a route's schema, in order. Idempotent; a HEAD-only route is left alone (GET
 * routes serve HEAD too, src/plugins/route-pipeline.ts, and are described once as GETs).
 */
export function describeRoute (route: ContractRoute): void {
  const methods = methodsOf(route)
  if (methods.length > 0 && methods.every((m) => m === 'HEAD')) return
  for (const rule of ROUTE_RULES) {
    if (rule.applies(route)) rule.apply(route)
  }
}
