import { readFileSync } from 'node:fs'
import t from 'tap'
import { generateOpenApi } from '../src/openapi-document.js'
import { generateClientTypes } from '../scripts/client-types.js'
import { build, onSqlite } from './helper.js'
import { contractChecker } from './contract.js'

t.test('the committed OpenAPI document is what the code generates', async (t) => {
  const { json, yaml } = await generateOpenApi()
  const stale = 'openapi/ is stale: run `npm run openapi` and commit the result'
  t.equal(readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8'), json, stale)
  t.equal(readFileSync(new URL('../openapi/openapi.yaml', import.meta.url), 'utf8'), yaml, stale)
  t.equal(readFileSync(new URL('../openapi/client/schema.d.ts', import.meta.url), 'utf8'), await generateClientTypes(json), stale)
})

t.test('the document is served, and Swagger UI too', async (t) => {
  const a = await build(t)
  const json = await a.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(json.statusCode, 200)
  const doc = json.json()
  t.equal(doc.openapi, '3.1.0')
  t.ok(doc.components.schemas.Article, 'named components')
  t.ok(doc.components.schemas.Problem)
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { operationId?: string, summary?: string, tags?: string[] }>>)) {
    for (const [method, op] of Object.entries(item)) {
      t.ok(op.operationId && op.summary && op.tags?.length, `${method.toUpperCase()} ${path} has an operationId, summary and tag`)
    }
  }
  const yaml = await a.inject({ method: 'GET', url: '/openapi.yaml' })
  t.equal(yaml.statusCode, 200)
  t.match(yaml.headers['content-type'], /yaml/)
  t.match(yaml.body, /^openapi: 3\.1\.0/m)
  const ui = await a.inject({ method: 'GET', url: '/docs/' })
  t.equal(ui.statusCode, 200)
  t.match(ui.body, /swagger/i)
})

t.test('health', onSqlite, async (t) => {
  const a = await build(t)
  const ok = await a.inject({ method: 'GET', url: '/health' })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { status: 'ok' })
  a.app.db.$client.close()
  const down = await a.inject({ method: 'GET', url: '/health' })
  t.equal(down.statusCode, 503)
  t.match(down.headers['content-type'], /application\/problem\+json/)
})

t.test('the response checker catches responses that break the document', async (t) => {
  const a = await build(t)
  const checker = contractChecker(a.app.swagger() as Parameters<typeof contractChecker>[0])
  const res = await a.inject({ method: 'GET', url: '/health' })
  t.same(checker.check('GET', '/health', res), [], 'the real response passes')
  const forged = (statusCode: number, body: unknown, type = 'application/json; charset=utf-8') =>
    ({ ...res, statusCode, body: JSON.stringify(body), headers: { ...res.headers, 'content-type': type } }) as typeof res
  t.match(checker.check('GET', '/health', forged(200, { status: 'fine' })), [/health 200/])
  t.match(checker.check('GET', '/health', forged(418, {})), [/418, which is not documented/])
  t.match(checker.check('GET', '/health', forged(200, { status: 'ok' }, 'text/html')), [/text\/html/])
  t.ok(checker.check('GET', '/v1/articles', forged(200, { data: [{ id: 'x' }], page: { limit: 1, nextCursor: null } })).some((p) => /data\/0/.test(p)))
  t.match(checker.check('GET', '/nowhere/at/all', forged(200, {})), [/no documented path/])
})

t.test('every example in the document is valid against its own schema', async (t) => {
  const { Ajv2020 } = await import('ajv/dist/2020.js')
  const { default: addFormats } = await import('ajv-formats')
  const a = await build(t)
  const doc = a.app.swagger() as { components: { schemas: Record<string, { examples?: unknown[] }> }, paths: Record<string, Record<string, { parameters?: Array<{ name: string, schema: object, example?: unknown }> }>> }
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addSchema(doc as object, 'doc')
  let checked = 0
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    for (const example of schema.examples ?? []) {
      const validate = ajv.getSchema(`doc#/components/schemas/${name}`)!
      t.ok(validate(example), `${name} example: ${ajv.errorsText(validate.errors)}`)
      checked++
    }
  }
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      for (const parameter of op.parameters ?? []) {
        if (parameter.example === undefined) continue
        t.ok(ajv.validate(parameter.schema, parameter.example), `${method} ${path} ${parameter.name} example`)
        checked++
      }
    }
  }
  t.ok(checked >= 10, `checked ${checked} examples`)
})
