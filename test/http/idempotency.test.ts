import t from 'tap'
import { assertProblem, build, type TestApp, onSqlite } from '../helper.js'

const countArticles = (a: TestApp) => (a.app.db.$client.prepare('SELECT count(*) AS n FROM articles').get() as { n: number }).n
const post = (a: TestApp, key: string | undefined, payload: Record<string, unknown>, role: 'editor' | 'admin' = 'editor') =>
  a.as(role, { method: 'POST', url: '/v1/articles', payload, headers: key === undefined ? {} : { 'idempotency-key': key } })

t.test('a retry with the same key and body replays the first response without a second write', onSqlite, async (t) => {
  const a = await build(t)
  const first = await post(a, 'key-1', { title: 'Once', status: 'published' })
  t.equal(first.statusCode, 201)
  t.notOk(first.headers['idempotent-replayed'])
  a.clock.advance(60 * 60 * 1000)
  const retry = await post(a, 'key-1', { title: 'Once', status: 'published' })
  t.equal(retry.statusCode, 201)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(retry.body, first.body, 'the same body, byte for byte')
  for (const name of ['location', 'etag', 'content-type']) t.equal(retry.headers[name], first.headers[name], name)
  t.not(retry.headers['x-request-id'], first.headers['x-request-id'], 'the request id is the retry\'s own')
  t.equal(retry.headers['cache-control'], 'private, no-store')
  t.equal(countArticles(a), 1, 'one article')

  // Without a key, the same request is a new create (the derived slug gets -2).
  const keyless = await post(a, undefined, { title: 'Once', status: 'published' })
  t.equal(keyless.json().slug, 'once-2')
})

t.test('the same key with another request is a 422 and changes nothing', onSqlite, async (t) => {
  const a = await build(t)
  await post(a, 'key-2', { title: 'Original' })
  const reused = await post(a, 'key-2', { title: 'Something else' })
  const problem = assertProblem(t, reused, 422, 'idempotency-key-reused')
  t.match(problem.detail, /different request/)
  t.equal(countArticles(a), 1)
  // Another URL with the same key and body is another request too.
  const token = await a.as('admin', { method: 'POST', url: '/v1/tokens', payload: { title: 'Original' }, headers: { 'idempotency-key': 'key-2' } })
  assertProblem(t, token, 422, 'validation')
})

t.test('a replay outlives the resource it created', onSqlite, async (t) => {
  const a = await build(t)
  const first = await post(a, 'key-3', { title: 'Short lived' })
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/articles/short-lived' })).statusCode, 204)
  const retry = await post(a, 'key-3', { title: 'Short lived' })
  t.equal(retry.statusCode, 201)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(retry.body, first.body)
  t.equal(countArticles(a), 0, 'the replay did not recreate it')
})

t.test('keys are scoped to the caller', onSqlite, async (t) => {
  const a = await build(t)
  const editor = await post(a, 'shared', { title: 'Mine' })
  const admin = await post(a, 'shared', { title: 'Mine' }, 'admin')
  t.equal(admin.statusCode, 201)
  t.notOk(admin.headers['idempotent-replayed'], 'another token does not get the editor\'s response')
  t.not(admin.json().id, editor.json().id)
  t.equal(countArticles(a), 2)
})

t.test('4xx results are replayed; requests refused before the handler store nothing', onSqlite, async (t) => {
  const a = await build(t)
  await post(a, undefined, { title: 'Taken', slug: 'taken' })
  const clash = await post(a, 'key-4', { title: 'Another', slug: 'taken' })
  assertProblem(t, clash, 409, 'conflict')
  const again = await post(a, 'key-4', { title: 'Another', slug: 'taken' })
  assertProblem(t, again, 409, 'conflict')
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.body, clash.body)

  // A validation failure is not stored: the corrected request may use the same key.
  assertProblem(t, await post(a, 'key-5', { title: '' }), 422, 'validation')
  const fixed = await post(a, 'key-5', { title: 'Fixed' })
  t.equal(fixed.statusCode, 201)
  t.notOk(fixed.headers['idempotent-replayed'])
  // Nor is an unauthenticated attempt.
  const anonymous = await a.inject({ method: 'POST', url: '/v1/articles', payload: { title: 'Anon' }, headers: { 'idempotency-key': 'key-6' } })
  assertProblem(t, anonymous, 401, 'unauthorized')
  const rows = a.app.db.$client.prepare('SELECT key FROM idempotency_keys ORDER BY key').all()
  t.same(rows, [{ key: 'key-4' }, { key: 'key-5' }])
})

