// Export (API.md section 11): POST /v1/privacy/export {email, limit?, cursor?} (admin) → every comment by
// the address, matched case-insensitively, with private fields, paginated through the body.
import t from 'tap'
import { assertProblem, build, createArticle, postComment, onSqlite } from '../helper.js'

t.test('every comment by the address, in any case and status, with private fields, page by page', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'first', commentRateLimit: 1000, trustProxy: true })
  await createArticle(a, { title: 'One', status: 'published' })
  await createArticle(a, { title: 'Two', status: 'published' })
  const spellings = ['Mara@Example.org', 'mara@example.org', 'MARA@EXAMPLE.ORG', 'mara@example.org', 'Mara@example.ORG']
  const ids: number[] = []
  for (const [i, email] of spellings.entries()) {
    const res = await postComment(a, i % 2 === 0 ? 'one' : 'two', { authorName: 'Mara', authorEmail: email, body: `Comment ${i}` },
      { 'x-forwarded-for': `203.0.113.${i + 1}`, 'user-agent': `Agent/${i}` })
    ids.push(res.json().id)
    a.clock.advance(1000)
  }
  await postComment(a, 'one', { authorName: 'Other', authorEmail: 'other@example.org', body: 'Not hers' })
  await postComment(a, 'one', { authorName: 'Near', authorEmail: 'xmara@example.org', body: 'Not hers either' })
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${ids[1]}`, payload: { status: 'spam' } })
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${ids[2]}`, payload: { status: 'approved' } })

  const seen: Array<Record<string, unknown>> = []
  let cursor: string | undefined
  let pages = 0
  do {
    const res = await a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: ' MARA@example.org'.trim(), limit: 2, ...(cursor ? { cursor } : {}) } })
    t.equal(res.statusCode, 200)
    t.notOk(res.headers.link, 'no Link header: the next page has no URL')
    t.equal(res.headers['cache-control'], 'private, no-store')
    const body = res.json()
    t.equal(body.page.limit, 2)
    seen.push(...body.data)
    cursor = body.page.nextCursor ?? undefined
    pages++
  } while (cursor !== undefined)
  t.equal(pages, 3)
  t.same(seen.map((c) => c.id), ids, 'each comment once, oldest first')
  t.match(seen[0], { articleSlug: 'one', authorEmail: 'Mara@Example.org', ip: '203.0.113.1', userAgent: 'Agent/0', status: 'pending', body: 'Comment 0', reportCount: 0 })
  t.same(seen.map((c) => c.status), ['pending', 'spam', 'approved', 'pending', 'pending'], 'every status')

  const all = (await a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: 'mara@EXAMPLE.org' } })).json()
  t.equal(all.data.length, 5, '20 a page by default')
  t.same((await a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: 'nobody@example.org' } })).json(), { data: [], page: { limit: 20, nextCursor: null } })

  const first = (await a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: 'mara@example.org', limit: 1 } })).json()
  const foreign = await a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: 'other@example.org', cursor: first.page.nextCursor } })
  const problem = assertProblem(t, foreign, 422, 'validation')
  t.match(problem.errors, [{ in: 'body', pointer: '/cursor', message: /another query/ }], 'a cursor is bound to its address')
  assertProblem(t, await a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: 'mara@example.org', cursor: 'garbage!' } }), 422, 'validation')
  for (const limit of [0, 101, '5']) {
    assertProblem(t, await a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: 'mara@example.org', limit } }), 422, 'validation')
  }

  const plan = (a.app.db.$client.prepare('EXPLAIN QUERY PLAN SELECT id FROM comments WHERE lower("comments"."author_email") = lower(?) AND id > ? ORDER BY id LIMIT 21').all('x', 0) as Array<{ detail: string }>).map((r) => r.detail).join('\n')
  t.match(plan, /comments_email_status_idx/, `found through the email index:\n${plan}`)
})
