import { connect } from 'node:net'
import t from 'tap'
import { assertProblem, build, onSqlite } from '../helper.js'
import { jsonDepthExceeds } from '../../src/plugins/limits.js'

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

t.test('JSON nesting deeper than the limit is a 400 problem and creates nothing', onSqlite, async (t) => {
  const a = await build(t, { maxJsonDepth: 8 })
  const post = (payload: string) =>
    a.as('editor', { method: 'POST', url: '/v1/articles', payload, headers: { 'content-type': 'application/json' } })
  const deep = assertProblem(t, await post(`{"title":"x","tags":${nested(8)}}`), 400, 'malformed-request')
  t.match(deep.detail, /deeper than 8 levels/)
  assertProblem(t, await post(nested(100_000)), 400, 'malformed-request')
  // At the limit the body is parsed, and the schema has its say.
  assertProblem(t, await post(`{"title":"x","tags":${nested(7)}}`), 422, 'validation')
  // Brackets inside strings are text, not nesting.
  const created = await post(JSON.stringify({ title: `${'[{'.repeat(50)} \\" ${'}]'.repeat(50)}` }))
  t.equal(created.statusCode, 201, created.body)
  // secure-json-parse still refuses prototype poisoning.
  assertProblem(t, await post('{"title":"x","__proto__":{"admin":true}}'), 400, 'malformed-request')
  assertProblem(t, await post('{"title":"x","constructor":{"prototype":{"admin":true}}}'), 400, 'malformed-request')
  const count = a.app.db.$client.prepare('SELECT count(*) AS n FROM articles').get() as { n: number }
  t.equal(count.n, 1, 'only the valid article was created')
})

t.test('jsonDepthExceeds counts only structural brackets', async (t) => {
  t.equal(jsonDepthExceeds(nested(3), 3), false)
  t.equal(jsonDepthExceeds(nested(4), 3), true)
  t.equal(jsonDepthExceeds('{"a":"[[[[[","b":"\\"[[[["}', 1), false)
  t.equal(jsonDepthExceeds('{"a":{"b":[1]}}', 2), true)
})

t.test('a request target longer than the limit is a 414 problem', async (t) => {
  const a = await build(t, { maxUrlLength: 300 })
  const long = assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles?q=${'a'.repeat(300)}` }), 414, 'uri-too-long')
  t.match(long.detail, /300/)
  assertProblem(t, await a.as('editor', { method: 'POST', url: `/v1/articles/${'a'.repeat(300)}`, payload: { title: 'x' } }), 414, 'uri-too-long')
  t.equal((await a.inject({ method: 'GET', url: `/v1/articles?section=${'s'.repeat(100)}&author=${'a'.repeat(100)}` })).statusCode, 200, 'below the limit it is served')
})

/** Sends raw bytes to a listening server and returns what it answers before closing. */
async function raw (port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.on('data', (d) => { answer += d.toString() })
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
    socket.write(request)
  })
}

t.test('headers over the limit are a 431 problem; garbage is a 400 problem', async (t) => {
  const a = await build(t, { maxHeaderSize: 4096 })
  await a.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = a.app.server.address() as { port: number }
  const big = await raw(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`)
  t.match(big, /^HTTP\/1\.1 431 /)
  t.match(big, /content-type: application\/problem\+json/i)
  t.match(JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4)), { type: '/problems/headers-too-large', status: 431 })
  const garbage = await raw(port, 'HELLO THERE\r\n\r\n')
  t.match(garbage, /^HTTP\/1\.1 400 /)
  t.match(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)), { type: '/problems/malformed-request', status: 400 })
  const fine = await fetch(`http://127.0.0.1:${port}/health`, { headers: { 'x-small': 'a'.repeat(1000) } })
  t.equal(fine.status, 200, 'headers under the limit are served')
})

t.test('a saturated event loop sheds requests with 503 and Retry-After, /health included, then recovers', onSqlite, async (t) => {
  const a = await build(t, { maxEventLoopUtilization: 0.5, loadSampleInterval: 100 })
  // Past the settling time (two samples after ready, src/plugins/limits.ts), with a sample taken at rest:
  // the one taken after the busy loop then covers the busy loop only.
  await new Promise((resolve) => setTimeout(resolve, 250))
  const busyUntil = Date.now() + 400
  while (Date.now() < busyUntil) { /* saturate the event loop */ }
  await new Promise((resolve) => setTimeout(resolve, 1))
  const shed = await a.inject({ method: 'GET', url: '/health' })
  const problem = assertProblem(t, shed, 503, 'overloaded')
  t.equal(shed.headers['retry-after'], '10')
  t.match(problem.detail, /overloaded/)
  const write = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Shed' } })
  t.equal(write.statusCode, 503, 'a write is shed before it runs')
  let status = 503
  for (let i = 0; i < 50 && status === 503; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    status = (await a.inject({ method: 'GET', url: '/health' })).statusCode
  }
  t.equal(status, 200, 'served again once the loop is idle')
  const count = a.app.db.$client.prepare('SELECT count(*) AS n FROM articles').get() as { n: number }
  t.equal(count.n, 0, 'the shed write changed nothing')
})

// Found by the fuzzer: a path parameter over find-my-way's 100-character default, and a broken
// percent-escape in the path, were answered by Fastify's own plain JSON instead of a problem.
t.test('routing errors are problems: long path parameters, broken escapes', async (t) => {
  const a = await build(t, { maxUrlLength: 300 })
  const long = assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles/${'a'.repeat(150)}` }), 422, 'validation')
  t.match(long.errors, [{ in: 'path', pointer: '/slug' }], 'a long slug is judged by its schema')
  const tooLong = assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles/${'a'.repeat(301)}` }), 414, 'uri-too-long')
  t.equal(tooLong.instance, `/v1/articles/${'a'.repeat(301)}`)
  const broken = await a.inject({ method: 'GET', url: '/v1/articles/%zz' })
  assertProblem(t, broken, 400, 'malformed-request')
  t.ok(broken.headers['x-request-id'], 'with a request id')
})

// A request pipelined behind one in flight when the server starts closing used to get Fastify's own
// non-problem 503.
t.test('a request that arrives while the server closes is a 503 problem; the one in flight completes', async (t) => {
  const a = await build(t)
  await a.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = a.app.server.address() as { port: number }
  const socket = connect(port, '127.0.0.1')
  let answer = ''
  socket.on('data', (d) => { answer += d.toString() })
  const ended = new Promise((resolve) => socket.on('close', resolve))
  const body = JSON.stringify({ title: 'In flight' })
  socket.write(`POST /v1/articles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${a.tokens.editor}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const closed = a.app.close()
  await new Promise((resolve) => setTimeout(resolve, 100))
  socket.write(`${body.slice(5)}GET /health HTTP/1.1\r\nHost: x\r\n\r\n`)
  await ended
  await closed
  const [first, second] = answer.split(/(?=HTTP\/1\.1 )/)
  t.match(first, /^HTTP\/1\.1 201 /, 'the request in flight completed')
  t.match(second, /^HTTP\/1\.1 503 /)
  t.match(second, /content-type: application\/problem\+json/i)
  t.match(second, /retry-after: 1/i)
  t.match(JSON.parse(second!.slice(second!.indexOf('\r\n\r\n') + 4)), { type: '/problems/shutting-down', status: 503 })
})
