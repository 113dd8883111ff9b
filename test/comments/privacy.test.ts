// The privacy test: after seeding comments of every kind, walk every public route (every GET
// path in the OpenAPI document, so routes added later are walked too, with every seeded value for each
// path parameter and the query variants that could widen a view) and fail if an author's email, IP or
// user agent appears in any response, body or headers, and that no edit token appears anywhere, to anyone.
import { createHash } from 'node:crypto'
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { assertProblem, build, createArticle, postComment, type TestApp } from '../helper.js'
import { startReceiver } from '../../scripts/webhook-receiver.js'

const authors = [
  { email: 'Probe-Alpha-7f3@Privacy-Test.example', ip: '198.51.100.23', ua: 'PrivacyProbe/9.9 (ua-token-4711)' },
  { email: 'probe-beta-c21@privacy-test.example', ip: '2001:db8::77', ua: 'OtherProbe/1.0 (ua-token-0815)' },
  { email: 'probe-gamma-9d0@privacy-test.example', ip: '192.0.2.200', ua: 'ThirdProbe/3.3 (ua-token-2024)' }
]
const secrets = [...new Set(authors.flatMap((x) => [x.email, x.email.toLowerCase(), x.email.split('@')[0]!, x.ip, x.ua]))]
/** Edit tokens of the seeded comments (and their hashes, as stored): shown once in the 201, then never. */
const editTokens: string[] = []

async function seed (a: TestApp) {
  await createArticle(a, { title: 'Open thread', status: 'published', tags: ['Privacy'] })
  await createArticle(a, { title: 'Draft thread', status: 'published', tags: ['Privacy'] })
  const ids: number[] = []
  const post = async (slug: string, i: number, extra: Record<string, unknown> = {}) => {
    const x = authors[i]!
    const res = await postComment(a, slug, { authorName: `Reader ${i}`, authorEmail: x.email, body: `Comment by reader ${i}`, ...extra },
      { 'x-forwarded-for': x.ip, 'user-agent': x.ua })
    if (res.statusCode !== 201) throw new Error(res.body)
    ids.push(res.json().id)
    editTokens.push(res.json().editToken, createHash('sha256').update(res.json().editToken).digest('hex'))
    return res
  }
  const root = (await post('open-thread', 0)).json()
  await post('open-thread', 1, { parentId: root.id })
  await post('open-thread', 2, { body: 'links https://a.example https://b.example https://c.example' }) // pending
  const spam = (await post('open-thread', 1)).json()
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${spam.id}`, payload: { status: 'spam' } })
  const tomb = (await post('open-thread', 2)).json()
  await post('open-thread', 0, { parentId: tomb.id })
  await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${tomb.id}` })
  await post('draft-thread', 0)
  await post('draft-thread', 2)
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/draft-thread', payload: { status: 'draft' } })
  return ids
}

function leaks (res: LightMyRequestResponse, among = secrets): string[] {
  const text = `${JSON.stringify(res.headers)}\n${res.body}`.toLowerCase()
  return among.filter((s) => text.includes(s.toLowerCase()))
}

async function walk (a: TestApp, ids: number[], send: (url: string, method: 'GET' | 'HEAD') => Promise<LightMyRequestResponse>) {
  const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> }
  const values: Record<string, string[]> = {
    slug: ['open-thread', 'draft-thread', 'privacy', 'no-such-thing'],
    id: [...ids.map(String), '99999']
  }
  const queries = ['', '?include=total', '?limit=100', '?status=any', '?status=pending', '?status=spam', '?status=deleted', '?status=approved', '?q=probe']
  const urls = new Set<string>(['/docs', '/docs/', '/docs/json', '/docs/yaml', '/nowhere'])
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (!('get' in ops)) continue
    let expanded = [path]
    for (const [, name] of path.matchAll(/\{(\w+)\}/g)) {
      const options = values[name!] ?? ['1', 'x']
      expanded = expanded.flatMap((p) => options.map((v) => p.replace(`{${name}}`, v)))
    }
    for (const url of expanded) for (const q of queries) urls.add(url + q)
  }
  const results: { url: string, method: string, res: LightMyRequestResponse }[] = []
  for (const url of urls) {
    for (const method of ['GET', 'HEAD'] as const) results.push({ url, method, res: await send(url, method) })
  }
  return results
}

