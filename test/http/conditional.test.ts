import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

t.test('list pages carry an ETag and answer 304, and the ETag follows what the caller sees', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'First', status: 'published' })
  await createArticle(a, { title: 'Due later', status: 'published', publishedAt: '2026-07-08T10:00:00.000Z' })

  const first = await a.inject({ method: 'GET', url: '/v1/articles' })
  t.equal(first.statusCode, 200)
  const etag = first.headers.etag as string
  t.match(etag, /^"[\w-]{27}"$/)
  const again = await a.inject({ method: 'GET', url: '/v1/articles', headers: { 'if-none-match': etag } })
  t.equal(again.statusCode, 304)
  t.equal(again.body, '')
  t.equal(again.headers.etag, etag, 'a 304 names the validator')
  t.equal(again.headers['cache-control'], 'public, max-age=0, must-revalidate')

  // Another query, another page: another ETag.
  const limited = await a.inject({ method: 'GET', url: '/v1/articles?limit=1', headers: { 'if-none-match': etag } })
  t.equal(limited.statusCode, 200)
  t.not(limited.headers.etag, etag)

  // A scheduled article becomes due with no write: revalidation must see the new page.
  a.clock.advance(60 * 60 * 1000)
  const due = await a.inject({ method: 'GET', url: '/v1/articles', headers: { 'if-none-match': etag } })
  t.equal(due.statusCode, 200, 'the cached page is stale once the scheduled article is due')
  t.equal(due.json().data.length, 2)
  t.not(due.headers.etag, etag)

  // An editor's page differs from the public one (drafts), and so does its ETag.
  await createArticle(a, { title: 'Draft' })
  const editor = await a.as('editor', { method: 'GET', url: '/v1/articles', headers: { 'if-none-match': due.headers.etag as string } })
  t.equal(editor.statusCode, 200)
  t.equal(editor.json().data.length, 3)
})

t.test('the token list carries an ETag and answers 304', async (t) => {
  const a = await build(t)
  const list = await a.as('admin', { method: 'GET', url: '/v1/tokens' })
  const etag = list.headers.etag as string
  t.ok(etag)
  const same = await a.as('admin', { method: 'GET', url: '/v1/tokens', headers: { 'if-none-match': etag } })
  t.equal(same.statusCode, 304)
  await a.as('admin', { method: 'POST', url: '/v1/tokens', payload: { name: 'desk', role: 'editor' } })
  const changed = await a.as('admin', { method: 'GET', url: '/v1/tokens', headers: { 'if-none-match': etag } })
  t.equal(changed.statusCode, 200)
  t.equal(changed.json().data.length, 4)
})

t.test('If-None-Match: weak comparison, lists, *, and malformed values', async (t) => {
  const a = await build(t)
  const created = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Cond', status: 'published' } })
  const etag = created.headers.etag as string
  const get = (value: string) => a.inject({ method: 'GET', url: '/v1/articles/cond', headers: { 'if-none-match': value } })

  t.equal((await get(`W/${etag}`)).statusCode, 304, 'a weak tag matches for GET')
  t.equal((await get(`"a", ${etag}`)).statusCode, 304, 'one member of a list matches')
  t.equal((await get(`"a,b" , ,${etag},`)).statusCode, 304, 'commas inside tags and empty members are parsed')
  t.equal((await get('*')).statusCode, 304, '* matches any current representation')
  t.equal((await get('"other", W/"else"')).statusCode, 200)
  for (const bad of ['unquoted', `${etag} ${etag}`, '"open', 'W/ "x"', ',', '"a" junk']) {
    const res = await get(bad)
    const problem = assertProblem(t, res, 422, 'validation')
    t.match(problem.errors, [{ in: 'header', pointer: '/if-none-match' }], bad)
  }
})

