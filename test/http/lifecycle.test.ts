// The request lifecycle: src/http/README.md's table is PIPELINE (src/app.ts), in order, and the order
// facts no other test pins down hold. (A search answered by the public cache still counts against its
// client's allowance, which needs search-rate-limit before public-cache: test/articles/search-rate-limit.test.ts.)
import { readFileSync } from 'node:fs'
import t from 'tap'
import { PIPELINE } from '../../src/app.js'
import { assertProblem, build } from '../helper.js'

t.test('src/http/README.md lists the stages of PIPELINE, in order', async (t) => {
  const readme = readFileSync(new URL('../../src/http/README.md', import.meta.url), 'utf8')
  // The table of the "Lifecycle" section: one stage per row, its name in the first cell.
  const start = readme.indexOf('## Lifecycle')
  t.not(start, -1, 'the README has a Lifecycle section')
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1))
  const names = section.split('\n').map((line) => /^\| `([\w-]+)` \|/.exec(line)?.[1]).filter((name) => name !== undefined)
  t.same(names, PIPELINE.map((s) => s.name))
  t.equal(new Set(PIPELINE.map((s) => s.name)).size, PIPELINE.length, 'names are unique')
  for (const stage of PIPELINE) t.ok(stage.why.length > 0, `${stage.name} says why it stands there`)
})

t.test('cors before auth: a preflight with a revoked token is answered, not a 401', async (t) => {
  const a = await build(t)
  const token = (await a.as('admin', { method: 'POST', url: '/v1/tokens', payload: { name: 'gone', role: 'editor' } })).json()
  t.equal((await a.as('admin', { method: 'DELETE', url: `/v1/tokens/${token.id}` })).statusCode, 204)
  const res = await a.inject({
    method: 'OPTIONS',
    url: '/v1/articles',
    headers: {
      origin: 'https://front.example',
      authorization: `Bearer ${token.token as string}`,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type'
    }
  })
  t.equal(res.statusCode, 204)
})

t.test('limits before auth: a too-long URL with a bad token is a 414, not a 401', async (t) => {
  const a = await build(t, { maxUrlLength: 256 })
  const res = await a.inject({ method: 'GET', url: `/v1/articles?q=${'a'.repeat(300)}`, headers: { authorization: 'Bearer not-a-token' } })
  assertProblem(t, res, 414, 'uri-too-long')
})
