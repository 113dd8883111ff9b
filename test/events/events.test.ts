// The event log: which change records which event (what the public can see change, and nothing else),
// and GET /v1/events.
import t from 'tap'
import { assertProblem, build, createArticle, eventLog as log, eventTracker as tracker, postComment, type TestApp } from '../helper.js'

const patch = (a: TestApp, slug: string, payload: Record<string, unknown>) =>
  a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload })

t.test('articles: published, updated, unpublished, and nothing for what the public cannot see', async (t) => {
  const a = await build(t)
  const next = tracker(a)

  const draft = await createArticle(a, { title: 'Secret plans', body: 'Draft words nobody may read.' })
  await patch(a, draft.slug, { body: 'Still a draft.' })
  t.same(await next(), [], 'a draft, created and edited, emits nothing')

  const published = (await patch(a, draft.slug, { status: 'published' })).json()
  t.same(await next(), [['article.published', published]], 'published: the article as the public sees it')

  const edited = (await patch(a, draft.slug, { title: 'Public plans' })).json()
  t.same(await next(), [['article.updated', edited]])
  await patch(a, draft.slug, { title: 'Public plans' })
  t.same(await next(), [], 'a patch that changes nothing emits nothing')

  const moved = (await patch(a, draft.slug, { slug: 'public-plans' })).json()
  t.same(await next(), [['article.updated', moved]], 'a new slug is an update (the old one redirects)')

  await patch(a, 'public-plans', { status: 'archived' })
  t.same(await next(), [['article.unpublished', { slug: 'public-plans' }]])
  await patch(a, 'public-plans', { status: 'draft', body: 'Reworked in private.' })
  t.same(await next(), [], 'not visible before nor after')
  const back = (await patch(a, 'public-plans', { status: 'published' })).json()
  t.same(await next(), [['article.published', back]])

  await patch(a, 'public-plans', { publishedAt: '2026-07-09T09:00:00.000Z' })
  t.same(await next(), [['article.unpublished', { slug: 'public-plans' }]], 'rescheduled to later: it leaves public view')

  await a.as('editor', { method: 'DELETE', url: '/v1/articles/public-plans' })
  t.same(await next(), [], 'deleting a scheduled article: the public never saw it')
  const gone = await createArticle(a, { title: 'Short lived', status: 'published' })
  t.same((await next()).map(([type]) => type), ['article.published'])
  await a.as('editor', { method: 'DELETE', url: `/v1/articles/${gone.slug}` })
  t.same(await next(), [['article.unpublished', { slug: gone.slug }]], 'deleting a visible article')

  await createArticle(a, { title: 'Never published', body: 'Embargoed words.', tags: ['Embargoed Topic'] })
  const all = await log(a)
  const text = JSON.stringify(all)
  t.notOk(text.includes('Draft words') || text.includes('Never published') || text.includes('Embargoed'),
    'no content a draft had while it was a draft, in any event')
  t.ok(all.every((e) => /^evt_[0-9a-f]{24}$/.test(e.id) && e.occurredAt === '2026-07-08T09:00:00.000Z'))
  t.equal(new Set(all.map((e) => e.id)).size, all.length, 'ids are unique')
  // An id begins with the time it was made at (src/events/outbox.ts, newEventId), so that ids made later
  // sort after: each new one goes where the last one went in the ids' index.
  const made = all.map((e) => e.id.slice(4, 16))
  t.same(made, [...made].sort(), 'ids begin with the time they were made at, in the log\'s order')
})