t.test('If-Match: strong comparison, lists, * and malformed values; nothing changes when refused', async (t) => {
  const a = await build(t)
  const created = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Guarded', status: 'published' } })
  const etag = created.headers.etag as string
  const patch = (headers: Record<string, string>) =>
    a.as('editor', { method: 'PATCH', url: '/v1/articles/guarded', headers, payload: { summary: 'changed' } })

  assertProblem(t, await patch({ 'if-match': `W/${etag}` }), 412, 'precondition-failed')
  assertProblem(t, await patch({ 'if-match': '"x", W/"y"' }), 412, 'precondition-failed')
  const malformed = assertProblem(t, await patch({ 'if-match': 'W/' }), 422, 'validation')
  t.match(malformed.errors, [{ in: 'header', pointer: '/if-match' }])
  // If-None-Match on a write: `*` means "only if it does not exist", which it does.
  assertProblem(t, await patch({ 'if-none-match': '*' }), 412, 'precondition-failed')
  assertProblem(t, await patch({ 'if-none-match': etag }), 412, 'precondition-failed')
  const unchanged = await a.inject({ method: 'GET', url: '/v1/articles/guarded' })
  t.equal(unchanged.json().summary, null, 'no refused request changed anything')
  t.equal(unchanged.headers.etag, etag)

  const listed = await patch({ 'if-match': `"x", ${etag}`, 'if-none-match': '"other"' })
  t.equal(listed.statusCode, 200, 'a list naming the current ETag passes')
  t.equal(listed.json().summary, 'changed')

  // On a GET, a stale If-Match is a 412 too (RFC 9110 13.2.2), and a current one a 200.
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/guarded', headers: { 'if-match': etag } }), 412, 'precondition-failed')
  const current = await a.inject({ method: 'GET', url: '/v1/articles/guarded', headers: { 'if-match': listed.headers.etag as string } })
  t.equal(current.statusCode, 200)

  // A stale DELETE deletes nothing; a token's DELETE honours If-Match as well.
  assertProblem(t, await a.as('editor', { method: 'DELETE', url: '/v1/articles/guarded', headers: { 'if-match': etag } }), 412, 'precondition-failed')
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/guarded' })).statusCode, 200)
  const token = await a.as('admin', { method: 'POST', url: '/v1/tokens', payload: { name: 'doomed', role: 'moderator' } })
  assertProblem(t, await a.as('admin', { method: 'DELETE', url: `/v1/tokens/${token.json().id}`, headers: { 'if-match': '"stale"' } }), 412, 'precondition-failed')
  const revoked = await a.as('admin', { method: 'DELETE', url: `/v1/tokens/${token.json().id}`, headers: { 'if-match': token.headers.etag as string } })
  t.equal(revoked.statusCode, 204, 'the ETag of the create response is the token\'s current ETag')
})

t.test('HEAD answers like GET without a body, with the same ETag and 304', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Headed', status: 'published', body: 'x'.repeat(3000) })
  for (const url of ['/v1/articles', '/v1/articles/headed', '/health']) {
    const get = await a.inject({ method: 'GET', url })
    const head = await a.inject({ method: 'HEAD', url })
    t.equal(head.statusCode, 200, url)
    t.equal(head.body, '')
    t.equal(head.headers.etag, get.headers.etag)
    t.equal(head.headers['content-type'], get.headers['content-type'])
    t.equal(head.headers['content-length'], get.headers['content-length'])
    t.equal(head.headers['cache-control'], get.headers['cache-control'])
    if (get.headers.etag !== undefined) {
      const cached = await a.inject({ method: 'HEAD', url, headers: { 'if-none-match': get.headers.etag as string } })
      t.equal(cached.statusCode, 304, `HEAD ${url} revalidates`)
    }
  }
  const missing = await a.inject({ method: 'HEAD', url: '/v1/articles/nope' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.body, '')
  const head = await a.as('admin', { method: 'HEAD', url: '/v1/tokens' })
  t.equal(head.statusCode, 200)
  t.ok(head.headers.etag)
})

t.test('the OpenAPI document revalidates too', async (t) => {
  const a = await build(t)
  for (const url of ['/openapi.json', '/openapi.yaml']) {
    const first = await a.inject({ method: 'GET', url })
    t.equal(first.statusCode, 200)
    const again = await a.inject({ method: 'GET', url, headers: { 'if-none-match': first.headers.etag as string } })
    t.equal(again.statusCode, 304, url)
  }
})

t.test('concurrent writes of one article: without If-Match each is applied in turn; with one ETag, one wins', async (t) => {
  const a = await build(t)
  const story = await createArticle(a, { title: 'Contended', body: 'Body.', status: 'published' })
  const patch = (n: number, headers: Record<string, string> = {}) =>
    a.as('editor', { method: 'PATCH', url: `/v1/articles/${story.slug as string}`, headers, payload: { summary: `Change ${n}.` } })

  // On PostgreSQL these ten kept overtaking each other between read and write: most answered 409.
  const unconditional = await Promise.all(Array.from({ length: 10 }, (_, n) => patch(n)))
  t.same(unconditional.map((r) => r.statusCode), Array(10).fill(200), 'all ten applied')
  const summaries = new Set(unconditional.map((r) => r.json().summary))
  t.equal(summaries.size, 10, 'each answer shows its own change')
  const now = (await a.inject({ method: 'GET', url: `/v1/articles/${story.slug as string}` })).json()
  t.ok(summaries.has(now.summary), 'the article holds the last one applied')

  const etag = (await a.inject({ method: 'GET', url: `/v1/articles/${story.slug as string}` })).headers.etag as string
  const conditional = await Promise.all(Array.from({ length: 10 }, (_, n) => patch(n + 10, { 'if-match': etag })))
  t.same(conditional.map((r) => r.statusCode).sort(), [200, ...Array(9).fill(412)], 'one ETag: one write wins, the others 412')
})
