import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import { assertProblem, build, countComments, createArticle, postComment } from '../helper.js'

const reader = { authorName: 'Ivan', authorEmail: 'ivan@example.com', body: 'Hello.' }

t.test('flood control: COMMENT_RATE_LIMIT comments a minute per client, then 429', async (t) => {
  const a = await build(t, { commentRateLimit: 3 })
  await createArticle(a, { title: 'Flood', status: 'published' })
  for (let i = 0; i < 3; i++) {
    const res = await postComment(a, 'flood', reader)
    t.equal(res.statusCode, 201)
    t.equal(res.headers['ratelimit-limit'], '3')
    t.equal(res.headers['ratelimit-remaining'], String(2 - i))
    t.match(res.headers['ratelimit-reset'], /^\d+$/)
  }
  const refused = await postComment(a, 'flood', reader)
  const body = assertProblem(t, refused, 429, 'rate-limited')
  t.equal(body.title, 'Too Many Requests')
  t.match(body.detail, /3 comments a minute/)
  const retry = Number(refused.headers['retry-after'])
  t.ok(Number.isInteger(retry) && retry > 0 && retry <= 60, `Retry-After in seconds (${retry})`)
  t.equal(refused.headers['ratelimit-remaining'], '0')
  t.equal(await countComments(a), 3, 'the refused comment is not stored')

  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/flood/comments' })).statusCode, 200, 'reading is not limited')
  const other = await postComment(a, 'flood', reader, { 'x-forwarded-for': '203.0.113.9' })
  assertProblem(t, other, 429, 'rate-limited')
  t.pass('without TRUST_PROXY, X-Forwarded-For does not make another client')
})

t.test('requests refused for their shape are not counted', async (t) => {
  const a = await build(t, { commentRateLimit: 2 })
  await createArticle(a, { title: 'Shape', status: 'published' })
  for (let i = 0; i < 5; i++) assertProblem(t, await postComment(a, 'shape', { ...reader, authorEmail: 'nope' }), 422, 'validation')
  t.equal((await postComment(a, 'shape', reader)).statusCode, 201)
  t.equal((await postComment(a, 'shape', reader)).statusCode, 201)
  assertProblem(t, await postComment(a, 'shape', reader), 429, 'rate-limited')
})

t.test('behind a trusted proxy the real client is limited, and recorded', async (t) => {
  // app.inject connects from 127.0.0.1: here, the proxy.
  const a = await build(t, { commentRateLimit: 2, trustProxy: ['127.0.0.1'], commentModeration: 'none' })
  await createArticle(a, { title: 'Proxy', status: 'published' })
  const first = { 'x-forwarded-for': '203.0.113.1' }
  const second = { 'x-forwarded-for': '203.0.113.2' }
  t.equal((await postComment(a, 'proxy', reader, first)).statusCode, 201)
  t.equal((await postComment(a, 'proxy', reader, first)).statusCode, 201)
  assertProblem(t, await postComment(a, 'proxy', reader, first), 429, 'rate-limited')
  const other = await postComment(a, 'proxy', reader, second)
  t.equal(other.statusCode, 201, 'another client behind the same proxy is not limited')
  const seen = (await a.as('moderator', { method: 'GET', url: other.headers.location as string })).json()
  t.equal(seen.ip, '203.0.113.2')
  const one = (await a.as('moderator', { method: 'GET', url: '/v1/comments?sort=createdAt&limit=1' })).json()
  t.equal(one.data[0].ip, '203.0.113.1')
})

t.test('a client cannot forge its address through X-Forwarded-For to skip flood control', async (t) => {
  const a = await build(t, { commentRateLimit: 2, trustProxy: ['10.0.0.0/8', '127.0.0.1'], commentModeration: 'none' })
  await createArticle(a, { title: 'Forged', status: 'published' })
  // What the proxy sends on: whatever the client wrote, then the address it saw (203.0.113.9), then
  // another trusted proxy of ours. The right-most untrusted address is the client.
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    const res = await postComment(a, 'forged', reader, { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.9, 10.1.2.3` })
    statuses.push(res.statusCode)
    if (i === 0) t.equal((await a.as('moderator', { method: 'GET', url: res.headers.location as string })).json().ip, '203.0.113.9', 'moderators see the real client')
  }
  t.same(statuses, [201, 201, 429, 429], 'a rotated left-most address changes nothing')
})

t.test('TRUST_PROXY=true believes anyone, and the server says so at start', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  for (const trustProxy of [true, ['127.0.0.1'], false]) {
    lines.length = 0
    const app = await buildApp({ config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, trustProxy }, logger: { level: 'info', stream } })
    await app.ready()
    await app.close()
    const warned = lines.some((l) => JSON.parse(l).level === 40 && /TRUST_PROXY=true/.test(l))
    t.equal(warned, trustProxy === true, `a warning for ${JSON.stringify(trustProxy)}: ${warned}`)
  }
})

t.test('a proxy trusted by address: only its X-Forwarded-For counts', async (t) => {
  const a = await build(t, { commentRateLimit: 1, trustProxy: ['127.0.0.1'], commentModeration: 'none' })
  await createArticle(a, { title: 'Hops', status: 'published' })
  const res = await postComment(a, 'hops', reader, { 'x-forwarded-for': '198.51.100.7' })
  t.equal(res.statusCode, 201)
  t.equal((await a.as('moderator', { method: 'GET', url: res.headers.location as string })).json().ip, '198.51.100.7')
  assertProblem(t, await postComment(a, 'hops', reader, { 'x-forwarded-for': '198.51.100.7' }), 429, 'rate-limited')
  t.equal((await postComment(a, 'hops', reader, { 'x-forwarded-for': '198.51.100.8' })).statusCode, 201)
  t.equal((await postComment(a, 'hops', reader)).statusCode, 201, 'the proxy itself is another client')
})
