// Every id and revision number a client sends that names a stored row, at the edge of what the database
// can hold and beyond: PostgreSQL's ids and revisions are 32-bit (src/db/pg/schema.ts), so a larger one in a
// statement was a 500 there (found by the fuzzer on PostgreSQL) where SQLite, whose integers are 64-bit,
// answered 404. Both engines now give the same answers: the largest id that can exist is looked for (404),
// and any larger one is refused as invalid (422) before a statement is made. The operations are read from
// the OpenAPI document, so a route added later with such a parameter is covered without touching this file.
// (Cursors carry ids too: test/http/cursors.test.ts.)
import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

const LARGEST = 2_147_483_647

/** A valid body for the operations with an id in their path that need one. */
const BODIES: Record<string, unknown> = {
  'patch /v1/comments/{id}': { status: 'approved' },
  'post /v1/comments/{id}/reports': { reason: 'spam' },
  'patch /v1/webhooks/{id}': { enabled: true }
}

t.test('ids and revisions past what the database can hold are a 422 on both engines, the largest a 404', async (t) => {
  const a = await build(t, { webhookAllowPrivate: true })
  const article = await createArticle(a, { title: 'Ids at the edge', status: 'published' })
  const slug = String(article.slug)
  const posted = await a.inject({ method: 'POST', url: `/v1/articles/${slug}/comments`, payload: { authorName: 'Reader', authorEmail: 'r@example.com', body: 'Hello.' } })
  t.equal(posted.statusCode, 201, posted.body)
  const hook = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: 'http://127.0.0.1:9/hook', events: ['article.published'] } })
  t.equal(hook.statusCode, 201, hook.body)
  const real: Record<string, string> = { slug, id: String(hook.json().id), revision: '1', deliveryId: '1' }

  const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> }
  const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).filter((m) => m !== 'parameters').map((method) => ({ method, path })))
    .filter(({ path }) => /\{(id|revision|deliveryId)\}/.test(path))
  t.ok(operations.length >= 15, `${operations.length} operations name a row by a number`)

  const send = (method: string, path: string, values: Record<string, string>) => a.as('admin', {
    method: method.toUpperCase() as 'GET',
    url: path.replace(/\{(\w+)\}/g, (_, name: string) => values[name]!),
    ...(BODIES[`${method} ${path}`] === undefined ? {} : { payload: BODIES[`${method} ${path}`] as Record<string, unknown> })
  })
  for (const { method, path } of operations) {
    for (const name of [...path.matchAll(/\{(id|revision|deliveryId)\}/g)].map((m) => m[1]!)) {
      // Deliveries' ids are 64-bit on both engines: past 2^31 - 1 they are looked for like any other.
      const bounded = name !== 'deliveryId'
      for (const n of [LARGEST + 1, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
        const res = await send(method, path, { ...real, [name]: String(n) })
        t.equal(res.statusCode, bounded ? 422 : 404, `${method} ${path}, ${name} = ${n}: ${res.body.slice(0, 200)}`)
      }
      const res = await send(method, path, { ...real, [name]: String(LARGEST) })
      t.equal(res.statusCode, 404, `${method} ${path}, ${name} = the largest: ${res.body.slice(0, 200)}`)
    }
  }

  // And in a body: the comment a reply answers.
  for (const n of [LARGEST + 1, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
    assertProblem(t, await a.inject({ method: 'POST', url: `/v1/articles/${slug}/comments`, payload: { authorName: 'Reader', authorEmail: 'r@example.com', body: 'A reply.', parentId: n } }), 422, 'validation')
  }
  const reply = await a.inject({ method: 'POST', url: `/v1/articles/${slug}/comments`, payload: { authorName: 'Reader', authorEmail: 'r@example.com', body: 'A reply.', parentId: LARGEST } })
  t.equal(reply.statusCode, 422, 'the largest: no such comment to answer')
  t.match(reply.json().errors, [{ in: 'body', pointer: '/parentId' }])
})
