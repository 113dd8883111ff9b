// The If-Match / If-None-Match pattern the document declares (src/http/headers.ts) is exactly the syntax
// src/http/conditional.ts parses: a value the document allows is never a 422, and one it forbids always is.
import t from 'tap'
import fc from 'fast-check'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import { ENTITY_TAG_LIST } from '../../src/http/headers.js'
import { assertProblem, build, createArticle } from '../helper.js'

// Ajv compiles patterns with the `u` flag; so does this test.
const pattern = new RegExp(ENTITY_TAG_LIST, 'u')

// Header values made of the pieces of the grammar (whole tags, separators) and of single characters that
// matter to it or break it: valid lists, near misses and junk alike.
const piece = fc.oneof(
  fc.constantFrom('"a"', 'W/"b"', '"a,b"', '""', '"\x80\xff"', ', ', ','),
  fc.constantFrom('"', 'W', 'W/', '/', ',', ' ', '\t', '*', 'a', '!', '#', '~', '\x7f', '\x80', '\xa0', '\xff')
)
const headerValue = fc.array(piece, { maxLength: 8 }).map((pieces) => pieces.join(''))

t.test('the pattern agrees with the parser on every value', async (t) => {
  // A route without a header schema: only src/http/conditional.ts judges the headers there.
  const app = await buildApp({ config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, maxEventLoopDelay: 0 } })
  t.teardown(() => app.close())
  app.get('/probe', async (request, reply) => reply.represent({ probe: true }))
  await app.ready()

  const parses = async (name: 'if-match' | 'if-none-match', value: string) => {
    const res = await app.inject({ method: 'GET', url: '/probe', headers: { [name]: value } })
    return res.statusCode !== 422
  }
  let allowed = 0
  await fc.assert(fc.asyncProperty(headerValue, fc.constantFrom('if-match' as const, 'if-none-match' as const), async (value, name) => {
    const documented = pattern.test(value)
    if (documented) allowed++
    return documented === await parses(name, value)
  }), { numRuns: 2000, examples: [['*', 'if-match'], ['"a,b" , ,"x",', 'if-none-match'], [', "a"', 'if-match'], ['W/', 'if-match'], ['', 'if-none-match']] })
  t.ok(allowed > 50, `${allowed} generated values were valid lists, so both sides were exercised`)
})

t.test('routes enforce the documented pattern, with the parser\'s message', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Pattern', status: 'published' })
  for (const value of ['unquoted', '"a" "b"', 'W/ "x"']) {
    const res = await a.inject({ method: 'GET', url: '/v1/articles/pattern', headers: { 'if-none-match': value } })
    const problem = assertProblem(t, res, 422, 'validation')
    t.match(problem.errors, [{ in: 'header', pointer: '/if-none-match', message: 'must be * or a comma-separated list of quoted entity tags' }])
  }
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/pattern', headers: { 'if-none-match': '"a,b" , ,"x",' } })).statusCode, 200)
})
