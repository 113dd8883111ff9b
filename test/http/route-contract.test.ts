// The route contract (src/http/route-contract.ts) on plain route objects, and over the generated document.
import t from 'tap'
import { Type } from 'typebox'
import { describeRoute, idempotencyNote, roleNote, ROUTE_RULES, type ContractRoute } from '../../src/http/route-contract.js'
import { generateOpenApi } from '../../src/openapi-document.js'

type Json = Record<string, any>
const schemaOf = (route: ContractRoute) => route.schema as Json
const statuses = (route: ContractRoute) => Object.keys(schemaOf(route).response ?? {}).map(Number).sort((a, b) => a - b)

const createRoute = (): ContractRoute => ({
  method: 'POST',
  url: '/v1/things',
  config: { role: 'editor', shownOnce: ['token'] },
  schema: {
    operationId: 'createThing',
    description: 'Creates a thing.',
    headers: Type.Object({ 'x-own': Type.String() }),
    body: Type.Object({ name: Type.String() }),
    response: { 201: Type.Ref('Thing'), 422: Type.Unsafe({ description: 'The route\'s own 422.' }) }
  }
})

t.test('the rules run in the order of the committed document', async (t) => {
  t.same(ROUTE_RULES.map((r) => r.name), [
    'closed-query', 'request-line', 'preconditions', 'body-limits', 'content-encoding', 'shedding', 'authentication', 'idempotency',
    'public-cache-declared', 'surrogate-key', 'response-names'
  ])
  for (const rule of ROUTE_RULES) t.ok(rule.why.length > 20, `${rule.name} says why`)
})

t.test('a documented POST with a body, a role and a shown-once secret', async (t) => {
  const route = createRoute()
  describeRoute(route)
  const schema = schemaOf(route)
  t.same(statuses(route), [201, 400, 401, 403, 409, 413, 414, 415, 422, 500, 503])
  t.equal(schema.response[422].description, 'The route\'s own 422.', 'the route\'s own response wins')
  t.equal(schema.response[201].description, 'Created: the new Thing.')
  t.same(Object.keys(schema.headers.properties), ['x-own', 'content-encoding', 'idempotency-key'])
  t.same(schema.headers.properties['content-encoding'], { $ref: 'ContentEncoding' })
  t.same(schema.security, [{ bearerAuth: [] }])
  t.equal(schema.description, `Creates a thing.\n\n${roleNote('editor')}\n\n${idempotencyNote(['token'])}`)
  t.match(schema.description, /`token` is a secret shown once/)
  t.same(schema.querystring, { type: 'object', properties: {}, additionalProperties: false }, 'a closed query')
})

t.test('describeRoute twice is describeRoute once', async (t) => {
  const once = createRoute()
  describeRoute(once)
  const twice = createRoute()
  describeRoute(twice)
  describeRoute(twice)
  t.same(JSON.parse(JSON.stringify(twice.schema)), JSON.parse(JSON.stringify(once.schema)))
})

t.test('the HEAD twin shares its GET\'s schema and leaves it alone (the role note was doubled)', async (t) => {
  const get: ContractRoute = {
    method: 'GET',
    url: '/v1/tokens',
    config: { role: 'admin' },
    schema: { operationId: 'listTokens', summary: 'List tokens', response: { 200: Type.Ref('TokenList') } }
  }
  // Fastify's HEAD twin: a shallow copy of the GET's options, made before its onRoute hooks run.
  const head: ContractRoute = { ...get, method: 'HEAD' }
  describeRoute(get)
  describeRoute(head)
  t.equal(schemaOf(get).description, roleNote('admin'), 'the role note once')
  t.equal(schemaOf(get).response[200].description, 'TokenList.')
  t.same(statuses(get), [200, 400, 401, 403, 414, 500, 503])
})