t.test('a restore is an article update: the events a PATCH would send, none for a stale If-Match', async (t) => {
  const a = await build(t)
  const next = tracker(a)
  const image = { url: 'https://images.news.example/harbour.jpg', alt: 'The harbour at dawn', credit: 'Photo: Desk' }
  const art = await createArticle(a, { title: 'Harbour', body: 'First words.', status: 'published', image, canonicalUrl: 'https://wire.example/harbour' })
  const [[type, published]] = await next() as [[string, any]]
  t.equal(type, 'article.published')
  t.same({ image: published.image, canonicalUrl: published.canonicalUrl }, { image, canonicalUrl: 'https://wire.example/harbour' },
    'the article as the public sees it, lead image and canonical URL included')

  await patch(a, art.slug, { body: 'Second words.', image: null })
  await next()
  const restore = (n: number, headers: Record<string, string> = {}) =>
    a.as('editor', { method: 'POST', url: `/v1/articles/${art.slug}/revisions/${n}/restore`, headers })
  const restored = await restore(1)
  t.equal(restored.statusCode, 200)
  t.same(await next(), [['article.updated', restored.json()]], 'restoring a visible article: article.updated with what it now is')
  t.same(restored.json().image, image)

  const etag = String((await a.as('editor', { method: 'GET', url: `/v1/articles/${art.slug}` })).headers.etag)
  await patch(a, art.slug, { title: 'Harbour at dawn' })
  await next()
  assertProblem(t, await restore(1, { 'if-match': etag }), 412, 'precondition-failed')
  t.same(await next(), [], 'a restore refused for a stale If-Match records nothing')

  // Revision 4 (the new title) is visible; taking it back to draft through a restore hides it.
  await patch(a, art.slug, { status: 'draft' })
  t.same(await next(), [['article.unpublished', { slug: art.slug }]])
  const republished = await restore(4)
  t.same(await next(), [['article.published', republished.json()]], 'restoring a published revision of a draft publishes it')
  await restore(5)
  t.same(await next(), [['article.unpublished', { slug: art.slug }]], 'restoring a draft revision unpublishes it')
})

t.test('a scheduled article is announced when its time comes, once, by the scheduler', async (t) => {
  const a = await build(t, {}, { workers: { pollMs: 20 } })
  const next = tracker(a)
  const scheduled = await createArticle(a, { title: 'Tomorrow', status: 'published', publishedAt: '2026-07-08T10:00:00.000Z' })
  await patch(a, scheduled.slug, { body: 'Edited before it is due.' })
  t.same(await next(), [], 'nothing while it is scheduled')
  a.clock.advance(60 * 60 * 1000)
  const until = Date.now() + 5000
  let events: [string, any][] = []
  while (events.length === 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    events = await next()
  }
  t.equal(events.length, 1)
  t.equal(events[0]![0], 'article.published')
  t.match(events[0]![1], { slug: 'tomorrow', body: 'Edited before it is due.', publishedAt: '2026-07-08T10:00:00.000Z' })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(await next(), [], 'and only once')
})

