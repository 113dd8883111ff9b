// The moderation queue sorted by reports (API.md section 11): `GET /v1/comments?sort=-reportCount`, most
// reported first, then newest, keyset-paginated across the reported and the unreported comments.
import t from 'tap'
import { assertProblem, build, createArticle, postComment, type TestApp, onSqlite } from '../helper.js'

const reader = { authorName: 'Ivan', authorEmail: 'ivan@example.com', body: 'A comment.' }
const report = (a: TestApp, id: number, from: string) =>
  a.inject({ method: 'POST', url: `/v1/comments/${id}/reports`, payload: { reason: 'spam' }, remoteAddress: from })

t.test('moderators sort the queue by reportCount, then newest, keyset-paginated', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000, commentReportThreshold: 100 })
  await createArticle(a, { title: 'Queue', status: 'published' })
  const ids: number[] = []
  for (let i = 0; i < 7; i++) {
    ids.push((await postComment(a, 'queue', { ...reader, body: `c${i}` })).json().id)
    if (i !== 3) a.clock.advance(1000) // c3 and c4 share a createdAt: the id breaks the tie
  }
  const counts = [2, 0, 3, 2, 1, 0, 0]
  for (const [i, n] of counts.entries()) for (let r = 0; r < n; r++) await report(a, ids[i]!, `192.0.2.${r + 1}`)
  const expected = [ids[2], ids[3], ids[0], ids[4], ids[6], ids[5], ids[1]]

  for (const limit of [1, 3, 20]) {
    const pages: number[] = []
    let url = `/v1/comments?sort=-reportCount&limit=${limit}&include=total`
    for (let n = 0; n < 10; n++) {
      const res = await a.as('moderator', { method: 'GET', url })
      t.equal(res.statusCode, 200)
      const body = res.json()
      t.equal(body.page.total, 7)
      pages.push(...body.data.map((c: { id: number }) => c.id))
      if (body.page.nextCursor === null) break
      url = `/v1/comments?sort=-reportCount&limit=${limit}&include=total&cursor=${body.page.nextCursor}`
    }
    t.same(pages, expected, `limit=${limit}: most reported first, then newest; each once across the reported and unreported parts`)
  }
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${ids[0]}`, payload: { status: 'pending' } })
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${ids[5]}`, payload: { status: 'pending' } })
  const pending = (await a.as('moderator', { method: 'GET', url: '/v1/comments?sort=-reportCount&status=pending&limit=1' })).json()
  t.same(pending.data.map((c: { id: number }) => c.id), [ids[0]])
  const next = (await a.as('moderator', { method: 'GET', url: `/v1/comments?sort=-reportCount&status=pending&limit=1&cursor=${pending.page.nextCursor}` })).json()
  t.same(next.data.map((c: { id: number }) => c.id), [ids[5]], 'a status filter applies to both parts')
  assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/comments?sort=-createdAt&status=pending&cursor=${pending.page.nextCursor}` }), 422, 'validation')
  assertProblem(t, await a.as('moderator', { method: 'GET', url: '/v1/comments?sort=reportCount' }), 422, 'validation')

  // Both parts read an index in order, with and without a status filter.
  const plan = (sql: string) => (a.app.db.$client.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join('\n')
  const newest = 'created_at DESC, id DESC LIMIT 21'
  for (const [query, index] of [
    [`SELECT id FROM comments WHERE status = 'approved' AND report_count > 0 ORDER BY report_count DESC, ${newest}`, 'comments_status_reported_idx'],
    [`SELECT id FROM comments WHERE report_count > 0 AND (report_count, created_at, id) < (3, 0, 9) ORDER BY report_count DESC, ${newest}`, 'comments_reported_idx'],
    [`SELECT id FROM comments WHERE status = 'approved' AND report_count = 0 ORDER BY ${newest}`, 'comments_status_created_idx'],
    [`SELECT id FROM comments WHERE report_count = 0 AND (created_at, id) < (0, 9) ORDER BY ${newest}`, 'comments_created_idx']
  ]) {
    const p = plan(query!)
    t.match(p, new RegExp(index!), `${index}:\n${p}`)
    t.notMatch(p, /TEMP B-TREE/)
  }
})
