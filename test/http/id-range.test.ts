// Every id, revision and number a client sends that names a stored row, at the edge of what the database
// can hold and beyond: PostgreSQL's ids and revisions are 32-bit (src/db/pg/schema.ts), so a larger one in a
// statement was a 500 there (found by the fuzzer on PostgreSQL) where SQLite, whose integers are 64-bit,
// answered 404. Both engines now give the same answers: the largest id that can exist is looked for (404),
// and any larger one is refused as invalid (422) before a statement is made.
import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

const LARGEST = 2_147_483_647

t.test('ids and revisions past what the database can hold are a 422 on both engines, the largest a 404', async (t) => {
  const a = await build(t, { webhookAllowPrivate: true })
  const article = await createArticle(a, { title: 'Ids at the edge', status: 'published' })
  const slug = String(article.slug)
  const posted = await a.inject({ method: 'POST', url: `/v1/articles/${slug}/comments`, payload: { authorName: 'Reader', authorEmail: 'r@example.com', body: 'Hello.' } })
  t.equal(posted.statusCode, 201, posted.body)
  const hook = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: 'http://127.0.0.1:9/hook', events: ['article.published'] } })
  t.equal(hook.statusCode, 201, hook.body)
  const hookId = Number(hook.json().id)

  const paths = (n: number) => [
    { method: 'GET' as const, url: `/v1/comments/${n}` },
    { method: 'PATCH' as const, url: `/v1/comments/${n}`, payload: { status: 'approved' } },
    { method: 'DELETE' as const, url: `/v1/comments/${n}` },
    { method: 'DELETE' as const, url: `/v1/tokens/${n}` },
    { method: 'GET' as const, url: `/v1/webhooks/${n}` },
    { method: 'DELETE' as const, url: `/v1/webhooks/${n}` },
    { method: 'GET' as const, url: `/v1/webhooks/${hookId}/deliveries/${n}` },
    { method: 'GET' as const, url: `/v1/articles/${slug}/revisions/${n}` },
    { method: 'GET' as const, url: `/v1/articles/${slug}/revisions/${n}/diff` },
    { method: 'GET' as const, url: `/v1/articles/${slug}/revisions/1/diff?against=${n}` }
  ]
  for (const n of [LARGEST + 1, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
    for (const req of paths(n)) {
      const res = await a.as('admin', req)
      t.not(res.statusCode, 500, `${req.method} ${req.url}: ${res.body.slice(0, 200)}`)
      t.equal(res.statusCode, req.url.includes('/deliveries/') ? 404 : 422, `${req.method} ${req.url}`)
    }
    assertProblem(t, await a.inject({ method: 'POST', url: `/v1/articles/${slug}/comments`, payload: { authorName: 'Reader', authorEmail: 'r@example.com', body: 'A reply.', parentId: n } }), 422, 'validation')
  }
  for (const req of paths(LARGEST)) {
    const res = await a.as('admin', req)
    t.equal(res.statusCode, 404, `the largest: ${req.method} ${req.url}: ${res.body.slice(0, 200)}`)
  }
})
