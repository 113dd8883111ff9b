// A realistic newsroom session through the typed client (openapi-fetch over the types generated from the
// committed document) against a real listening server. A schema change that breaks the client's types
// fails `tsc --noEmit` in npm test before this test even runs.
import t from 'tap'
import { createGazetteClient } from '../../openapi/client/index.js'
import { build } from '../helper.js'

t.test('a day at the newsdesk, through the generated client', async (t) => {
  const a = await build(t, { commentModeration: 'first' })
  const base = await a.app.listen({ host: '127.0.0.1', port: 0 })
  const admin = createGazetteClient(base, a.tokens.admin)
  const reader = createGazetteClient(base)

  // The admin makes tokens for the desk and for moderation.
  const editorToken = await admin.POST('/v1/tokens', { body: { name: 'newsdesk', role: 'editor' } })
  t.equal(editorToken.response.status, 201)
  const moderatorToken = await admin.POST('/v1/tokens', { body: { name: 'comments desk', role: 'moderator' } })
  const editor = createGazetteClient(base, editorToken.data!.token!)
  const moderator = createGazetteClient(base, moderatorToken.data!.token!)

  // The desk publishes a few tagged stories, one retried with an Idempotency-Key.
  const first = await editor.POST('/v1/articles', {
    params: { header: { 'idempotency-key': 'story-1' } },
    body: { title: 'Pacific Fleet returns to Vladivostok', dateline: 'VLADIVOSTOK', section: 'World', body: 'The frigates **docked** at dawn.', tags: ['Russia', 'Navy'], status: 'published' }
  })
  t.equal(first.response.status, 201)
  const retry = await editor.POST('/v1/articles', {
    params: { header: { 'idempotency-key': 'story-1' } },
    body: { title: 'Pacific Fleet returns to Vladivostok', dateline: 'VLADIVOSTOK', section: 'World', body: 'The frigates **docked** at dawn.', tags: ['Russia', 'Navy'], status: 'published' }
  })
  t.equal(retry.data?.id, first.data?.id, 'the retry replays, no second article')
  for (let i = 1; i <= 4; i++) {
    a.clock.advance(60_000)
    const res = await editor.POST('/v1/articles', { body: { title: `Harbour report ${i}`, tags: ['Navy'], status: 'published', body: `Day ${i} at the harbour.` } })
    t.equal(res.response.status, 201)
  }
  const slug = first.data!.slug

  // An edit with the ETag the desk read.
  const read = await editor.GET('/v1/articles/{slug}', { params: { path: { slug } } })
  const edited = await editor.PATCH('/v1/articles/{slug}', {
    params: { path: { slug }, header: { 'if-match': read.response.headers.get('etag')! } },
    body: { summary: 'Three frigates docked after a month at sea.' }
  })
  t.equal(edited.data?.revision, 2)

  // A reader comments; a first-time commenter waits for moderation.
  const comment = await reader.POST('/v1/articles/{slug}/comments', {
    params: { path: { slug } },
    body: { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Welcome home, sailors.' }
  })
  t.equal(comment.response.status, 201)
  t.equal(comment.data?.status, 'pending')
  t.notOk(JSON.stringify(comment.data).includes('olga@example.org'), 'the reader never gets the email back')

  // Within the edit window, she fixes a typo with the edit token of the 201 (API.md section 11).
  const fixed = await reader.PATCH('/v1/comments/{id}', {
    params: { path: { id: comment.data!.id }, header: { 'comment-token': comment.data!.editToken! } },
    body: { body: 'Welcome home, sailors!' }
  })
  t.equal(fixed.response.status, 200)
  t.match(fixed.data, { body: 'Welcome home, sailors!', edited: true, status: 'pending' })

  // The moderator works the queue and approves it.
  const queue = await moderator.GET('/v1/comments', { params: { query: { status: 'pending' } } })
  t.equal(queue.data?.data.length, 1)
  const approved = await moderator.PATCH('/v1/comments/{id}', { params: { path: { id: comment.data!.id } }, body: { status: 'approved' } })
  t.equal(approved.data?.status, 'approved')
  const thread = await reader.GET('/v1/articles/{slug}/comments', { params: { path: { slug } } })
  t.same(thread.data?.data.map((c) => c.authorName), ['Olga'])
  const article = await reader.GET('/v1/articles/{slug}', { params: { path: { slug } } })
  t.equal(article.data?.commentCount, 1)

  // A reader reports it; the moderator takes the most reported first.
  const report = await reader.POST('/v1/comments/{id}/reports', { params: { path: { id: comment.data!.id } }, body: { reason: 'off-topic' } })
  t.equal(report.response.status, 202)
  const reported = await moderator.GET('/v1/comments', { params: { query: { sort: '-reportCount' } } })
  t.match(reported.data?.data[0], { id: comment.data!.id, reportCount: 1 })

  // Olga asks what is held about her, and then to be forgotten (the address travels in the body).
  const exported = await admin.POST('/v1/privacy/export', { body: { email: 'OLGA@example.org' } })
  t.same(exported.data?.data.map((c) => [c.id, c.authorEmail]), [[comment.data!.id, 'olga@example.org']])
  const erased = await admin.POST('/v1/privacy/erase', { body: { email: 'olga@example.org' } })
  t.same(erased.data, { erased: 1 })
  t.equal((await reader.GET('/v1/articles/{slug}', { params: { path: { slug } } })).data?.commentCount, 0)

  // Readers search and browse by topic, page by page.
  const search = await reader.GET('/v1/articles', { params: { query: { q: 'docked frigates' } } })
  t.equal(search.data?.data[0]?.slug, slug)
  t.match(search.data?.data[0]?.snippet, /<mark>/)
  const seen: string[] = []
  let cursor: string | undefined
  do {
    const page = await reader.GET('/v1/articles', { params: { query: { tag: ['navy'], limit: 2, ...(cursor ? { cursor } : {}) } } })
    t.equal(page.response.status, 200)
    seen.push(...(page.data?.data ?? []).map((x) => x.slug))
    cursor = page.data?.page.nextCursor ?? undefined
  } while (cursor)
  t.equal(seen.length, 5)
  t.equal(new Set(seen).size, 5, 'every Navy story exactly once')
  const tags = await reader.GET('/v1/tags', { params: { query: { sort: '-articleCount' } } })
  t.same(tags.data?.data.map((x) => [x.slug, x.articleCount]), [['navy', 5], ['russia', 1]])

  // Errors arrive as problem details the client can read.
  const bad = await editor.POST('/v1/articles', { body: { title: '' } })
  t.equal(bad.response.status, 422)
  t.equal(bad.error?.type, '/problems/validation')
})
