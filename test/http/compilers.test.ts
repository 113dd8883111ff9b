// Validators and serialisers are compiled once per process (src/http/validation.ts, serialization.ts),
// keyed by the schemas' JSON: the same schemas get the same compiled function, and a schema that differs
// in one keyword gets its own, for validation and for serialisation alike.
import t from 'tap'
import { sharedSchemas } from '../../src/components.js'
import { buildSerializer } from '../../src/http/serialization.js'
import { buildValidator } from '../../src/http/validation.js'
import { build } from '../helper.js'

const external = Object.fromEntries(sharedSchemas.map((s) => [(s as unknown as { $id: string }).$id, s]))
const name = (maxLength: number) => ({ type: 'object', properties: { name: { type: 'string', maxLength } }, additionalProperties: false })

t.test('a validator is reused for the same schema and compiled anew for a different one', async (t) => {
  const compile = buildValidator(external)
  t.equal(buildValidator(structuredClone(external)), compile, 'the same shared schemas, even as new objects, share one compiler')
  const two = compile({ schema: name(2), httpPart: 'body' })
  const three = compile({ schema: name(3), httpPart: 'body' })
  t.equal(compile({ schema: name(2), httpPart: 'body' }), two, 'a schema with the same JSON finds its compiled validator')
  t.not(three, two)
  t.notOk(two({ name: 'abc' }), 'maxLength 2 refuses three characters')
  t.ok(three({ name: 'abc' }), 'maxLength 3 accepts them: not the other schema\'s validator')
  const query = compile({ schema: { type: 'object', properties: { n: { type: 'integer' } } }, httpPart: 'querystring' })
  const body = compile({ schema: { type: 'object', properties: { n: { type: 'integer' } } }, httpPart: 'body' })
  t.ok(query({ n: '5' }), 'a query string is coerced')
  t.notOk(body({ n: '5' }), 'a body with the same schema is not: the part is in the key')
  const other = buildValidator({ ...external, 'extra#': { $id: 'extra#', type: 'string' } })
  t.not(other, compile, 'other shared schemas get their own compiler')
})

t.test('a serialiser is reused for the same schema and compiled anew for a different one', async (t) => {
  const compile = buildSerializer(external, {})
  t.equal(buildSerializer(structuredClone(external), {}), compile)
  const route = (properties: object) => ({ method: 'GET', url: '/', httpStatus: '200', schema: { type: 'object', properties } })
  const a = compile(route({ a: { type: 'string' } }))
  t.equal(compile(route({ a: { type: 'string' } })), a)
  const ab = compile(route({ a: { type: 'string' }, b: { type: 'integer' } }))
  t.equal(a({ a: 'x', b: 1 }), '{"a":"x"}')
  t.equal(ab({ a: 'x', b: 1 }), '{"a":"x","b":1}', 'the wider schema writes b: not the narrower one\'s serialiser')
})

t.test('a second app in the same process validates and serialises as the first', async (t) => {
  const answers: unknown[] = []
  for (let i = 0; i < 2; i++) {
    const a = await build(t)
    const bad = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 7 } })
    const good = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Harbour', status: 'published' } })
    const list = await a.inject({ url: '/v1/articles' })
    answers.push([bad.statusCode, bad.json().errors, good.statusCode, Object.keys(good.json()), list.json().data.length])
  }
  t.equal(answers.length, 2)
  t.same(answers[1], answers[0])
  t.equal((answers[0] as unknown[])[0], 422)
})