t.test('no email, IP or user agent reaches anyone below moderator', async (t) => {
  const a = await build(t, { trustProxy: true, commentModeration: 'none', commentRateLimit: 1000 })
  const ids = await seed(a)

  const asModerator = await walk(a, ids, (url, method) => a.as('moderator', { method, url }))
  const found = new Set(asModerator.flatMap((r) => leaks(r.res)))
  t.same([...found].sort(), [...secrets].sort(), 'the probe values are stored and would be detected (moderators see them all)')
  t.equal(editTokens.length, 16)
  t.same(asModerator.flatMap((r) => leaks(r.res, editTokens).map((s) => `${r.method} ${r.url}: ${s}`)), [], 'edit tokens reach nobody, moderators included')

  const callers: [string, Record<string, string>][] = [
    ['the public', {}],
    ['the public asking for JSON of any kind', { accept: '*/*' }],
    ['a caller with an unknown token', { authorization: 'Bearer not-a-real-token-at-all-xxxxxxxx' }]
  ]
  for (const [who, headers] of callers) {
    const results = await walk(a, ids, (url, method) => a.inject({ method, url, headers }))
    t.ok(results.length > 100, `${who}: walked ${results.length} requests`)
    if (headers.authorization === undefined) {
      t.ok(results.some((r) => r.url.startsWith('/v1/comments/') && r.res.statusCode === 200), `${who}: some comments were shown`)
      t.ok(results.some((r) => r.url.startsWith('/v1/articles/open-thread/comments') && r.res.statusCode === 200), `${who}: threads were shown`)
    }
    const leaked = results.flatMap((r) => leaks(r.res, [...secrets, ...editTokens]).map((s) => `${r.method} ${r.url} → ${r.res.statusCode}: ${s}`))
    t.same(leaked, [], `${who}: nothing private in any response`)
  }

  // The write routes a reader can reach: the answer to a post (and to a bad post) is public too.
  const x = authors[0]!
  const posted = await postComment(a, 'open-thread', { authorName: 'Again', authorEmail: x.email, body: 'Once more' }, { 'x-forwarded-for': x.ip, 'user-agent': x.ua })
  t.equal(posted.statusCode, 201)
  t.same(leaks(posted), [], 'the 201 does not echo the author\'s email, IP or user agent')
  for (const payload of [
    { authorName: 'Bad', authorEmail: `${x.email}x@`, body: 'x' },
    { authorName: 'Bad', authorEmail: x.email, body: '' },
    { authorName: 'Bad', authorEmail: x.email, body: 'x', ip: x.ip },
    { authorName: 'Bad', authorEmail: x.email, body: 'x', parentId: 99999 }
  ]) {
    const res = await postComment(a, 'open-thread', payload, { 'x-forwarded-for': x.ip, 'user-agent': x.ua })
    t.equal(res.statusCode, 422)
    t.same(leaks(res), [], 'problems do not echo them either')
  }
  for (const method of ['PATCH', 'DELETE'] as const) {
    const res = await a.inject({ method, url: `/v1/comments/${ids[0]}`, payload: method === 'PATCH' ? { status: 'approved' } : undefined })
    t.equal(res.statusCode, 401)
    t.same(leaks(res), [])
  }
  // The author's own edit is answered with the public shape; a wrong token's 403 says nothing either.
  const mine = posted.json() as { id: number, editToken: string }
  const edited = await a.inject({ method: 'PATCH', url: `/v1/comments/${mine.id}`, payload: { body: 'Edited once' }, headers: { 'comment-token': mine.editToken, 'x-forwarded-for': x.ip, 'user-agent': x.ua } })
  t.equal(edited.statusCode, 200)
  t.same(leaks(edited, [...secrets, ...editTokens, mine.editToken]), [], 'the author\'s edit echoes nothing private, not even its token')
  const wrong = await a.inject({ method: 'PATCH', url: `/v1/comments/${mine.id}`, payload: { body: 'x' }, headers: { 'comment-token': editTokens[0]! } })
  t.equal(wrong.statusCode, 403)
  t.same(leaks(wrong, [...secrets, ...editTokens]), [])
  const report = await a.inject({ method: 'POST', url: `/v1/comments/${mine.id}/reports`, payload: { reason: 'spam' }, headers: { 'x-forwarded-for': x.ip } })
  t.equal(report.statusCode, 202)
  t.same(leaks(report), [])
})

