// Idempotency-Key on the one public POST: keys are scoped to the client, so one reader's key can never
// replay another reader's response.
import t from 'tap'
import { build, countComments, createArticle, onSqlite } from '../helper.js'

t.test('public comment retries replay for the same client only', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none' })
  await createArticle(a, { title: 'Retries', status: 'published' })
  const payload = { authorName: 'Ann', authorEmail: 'ann@example.org', body: 'Once only.' }
  const send = (remoteAddress: string) => a.inject({
    method: 'POST', url: '/v1/articles/retries/comments', payload, remoteAddress, headers: { 'idempotency-key': 'reply-1' }
  })

  const first = await send('203.0.113.7')
  t.equal(first.statusCode, 201)
  const again = await send('203.0.113.7')
  t.equal(again.statusCode, 201)
  t.equal(again.headers['idempotent-replayed'], 'true')
  const editToken = first.json().editToken as string
  t.match(editToken, /^gzc_/)
  t.same(again.json(), { ...first.json(), editToken: null }, 'the same body, with the edit token (shown once) null')
  t.equal(again.headers.location, first.headers.location)
  t.equal(again.headers.etag, first.headers.etag, 'the ETag names the comment, not the body with its secret')
  const stored = JSON.stringify(a.app.db.$client.prepare('SELECT * FROM idempotency_keys').all())
  t.notOk(stored.includes(editToken) || stored.includes(editToken.slice(4, 24)), 'the edit token is not in the idempotency record')
  const edited = await a.inject({ method: 'PATCH', url: first.headers.location as string, payload: { body: 'Once, edited.' }, headers: { 'comment-token': editToken }, remoteAddress: '203.0.113.7' })
  t.equal(edited.statusCode, 200, 'the token shown the first time still works')
  t.equal(await countComments(a), 1, 'no second write')

  const other = await send('198.51.100.9')
  t.equal(other.statusCode, 201)
  t.not(other.headers['idempotent-replayed'], 'true', 'another client with the same key is a new request')
  t.not(other.json().id, first.json().id)
  t.equal(await countComments(a), 2)

  const changed = await a.inject({
    method: 'POST',
    url: '/v1/articles/retries/comments',
    remoteAddress: '203.0.113.7',
    headers: { 'idempotency-key': 'reply-1' },
    payload: { ...payload, body: 'Something else.' }
  })
  t.equal(changed.statusCode, 422)
  t.equal(changed.json().type, '/problems/idempotency-key-reused')
  t.equal(await countComments(a), 2, 'nothing written')
})
