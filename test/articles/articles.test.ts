import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

t.test('create, read, update and delete an article', async (t) => {
  const a = await build(t)
  const created = await a.as('editor', {
    method: 'POST',
    url: '/v1/articles',
    payload: {
      title: 'Pacific Fleet returns to Vladivostok',
      summary: 'Three frigates docked.',
      body: 'The ships **docked** at dawn.',
      section: 'Politics & Diplomacy',
      dateline: 'VLADIVOSTOK',
      authors: ['Anna Petrova'],
      tags: ['Russia', 'Navy'],
      status: 'published'
    }
  })
  t.equal(created.statusCode, 201)
  t.equal(created.headers.location, '/v1/articles/pacific-fleet-returns-to-vladivostok')
  t.match(created.headers.etag, /^"[\w-]+"$/)
  const article = created.json()
  t.match(article, {
    id: Number,
    slug: 'pacific-fleet-returns-to-vladivostok',
    bodyHtml: '<p>The ships <strong>docked</strong> at dawn.</p>\n',
    tags: [{ slug: 'russia', name: 'Russia' }, { slug: 'navy', name: 'Navy' }],
    authors: ['Anna Petrova'],
    status: 'published',
    publishedAt: '2026-07-08T09:00:00.000Z',
    createdAt: '2026-07-08T09:00:00.000Z',
    commentsOpen: true,
    commentCount: 0,
    revision: 1,
    source: null
  })

  const got = await a.inject({ method: 'GET', url: article.slug ? `/v1/articles/${article.slug}` : '' })
  t.equal(got.statusCode, 200)
  t.same(got.json(), article)
  t.equal(got.headers.etag, created.headers.etag, 'the same representation has the same ETag')

  a.clock.advance(1000)
  const patched = await a.as('editor', {
    method: 'PATCH',
    url: `/v1/articles/${article.slug}`,
    headers: { 'if-match': created.headers.etag as string },
    payload: { summary: null, tags: ['Navy'], body: 'Edited.' }
  })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { summary: null, tags: [{ slug: 'navy' }], bodyHtml: '<p>Edited.</p>\n', revision: 2, updatedAt: '2026-07-08T09:00:01.000Z', title: article.title })
  t.not(patched.headers.etag, created.headers.etag)

  const removed = await a.as('editor', { method: 'DELETE', url: `/v1/articles/${article.slug}` })
  t.equal(removed.statusCode, 204)
  t.equal(removed.body, '')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles/${article.slug}` }), 404, 'not-found')
})

t.test('slugs: derived, folded, de-duplicated, given, taken, renamed', async (t) => {
  const a = await build(t)
  const first = await createArticle(a, { title: 'Crème Brûlée à Paris!' })
  t.equal(first.slug, 'creme-brulee-a-paris')
  const second = await createArticle(a, { title: 'Crème brûlée — à Paris' })
  t.equal(second.slug, 'creme-brulee-a-paris-2')
  const third = await createArticle(a, { title: 'Creme brulee a Paris' })
  t.equal(third.slug, 'creme-brulee-a-paris-3')
  const cyrillic = await createArticle(a, { title: 'Владивосток' })
  t.equal(cyrillic.slug, 'vladivostok')
  const symbols = await createArticle(a, { title: '!!!' })
  t.equal(symbols.slug, 'article')

  const long = await createArticle(a, { title: 'word '.repeat(60) })
  t.ok(long.slug.length <= 80, 'at most 80 characters')
  t.match(long.slug, /^[a-z0-9]+(-[a-z0-9]+)*$/)
  const long2 = await createArticle(a, { title: 'word '.repeat(60) })
  t.ok(long2.slug.length <= 80 && long2.slug.endsWith('-2'), 'suffix fits within 80 characters')

  const given = await createArticle(a, { title: 'Anything', slug: 'my-slug' })
  t.equal(given.slug, 'my-slug')
  const taken = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Other', slug: 'my-slug' } })
  assertProblem(t, taken, 409, 'conflict')

  const bad = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Other', slug: 'Bad Slug' } })
  const problem = assertProblem(t, bad, 422, 'validation')
  t.match(problem.errors, [{ in: 'body', pointer: '/slug' }])

  // Renaming keeps the old URL working as a redirect.
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/my-slug', payload: { status: 'published' } })
  const renamed = await a.as('editor', { method: 'PATCH', url: '/v1/articles/my-slug', payload: { slug: 'new-slug' } })
  t.equal(renamed.json().slug, 'new-slug')
  const moved = await a.inject({ method: 'GET', url: '/v1/articles/my-slug' })
  t.equal(moved.statusCode, 301)
  t.equal(moved.headers.location, '/v1/articles/new-slug')
  const clash = await a.as('editor', { method: 'PATCH', url: '/v1/articles/new-slug', payload: { slug: 'vladivostok' } })
  assertProblem(t, clash, 409, 'conflict')

  // A new article may take a slug that only lives in history; the redirect then stops.
  const reuse = await createArticle(a, { title: 'My slug again', slug: 'my-slug', status: 'published' })
  t.equal(reuse.slug, 'my-slug')
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/my-slug' })).statusCode, 200)
  // A bad slug in the path is a 422 about the path.
  const badPath = await a.inject({ method: 'GET', url: '/v1/articles/NOT_A_SLUG' })
  t.match(assertProblem(t, badPath, 422, 'validation').errors, [{ in: 'path', pointer: '/slug' }])
})

t.test('visibility: drafts, archived and scheduled articles are 404 to the public', async (t) => {
  const a = await build(t)
  const draft = await createArticle(a, { title: 'Draft' })
  t.equal(draft.status, 'draft')
  t.equal(draft.publishedAt, null)
  const archived = await createArticle(a, { title: 'Archived', status: 'archived' })
  const scheduled = await createArticle(a, { title: 'Scheduled', status: 'published', publishedAt: '2026-07-08T10:00:00.000Z' })
  const live = await createArticle(a, { title: 'Live', status: 'published' })

  for (const hidden of [draft, archived, scheduled]) {
    assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles/${hidden.slug}` }), 404, 'not-found')
    t.equal((await a.as('editor', { method: 'GET', url: `/v1/articles/${hidden.slug}` })).statusCode, 200, 'editors see it')
    t.equal((await a.as('moderator', { method: 'GET', url: `/v1/articles/${hidden.slug}` })).statusCode, 404, 'moderators do not')
  }
  const list = await a.inject({ method: 'GET', url: '/v1/articles' })
  t.same(list.json().data.map((x: { slug: string }) => x.slug), [live.slug])

  // The scheduled article appears when due, with no job running.
  a.clock.advance(60 * 60 * 1000)
  t.equal((await a.inject({ method: 'GET', url: `/v1/articles/${scheduled.slug}` })).statusCode, 200)
  const later = await a.inject({ method: 'GET', url: '/v1/articles' })
  t.same(later.json().data.map((x: { slug: string }) => x.slug), [scheduled.slug, live.slug])

  // A renamed draft does not reveal its new slug through a redirect.
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${draft.slug}`, payload: { slug: 'secret-draft' } })
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles/${draft.slug}` }), 404, 'not-found')

  // The public may not ask for other statuses; editors may.
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles?status=draft' }), 401, 'unauthorized')
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles?status=published' })).statusCode, 200)
  const drafts = await a.as('editor', { method: 'GET', url: '/v1/articles?status=draft' })
  t.same(drafts.json().data.map((x: { slug: string }) => x.slug), ['secret-draft'])
  const all = await a.as('editor', { method: 'GET', url: '/v1/articles' })
  t.equal(all.json().data.length, 4, 'editors see every status by default')
})

