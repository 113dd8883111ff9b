// Readers' reports (API.md section 11): POST /v1/comments/{id}/reports → 202, one per client, counted
// for moderators, and at COMMENT_REPORT_THRESHOLD an approved comment returns to pending.
import t from 'tap'
import { assertProblem, build, createArticle, postComment, type TestApp, onSqlite } from '../helper.js'

const reader = { authorName: 'Ivan', authorEmail: 'ivan@example.com', body: 'A comment.' }

const report = (a: TestApp, id: number, from: string, reason = 'spam', headers: Record<string, string> = {}) =>
  a.inject({ method: 'POST', url: `/v1/comments/${id}/reports`, payload: { reason }, remoteAddress: from, headers })
const seen = async (a: TestApp, id: number) => (await a.as('moderator', { method: 'GET', url: `/v1/comments/${id}` })).json()
const commentCount = async (a: TestApp, slug: string) => (await a.inject({ method: 'GET', url: `/v1/articles/${slug}` })).json().commentCount

t.test('a report is a bodiless 202; a repeat by the same client changes nothing', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000, commentReportThreshold: 5 })
  await createArticle(a, { title: 'Reported', status: 'published' })
  const c = (await postComment(a, 'reported', reader)).json()
  const before = await a.inject({ method: 'GET', url: `/v1/comments/${c.id}` })

  const first = await report(a, c.id, '203.0.113.1')
  t.equal(first.statusCode, 202)
  t.equal(first.body, '', 'no body')
  t.notOk(first.headers['content-type'])
  t.equal((await seen(a, c.id)).reportCount, 1)
  for (const reason of ['spam', 'abuse', 'other']) t.equal((await report(a, c.id, '203.0.113.1', reason)).statusCode, 202)
  t.equal((await seen(a, c.id)).reportCount, 1, 'a repeat, whatever its reason, is not counted')
  t.equal((await report(a, c.id, '203.0.113.2', 'off-topic')).statusCode, 202)
  t.equal((await seen(a, c.id)).reportCount, 2, 'another client is')
  const rows = a.app.db.$client.prepare('SELECT * FROM comment_reports ORDER BY created_at').all() as Array<Record<string, unknown>>
  t.same(rows.map((r) => r.reason), ['spam', 'off-topic'], 'the first reason of each client is kept')
  t.notOk(JSON.stringify(rows).includes('203.0.113'), 'no address is stored')
  t.ok(rows.every((r) => /^[0-9a-f]{64}$/.test(String(r.reporter))), 'a keyed hash of it')

  const after = await a.inject({ method: 'GET', url: `/v1/comments/${c.id}` })
  t.notOk('reportCount' in after.json(), 'the public does not see the count')
  t.equal(after.headers.etag, before.headers.etag, 'nor does its view change')
  t.equal((await report(a, c.id, '203.0.113.3', 'spam', { authorization: `Bearer ${a.tokens.moderator}` })).statusCode, 202)
  t.equal((await seen(a, c.id)).reportCount, 3, 'a token is its own client')
})

t.test('bad reports are 4xx and change nothing; hidden comments are 404', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Hidden', status: 'published' })
  const c = (await postComment(a, 'hidden', reader)).json()
  const reply = (await postComment(a, 'hidden', { ...reader, parentId: c.id })).json()
  for (const payload of [{ reason: 'boring' }, {}, { reason: 'spam', note: 'x' }, { reason: 1 }]) {
    assertProblem(t, await a.inject({ method: 'POST', url: `/v1/comments/${c.id}/reports`, payload }), 422, 'validation')
  }
  assertProblem(t, await report(a, 99999, '203.0.113.1'), 404, 'not-found')
  assertProblem(t, await a.inject({ method: 'POST', url: '/v1/comments/abc/reports', payload: { reason: 'spam' } }), 422, 'validation')
  const pending = (await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${reply.id}`, payload: { status: 'pending' } })).json()
  assertProblem(t, await report(a, pending.id, '203.0.113.1'), 404, 'not-found')
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${reply.id}`, payload: { status: 'approved' } })
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/hidden', payload: { status: 'draft' } })
  assertProblem(t, await report(a, c.id, '203.0.113.1'), 404, 'not-found')
  t.pass('a comment of a hidden article is 404 to whoever cannot see the article')
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/hidden', payload: { status: 'published' } })
  await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${c.id}` })
  assertProblem(t, await report(a, c.id, '203.0.113.1'), 404, 'not-found')
  assertProblem(t, await report(a, c.id, '203.0.113.1', 'spam', { authorization: `Bearer ${a.tokens.moderator}` }), 404, 'not-found')
  t.pass('a tombstone cannot be reported, not even by a moderator')
  t.equal((a.app.db.$client.prepare('SELECT count(*) AS n FROM comment_reports').get() as { n: number }).n, 0)
})

t.test('at the threshold an approved comment returns to pending, once', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 }) // COMMENT_REPORT_THRESHOLD: the default, 3
  await createArticle(a, { title: 'Threshold', status: 'published' })
  const c = (await postComment(a, 'threshold', reader)).json()
  await postComment(a, 'threshold', { ...reader, body: 'Another' })
  t.equal(await commentCount(a, 'threshold'), 2)
  a.clock.advance(1000)
  await report(a, c.id, '198.51.100.1')
  await report(a, c.id, '198.51.100.2')
  t.equal((await seen(a, c.id)).status, 'approved', 'two reports: still approved')
  await report(a, c.id, '198.51.100.2')
  t.equal((await seen(a, c.id)).status, 'approved', 'a repeat does not reach the threshold')
  await report(a, c.id, '198.51.100.3')
  const held = await seen(a, c.id)
  t.match(held, { status: 'pending', reportCount: 3, updatedAt: '2026-07-08T09:00:01.000Z' }, 'the third: back to pending')
  t.equal(await commentCount(a, 'threshold'), 1, 'commentCount stays true')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/comments/${c.id}` }), 404, 'not-found')

  t.equal((await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${c.id}`, payload: { status: 'approved' } })).statusCode, 200)
  t.equal(await commentCount(a, 'threshold'), 2)
  await report(a, c.id, '198.51.100.4')
  t.match(await seen(a, c.id), { status: 'approved', reportCount: 4 }, 'a moderator\'s approval after review holds')
})

t.test('reports are rate-limited per client, apart from comments', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 2 })
  await createArticle(a, { title: 'Flood', status: 'published' })
  const c = (await postComment(a, 'flood', reader)).json()
  const other = (await postComment(a, 'flood', reader)).json()
  const first = await report(a, c.id, '127.0.0.1')
  t.equal(first.headers['ratelimit-limit'], '2')
  t.equal(first.headers['ratelimit-remaining'], '1', 'the two comments did not use the reports\' allowance')
  await report(a, other.id, '127.0.0.1')
  const refused = await report(a, other.id, '127.0.0.1', 'abuse')
  t.match(assertProblem(t, refused, 429, 'rate-limited').detail, /2 reports a minute/)
  t.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After')
  t.equal((await seen(a, other.id)).reportCount, 1, 'the refused report is not counted')
  t.equal((await report(a, c.id, '10.0.0.9')).statusCode, 202, 'another client is not limited')
})