t.test('preconditions: 412 where If-Match is accepted, and 409 on writes', async (t) => {
  const ifMatch = Type.Object({ 'if-match': Type.String() })
  const patch: ContractRoute = { method: 'PATCH', url: '/x', schema: { operationId: 'patchX', headers: ifMatch, body: Type.Object({}) } }
  const get: ContractRoute = { method: 'GET', url: '/x', schema: { operationId: 'getX', headers: ifMatch } }
  const plain: ContractRoute = { method: 'DELETE', url: '/y', schema: { operationId: 'deleteY' } }
  for (const route of [patch, get, plain]) describeRoute(route)
  t.same(statuses(patch), [400, 401, 409, 412, 413, 414, 415, 500, 503])
  t.same(statuses(get), [400, 401, 412, 414, 500, 503])
  t.same(statuses(plain), [400, 401, 413, 414, 415, 500, 503], 'no If-Match: no 412, no 409')
})

t.test('a route that is never shed documents only the shutting-down 503', async (t) => {
  const route: ContractRoute = { method: 'GET', url: '/health/live', config: { shedding: false }, schema: { operationId: 'live' } }
  describeRoute(route)
  t.match(schemaOf(route).response[503].description, /shutting down/)
})

t.test('without an operationId only content-encoding, the role and idempotency apply, as before', async (t) => {
  const post: ContractRoute = { method: 'POST', url: '/internal', config: { role: 'admin' }, schema: { body: Type.Object({}) } }
  describeRoute(post)
  const schema = schemaOf(post)
  t.equal(schema.querystring, undefined, 'no closed query')
  t.same(statuses(post), [401, 403, 409, 500])
  t.same(Object.keys(schema.headers.properties), ['content-encoding', 'idempotency-key'])
  t.same(schema.security, [{ bearerAuth: [] }])
  t.equal(schema.description, `${roleNote('admin')}\n\n${idempotencyNote()}`)

  const bare: ContractRoute = { method: 'GET', url: '/bare' }
  describeRoute(bare)
  t.same(bare.schema, {}, 'a public route without a schema gets an empty one')
  const head: ContractRoute = { method: 'HEAD', url: '/bare' }
  describeRoute(head)
  t.equal(head.schema, undefined, 'a HEAD route is not described')
})

t.test('the generated document says each note once', async (t) => {
  const doc = JSON.parse((await generateOpenApi()).json) as Json
  let roles = 0
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item)) {
      const paragraphs = String(op.description ?? '').split('\n\n')
      t.equal(new Set(paragraphs).size, paragraphs.length, `${method.toUpperCase()} ${path}: no paragraph twice`)
      // A role route needs the bearer token alone (a comment's PATCH takes its Comment-Token instead, without a role).
      if (JSON.stringify(op.security) === '[{"bearerAuth":[]}]') {
        roles++
        t.equal(paragraphs.filter((p) => p.startsWith('Needs a token with role')).length, 1, `${method.toUpperCase()} ${path}: one role note`)
      }
    }
  }
  t.ok(roles >= 20, `${roles} operations need a role`)
})

t.test('a public GET that declares 304 must choose whether the public cache keeps it', async (t) => {
  const conditional = (config?: ContractRoute['config']): ContractRoute =>
    ({ method: 'GET', url: '/v1/things/:id', ...(config && { config }), schema: { operationId: 'getThing', response: { 200: Type.Ref('Thing'), 304: Type.Unsafe({}) } } })
  t.throws(() => describeRoute(conditional()), /^GET \/v1\/things\/:id is a public GET that declares 304: set config\.publicCache to true/)
  t.doesNotThrow(() => describeRoute(conditional({ publicCache: true })))
  t.doesNotThrow(() => describeRoute(conditional({ publicCache: false })))
  t.doesNotThrow(() => describeRoute(conditional({ role: 'editor' })), 'a role route is never cached')
  t.doesNotThrow(() => describeRoute({ method: 'GET', url: '/plain', schema: { operationId: 'plain' } }), 'no 304: nothing to choose')
})