t.test('publishing: status changes and publishedAt', async (t) => {
  const a = await build(t)
  const draft = await createArticle(a, { title: 'Later' })
  a.clock.advance(5000)
  const published = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${draft.slug}`, payload: { status: 'published' } })
  t.equal(published.json().publishedAt, '2026-07-08T09:00:05.000Z', 'publishing without a date sets now')
  const unchanged = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${draft.slug}`, payload: { status: 'published', title: 'Later' } })
  t.equal(unchanged.json().revision, published.json().revision, 'a patch that changes nothing keeps the revision')
  t.equal(unchanged.headers.etag, published.headers.etag)
  const back = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${draft.slug}`, payload: { status: 'draft' } })
  t.equal(back.json().status, 'draft')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles/${draft.slug}` }), 404, 'not-found')
  const dated = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${draft.slug}`, payload: { publishedAt: 'not a date' } })
  assertProblem(t, dated, 422, 'validation')
})

t.test('Markdown is rendered safely', async (t) => {
  const a = await build(t)
  const article = await createArticle(a, {
    title: 'Hostile',
    body: '<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror=alert(1)> [ok](https://example.org)'
  })
  t.notMatch(article.bodyHtml, /<script|<img|href="javascript:/i, 'no live tag or script link')
  t.match(article.bodyHtml, /&lt;script&gt;/)
  t.match(article.bodyHtml, /<a href="https:\/\/example.org">ok<\/a>/)
})

t.test('conditional requests on articles', async (t) => {
  const a = await build(t)
  const created = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Conditional', status: 'published' } })
  const etag = created.headers.etag as string
  const notModified = await a.inject({ method: 'GET', url: '/v1/articles/conditional', headers: { 'if-none-match': etag } })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.body, '')
  const modified = await a.inject({ method: 'GET', url: '/v1/articles/conditional', headers: { 'if-none-match': '"other"' } })
  t.equal(modified.statusCode, 200)

  const stale = await a.as('editor', { method: 'PATCH', url: '/v1/articles/conditional', headers: { 'if-match': '"stale"' }, payload: { title: 'Changed' } })
  assertProblem(t, stale, 412, 'precondition-failed')
  const staleDelete = await a.as('editor', { method: 'DELETE', url: '/v1/articles/conditional', headers: { 'if-match': '"stale"' } })
  assertProblem(t, staleDelete, 412, 'precondition-failed')
  const malformed = await a.as('editor', { method: 'PATCH', url: '/v1/articles/conditional', headers: { 'if-match': 'unquoted' }, payload: { title: 'Changed' } })
  assertProblem(t, malformed, 422, 'validation')
  const still = await a.inject({ method: 'GET', url: '/v1/articles/conditional' })
  t.equal(still.json().title, 'Conditional', 'nothing changed')
  t.equal(still.json().revision, 1)

  const star = await a.as('editor', { method: 'PATCH', url: '/v1/articles/conditional', headers: { 'if-match': '*' }, payload: { title: 'Changed' } })
  t.equal(star.statusCode, 200)
  const ok = await a.as('editor', { method: 'DELETE', url: '/v1/articles/conditional', headers: { 'if-match': star.headers.etag as string } })
  t.equal(ok.statusCode, 204)
})