t.test('a write after a publication came due, before the scheduler noticed, keeps the order', async (t) => {
  // No scheduler tick in this test's time frame: the write itself announces the due publication first.
  const a = await build(t, {}, { workers: { pollMs: 60_000 } })
  const next = tracker(a)
  await createArticle(a, { title: 'Due soon', status: 'published', publishedAt: '2026-07-08T09:30:00.000Z' })
  a.clock.advance(31 * 60 * 1000)
  await patch(a, 'due-soon', { summary: 'Edited right after it went out.' })
  const events = await next()
  t.same(events.map(([type]) => type), ['article.published', 'article.updated'], 'published (as it was when due), then updated')
  t.equal(events[0]![1].summary, null)
  t.equal(events[1]![1].summary, 'Edited right after it went out.')

  await createArticle(a, { title: 'Another', status: 'published', publishedAt: '2026-07-08T09:40:00.000Z' })
  a.clock.advance(10 * 60 * 1000)
  const first = (await postComment(a, 'due-soon', { authorName: 'Ann', authorEmail: 'ann@example.org', body: 'First!' })).json()
  t.same((await next()).map(([type, data]) => `${type} ${data.slug ?? data.articleSlug}`), ['article.published another', 'comment.submitted due-soon'],
    'any write announces what came due before its own events')

  // A comment approved at once (Ann's, once her first is approved) on the very article that came due in
  // its own transaction: public as soon as that publication is announced, so comment.approved follows.
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${first.id}`, payload: { status: 'approved' } })
  await createArticle(a, { title: 'Third', status: 'published', publishedAt: '2026-07-08T09:50:00.000Z' })
  a.clock.advance(10 * 60 * 1000)
  await next()
  const posted = (await postComment(a, 'third', { authorName: 'Ann', authorEmail: 'ann@example.org', body: 'Again!' })).json()
  t.equal(posted.status, 'approved')
  t.same((await next()).map(([type, data]) => `${type} ${data.slug ?? data.articleSlug}`),
    ['article.published third', 'comment.submitted third', 'comment.approved third'], 'the due article announced, then the comment, public at once')
})

t.test('comments: submitted, approved, edited, removed; only what the public can see', async (t) => {
  const a = await build(t, { commentModeration: 'first' })
  await createArticle(a, { title: 'Open thread', status: 'published' })
  const next = tracker(a)
  await next()

  const pending = (await postComment(a, 'open-thread', { authorName: 'Ann', authorEmail: 'ann@example.org', body: 'Hello' })).json()
  t.same(await next(), [['comment.submitted', { id: pending.id, articleSlug: 'open-thread', status: 'pending' }]], 'a pending comment: submitted only')

  const approved = (await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${pending.id}`, payload: { status: 'approved' } })).json()
  const { authorEmail: _e, ip: _i, userAgent: _u, reportCount: _r, ...publicComment } = approved
  t.same(await next(), [['comment.approved', publicComment]], 'approved: the public comment, no email, IP, user agent or report count')

  const second = (await postComment(a, 'open-thread', { authorName: 'Ann', authorEmail: 'ANN@example.org', body: 'Again', parentId: pending.id })).json()
  const events = await next()
  t.same(events.map(([type]) => type), ['comment.submitted', 'comment.approved'], 'approved at creation: both')
  t.same(events[0]![1], { id: second.id, articleSlug: 'open-thread', status: 'approved' })
  const { editToken, ...secondPublic } = second
  t.match(editToken, /^gzc_/)
  t.same(events[1]![1], secondPublic, 'the public comment: the 201 without its edit token')

  const edited = (await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${second.id}`, payload: { body: 'Again, edited' } })).json()
  t.same((await next()).map(([type, data]) => [type, data.body]), [['comment.edited', edited.body]])

  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${second.id}`, payload: { status: 'spam' } })
  t.same(await next(), [['comment.removed', { id: second.id, articleSlug: 'open-thread' }]])
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${second.id}`, payload: { body: 'Spam, edited' } })
  await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${second.id}` })
  t.same(await next(), [], 'changes to a comment the public cannot see emit nothing')

  const reply = (await postComment(a, 'open-thread', { authorName: 'Ann', authorEmail: 'ann@example.org', body: 'A reply', parentId: pending.id })).json()
  await next()
  await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${pending.id}` })
  t.same(await next(), [['comment.removed', { id: pending.id, articleSlug: 'open-thread' }]], 'deleted into a tombstone: removed')
  await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${reply.id}` })
  t.same(await next(), [['comment.removed', { id: reply.id, articleSlug: 'open-thread' }]], 'deleted outright: removed')

  // Moderating the comments of an article the public cannot see emits nothing public.
  const hidden = (await postComment(a, 'open-thread', { authorName: 'Bo', authorEmail: 'bo@example.org', body: 'Later hidden' })).json()
  await patch(a, 'open-thread', { status: 'draft' })
  t.same((await next()).map(([type]) => type), ['comment.submitted', 'article.unpublished'])
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${hidden.id}`, payload: { status: 'approved' } })
  t.same(await next(), [], 'approving a comment of a draft: the public sees nothing yet')
})

t.test('tags: updated and deleted when the public can see them', async (t) => {
  const a = await build(t)
  const next = tracker(a)
  const created = (await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Japan', description: 'News from Japan.' } })).json()
  t.same(await next(), [['tag.updated', created]], 'a tag made with POST /v1/tags is public')

  await createArticle(a, { title: 'Tokyo', status: 'published', tags: ['Japan'] })
  await next()
  const renamed = (await a.as('editor', { method: 'PATCH', url: '/v1/tags/japan', payload: { name: 'Nippon' } })).json()
  t.same(await next(), [['tag.updated', { ...renamed, articleCount: 1 }]])
  await a.as('editor', { method: 'PATCH', url: '/v1/tags/japan', payload: { slug: 'nippon' } })
  t.same(await next(), [['tag.deleted', { slug: 'japan' }], ['tag.updated', { slug: 'nippon', name: 'Nippon', description: 'News from Japan.', articleCount: 1 }]],
    'a new slug: the old one is gone, the new one appears')

  await createArticle(a, { title: 'Embargoed', tags: ['Embargo Topic'] })
  await a.as('editor', { method: 'PATCH', url: '/v1/tags/embargo-topic', payload: { name: 'Embargo Subject', description: 'Only on a draft.' } })
  await a.as('editor', { method: 'DELETE', url: '/v1/tags/embargo-topic' })
  t.same(await next(), [], 'a tag only drafts carry is not public: renaming or deleting it emits nothing')

  await a.as('editor', { method: 'DELETE', url: '/v1/tags/nippon' })
  t.same(await next(), [['tag.deleted', { slug: 'nippon' }]])
})

t.test('GET /v1/events: oldest first, pages, type filter, after', async (t) => {
  const a = await build(t, { commentModeration: 'none' })
  for (let i = 0; i < 5; i++) await createArticle(a, { title: `Story ${i}`, status: 'published' })
  await postComment(a, 'story-0', { authorName: 'Ann', authorEmail: 'ann@example.org', body: 'Hi' })
  const all = await log(a)
  t.same(all.map((e) => e.type), ['article.published', 'article.published', 'article.published', 'article.published', 'article.published', 'comment.submitted', 'comment.approved'])
  t.same(all.slice(0, 5).map((e) => e.data.slug), ['story-0', 'story-1', 'story-2', 'story-3', 'story-4'], 'oldest first')

  const first = await a.as('admin', { method: 'GET', url: '/v1/events?limit=2' })
  t.equal(first.statusCode, 200)
  t.match(first.headers.link, /rel="next"/)
  t.match(first.headers.etag, /^"/)
  const page = first.json()
  t.same(page.data.map((e: { id: string }) => e.id), all.slice(0, 2).map((e) => e.id))
  t.same(Object.keys(page.page), ['limit', 'nextCursor'])
  t.equal((await a.as('admin', { method: 'GET', url: '/v1/events?limit=2', headers: { 'if-none-match': String(first.headers.etag) } })).statusCode, 304)

  const comments = await log(a, '&type=comment.submitted&type=comment.approved')
  t.same(comments.map((e) => e.type), ['comment.submitted', 'comment.approved'])
  const after = await a.as('admin', { method: 'GET', url: `/v1/events?after=${all[4]!.id}` })
  t.same(after.json().data.map((e: { id: string }) => e.id), all.slice(5).map((e) => e.id), 'after an event id: what came since')
  t.equal(after.json().page.nextCursor, null)

  const cursor = page.page.nextCursor as string
  assertProblem(t, await a.as('admin', { method: 'GET', url: `/v1/events?cursor=${cursor}&type=tag.updated` }), 422, 'validation')
  assertProblem(t, await a.as('admin', { method: 'GET', url: '/v1/events?cursor=bm9wZQ' }), 422, 'validation')
  assertProblem(t, await a.as('admin', { method: 'GET', url: `/v1/events?cursor=${cursor}&after=${all[0]!.id}` }), 422, 'validation')
  assertProblem(t, await a.as('admin', { method: 'GET', url: '/v1/events?after=evt_AAAAAAAAAAAAAAAA' }), 422, 'validation')
  assertProblem(t, await a.as('admin', { method: 'GET', url: '/v1/events?type=article.deleted' }), 422, 'validation')
  assertProblem(t, await a.as('admin', { method: 'GET', url: '/v1/events?limit=101' }), 422, 'validation')
})