t.test('no email, IP, user agent or edit token in any event, in the log or delivered to a webhook', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const a = await build(t, { trustProxy: true, commentModeration: 'none', commentRateLimit: 1000, webhookAllowPrivate: true },
    { workers: { pollMs: 10, minIntervalMs: 0 } })
  const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json() as { components: { schemas: { EventType: { enum: string[] } } } }
  const hook = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: doc.components.schemas.EventType.enum } })
  t.equal(hook.statusCode, 201)
  await seed(a)
  // Authors at work in their edit window, readers reporting: events of comments that carry edit tokens.
  const x = authors[1]!
  const origin = { 'x-forwarded-for': x.ip, 'user-agent': x.ua }
  const mine = (await postComment(a, 'open-thread', { authorName: 'Editor of mine', authorEmail: x.email, body: 'Typo hree' }, origin)).json()
  const regret = (await postComment(a, 'open-thread', { authorName: 'Regretful', authorEmail: x.email, body: 'Hasty words' }, origin)).json()
  const reported = (await postComment(a, 'open-thread', { authorName: 'Reported', authorEmail: x.email, body: 'Hot take' }, origin)).json()
  for (const c of [mine, regret, reported]) editTokens.push(c.editToken, createHash('sha256').update(c.editToken).digest('hex'))
  t.equal((await a.inject({ method: 'PATCH', url: `/v1/comments/${mine.id}`, payload: { body: 'Typo here' }, headers: { 'comment-token': mine.editToken, ...origin } })).statusCode, 200)
  t.equal((await a.inject({ method: 'DELETE', url: `/v1/comments/${regret.id}`, headers: { 'comment-token': regret.editToken, ...origin } })).statusCode, 204)
  for (const from of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
    t.equal((await a.inject({ method: 'POST', url: `/v1/comments/${reported.id}/reports`, payload: { reason: 'abuse' }, headers: { 'x-forwarded-for': from } })).statusCode, 202)
  }
  const log = await a.as('admin', { method: 'GET', url: '/v1/events?limit=100' })
  const events = log.json().data as { id: string, type: string }[]
  const types = new Set(events.map((e) => e.type))
  t.ok(events.length > 15, `${events.length} events, of types ${[...types].join(', ')}`)
  t.ok(['comment.submitted', 'comment.approved', 'comment.edited', 'comment.removed'].every((type) => types.has(type)), 'every kind of comment event')
  const confidential = [...secrets, ...editTokens]
  t.same(leaks(log, confidential), [], 'nothing private in the event log')
  await receiver.waitUntil(() => receiver.received.length >= events.length)
  const delivered = receiver.received.map((r) => `${JSON.stringify(r.headers)}\n${r.body}`.toLowerCase())
  t.same(confidential.filter((s) => delivered.some((d) => d.includes(s.toLowerCase()))), [], 'nothing private in any delivery')
  const deliveries = await a.as('admin', { method: 'GET', url: `/v1/webhooks/${hook.json().id}/deliveries?limit=100` })
  t.same(leaks(deliveries, confidential), [], 'nor in the delivery log')
})

t.test('an error raised after a comment is prepared is its own problem, not the comment', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Errors after views', status: 'published' })
  const posted = await a.inject({ method: 'POST', url: '/v1/articles/errors-after-views/comments', payload: { authorName: 'Ann', authorEmail: 'ann@example.org', body: 'Hello' } })
  t.equal(posted.statusCode, 201)
  const id = posted.json().id as number
  for (const role of ['moderator', 'admin'] as const) {
    const res = await a.as(role, { method: 'GET', url: `/v1/comments/${id}`, headers: { 'if-match': '' } })
    const problem = assertProblem(t, res, 422, 'validation')
    t.notMatch(JSON.stringify(problem), /ann@example\.org|Hello/, 'the problem body carries no comment')
  }
  const stale = await a.as('moderator', { method: 'GET', url: `/v1/comments/${id}`, headers: { 'if-match': '"stale"' } })
  assertProblem(t, stale, 412, 'precondition-failed')
  t.notMatch(stale.body, /ann@example\.org/)
})
