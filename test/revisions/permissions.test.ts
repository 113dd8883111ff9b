// History is for editors: the public and moderators are refused before anything about the article is
// looked up, and nothing of an old revision reaches a public route.
import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

t.test('the public gets 401 and moderators 403 on every history route, whether the article exists or not', async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Embargoed', body: 'Secret draft text.' })
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${art.slug}`, payload: { body: 'More secret text.' } })
  for (const slug of [art.slug, 'no-such-article']) {
    const routes = [
      { method: 'GET' as const, url: `/v1/articles/${slug}/revisions` },
      { method: 'GET' as const, url: `/v1/articles/${slug}/revisions/1` },
      { method: 'GET' as const, url: `/v1/articles/${slug}/revisions/2/diff?against=1` },
      { method: 'POST' as const, url: `/v1/articles/${slug}/revisions/1/restore` }
    ]
    for (const route of routes) {
      const anonymous = await a.inject(route)
      assertProblem(t, anonymous, 401, 'unauthorized')
      t.match(anonymous.headers['www-authenticate'], /^Bearer/)
      t.notMatch(anonymous.body, /secret/i)
      const moderator = await a.as('moderator', route)
      assertProblem(t, moderator, 403, 'forbidden')
      t.notMatch(moderator.body, /secret/i)
      const revoked = await a.inject({ ...route, headers: { authorization: 'Bearer not-a-token' } })
      assertProblem(t, revoked, 401, 'unauthorized')
    }
  }
  const admin = await a.as('admin', { method: 'GET', url: `/v1/articles/${art.slug}/revisions` })
  t.equal(admin.statusCode, 200, 'admins may do what editors may')
  t.equal(admin.headers['cache-control'], 'private, no-store')
  t.equal((await a.as('editor', { method: 'GET', url: `/v1/articles/${art.slug}/revisions/1` })).json().article.body, 'Secret draft text.')
})

t.test('an article taken back to draft shows nothing of its published past to the public', async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Leaked memo', slug: 'leaked-memo', body: 'The memo says zanzibarite.', status: 'published' })
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/leaked-memo' })).statusCode, 200)
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/leaked-memo', payload: { status: 'draft', slug: 'memo-draft', body: 'Rewritten.' } })

  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/leaked-memo' }), 404, 'not-found')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/memo-draft' }), 404, 'not-found')
  t.same((await a.inject({ method: 'GET', url: '/v1/articles?q=zanzibarite' })).json().data, [], 'old text is not searchable')
  t.same((await a.inject({ method: 'GET', url: '/v1/articles' })).json().data, [])
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/leaked-memo/revisions/1' }), 401, 'unauthorized')
  // Editors still see the published revision.
  const first = await a.as('editor', { method: 'GET', url: '/v1/articles/memo-draft/revisions/1' })
  t.match(first.json().article, { status: 'published', body: 'The memo says zanzibarite.' })
  t.ok(art)
})