t.test('a 5xx releases the key so that a retry can succeed', onSqlite, async (t) => {
  const a = await build(t)
  a.app.db.$client.exec("CREATE TRIGGER fail BEFORE INSERT ON articles BEGIN SELECT RAISE(ABORT, 'boom'); END")
  assertProblem(t, await post(a, 'key-7', { title: 'Flaky' }), 500, 'internal')
  a.app.db.$client.exec('DROP TRIGGER fail')
  const retry = await post(a, 'key-7', { title: 'Flaky' })
  t.equal(retry.statusCode, 201)
  t.notOk(retry.headers['idempotent-replayed'])
  t.equal(countArticles(a), 1)
})

t.test('malformed keys are a 422 on the header', onSqlite, async (t) => {
  const a = await build(t)
  for (const key of ['x'.repeat(256), 'tab\there', 'é-key']) {
    const res = await post(a, key, { title: 'Keyed' })
    const problem = assertProblem(t, res, 422, 'validation')
    t.match(problem.errors, [{ in: 'header', pointer: '/idempotency-key' }])
  }
  t.equal(countArticles(a), 0)
  t.equal((await post(a, 'x'.repeat(255), { title: 'Keyed' })).statusCode, 201, '255 characters are fine')
})

// In one process a claim and its response happen without yielding to other requests, so concurrent
// duplicates here are replays; the 409 for a claim still in flight (another process, a slower store) is
// tested below by leaving a claim open.
t.test('concurrent requests with one key never write twice', onSqlite, async (t) => {
  const a = await build(t)
  const payload = { title: 'Race', body: 'y'.repeat(20_000), tags: ['one', 'two', 'three'] }
  const results = await Promise.all(Array.from({ length: 8 }, () => post(a, 'race', payload)))
  const statuses = results.map((r) => r.statusCode)
  t.ok(statuses.every((s) => s === 201 || s === 409), `201 or 409 only: ${statuses.join(',')}`)
  const originals = results.filter((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined)
  t.equal(originals.length, 1, 'exactly one request wrote')
  for (const r of results.filter((r) => r.statusCode === 201)) t.equal(r.body, originals[0]?.body)
  for (const r of results.filter((r) => r.statusCode === 409)) {
    assertProblem(t, r, 409, 'idempotency-key-in-use')
    t.equal(r.headers['retry-after'], '1')
  }
  t.equal(countArticles(a), 1)
})

t.test('a request that is still running answers 409; an abandoned claim is taken over', onSqlite, async (t) => {
  const a = await build(t)
  // The claim a request makes before its handler runs, as it stands while that request is in flight.
  const payload = { title: 'In flight' }
  const first = await post(a, 'busy', payload)
  a.app.db.$client.prepare('UPDATE idempotency_keys SET status_code = NULL, body = NULL, headers = NULL').run()
  a.app.db.$client.prepare('DELETE FROM articles').run()
  const busy = await post(a, 'busy', payload)
  assertProblem(t, busy, 409, 'idempotency-key-in-use')
  t.equal(countArticles(a), 0, 'no write while the first is in flight')
  a.clock.advance(61 * 1000)
  const taken = await post(a, 'busy', payload)
  t.equal(taken.statusCode, 201, 'a claim left by a dead request does not block the key for a day')
  t.not(taken.body, first.body)
})

t.test('keys expire after 24 hours and are purged', onSqlite, async (t) => {
  const a = await build(t)
  await post(a, 'old', { title: 'Yesterday' })
  a.clock.advance(24 * 60 * 60 * 1000 + 1)
  const reused = await post(a, 'old', { title: 'Today' })
  t.equal(reused.statusCode, 201, 'an expired key is free again')
  await post(a, 'other', { title: 'Later' })
  const keys = a.app.db.$client.prepare('SELECT key FROM idempotency_keys ORDER BY key').all()
  t.same(keys, [{ key: 'old' }, { key: 'other' }], 'the expired row is gone, the new ones stay')
  a.clock.advance(24 * 60 * 60 * 1000 + 1)
  await post(a, 'fresh', { title: 'Tomorrow' })
  t.same(a.app.db.$client.prepare('SELECT key FROM idempotency_keys').all(), [{ key: 'fresh' }])
})

t.test('the OpenAPI document declares the header on every POST and the replay header', async (t) => {
  const a = await build(t)
  const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json()
  let posts = 0
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    const op = item.post
    if (op === undefined) continue
    posts++
    t.ok(op.parameters.some((p: any) => p.in === 'header' && p.name === 'idempotency-key'), `POST ${path} takes Idempotency-Key`)
    const created = Object.entries(op.responses as Record<string, any>).filter(([s]) => s.startsWith('2'))
    t.ok(created.length > 0 && created.every(([, r]) => r.headers?.['Idempotent-Replayed']), `POST ${path} documents the replay`)
    t.ok(op.responses['409'], `POST ${path} documents 409`)
  }
  t.ok(posts >= 2)
})
