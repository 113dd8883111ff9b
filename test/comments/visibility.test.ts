// One visibility rule for an article and everything under it (issue 13, item 9; contract section 5): a
// caller sees an article's comments exactly when it can see the article. Moderators see what the public
// sees of articles (published and due), so the thread of a draft is 404 to them as the draft is; editors
// see every article and so every thread.
import t from 'tap'
import { assertProblem, build, createArticle, postComment, type TestApp, onSqlite } from '../helper.js'

const reader = { authorName: 'Reader', authorEmail: 'reader@example.com', body: 'A comment.' }

async function hiddenThread (a: TestApp, slug: string, hide: Record<string, unknown>): Promise<number> {
  await createArticle(a, { title: slug, slug, status: 'published' })
  const comment = (await postComment(a, slug, reader)).json()
  t.equal(comment.status, 'approved')
  t.equal((await a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload: hide })).statusCode, 200)
  return comment.id
}

t.test('a moderator cannot see, list, post to or moderate the comments of an article it cannot see', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  const cases: Array<[string, Record<string, unknown>]> = [
    ['drafted', { status: 'draft' }],
    ['archived', { status: 'archived' }],
    ['rescheduled', { publishedAt: '2030-01-01T00:00:00.000Z' }]
  ]
  await createArticle(a, { title: 'Visible', status: 'published' })
  const visibleComment = (await postComment(a, 'visible', reader)).json().id as number
  for (const [slug, hide] of cases) {
    const id = await hiddenThread(a, slug, hide)
    assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/articles/${slug}` }), 404, 'not-found')
    assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/articles/${slug}/comments` }), 404, 'not-found')
    assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/articles/${slug}/comments?status=any` }), 404, 'not-found')
    assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/comments/${id}` }), 404, 'not-found')
    assertProblem(t, await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${id}`, payload: { status: 'spam' } }), 404, 'not-found')
    assertProblem(t, await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${id}` }), 404, 'not-found')
    assertProblem(t, await a.as('moderator', { method: 'POST', url: `/v1/articles/${slug}/comments`, payload: reader }), 404, 'not-found')
    assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles/${slug}/comments` }), 404, 'not-found')
    assertProblem(t, await postComment(a, slug, reader), 404, 'not-found')
    const queue = await a.as('moderator', { method: 'GET', url: `/v1/comments?article=${slug}&include=total` })
    t.same(queue.json().data, [], `${slug}: the queue filtered by the article lists nothing`)
    t.equal(queue.json().page.total, 0)

    // Editors see every article, so every thread.
    t.equal((await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}/comments` })).json().data.length, 1)
    t.equal((await a.as('editor', { method: 'GET', url: `/v1/comments/${id}` })).statusCode, 200)
    t.equal((await a.as('editor', { method: 'GET', url: `/v1/comments?article=${slug}` })).json().data.length, 1)
    assertProblem(t, await a.as('editor', { method: 'POST', url: `/v1/articles/${slug}/comments`, payload: reader }), 409, 'comments-closed')
  }
  // The moderator's queue holds the visible article's comment only; the editor's has them all.
  const queue = await a.as('moderator', { method: 'GET', url: '/v1/comments?include=total' })
  t.same(queue.json().data.map((c: { id: number }) => c.id), [visibleComment])
  t.equal(queue.json().page.total, 1)
  t.notMatch(queue.body, /drafted|archived|rescheduled/, 'no slug of a hidden article')
  t.equal((await a.as('editor', { method: 'GET', url: '/v1/comments?include=total' })).json().page.total, 4)
  t.equal((await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${visibleComment}`, payload: { status: 'pending' } })).statusCode, 200)
  t.equal((await a.as('editor', { method: 'PATCH', url: '/v1/comments/2', payload: { status: 'pending' } })).statusCode, 200, 'editors moderate every thread')

  // When the scheduled time comes, the thread comes with the article.
  a.clock.advance(Date.parse('2030-01-01T00:00:00.000Z') - a.clock.now)
  t.equal((await a.as('moderator', { method: 'GET', url: '/v1/articles/rescheduled/comments' })).statusCode, 200)
})

// Posting checks the article (visible, open) and the parent (approved, same article), then inserts. Each
// case below makes a change land between the check and the insert, as another request or process can:
// the insert notices and the whole post is checked again, so the answer is what a post after that change
// gets. Before, these made a comment on a closed or unpublished article, a reply to spam, or a 500 (a
// foreign key) for a deleted article.
t.test('a post checks its article and parent again if they change before the insert', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  const sql = (statement: string, ...params: unknown[]) => a.app.db.$client.prepare(statement).run(...params)
  const cases: Array<[string, (slug: string) => void, number, string]> = [
    ['closed', (slug) => sql('UPDATE articles SET comments_open = 0 WHERE slug = ?', slug), 409, 'comments-closed'],
    ['unpublished', (slug) => sql("UPDATE articles SET status = 'draft' WHERE slug = ?", slug), 404, 'not-found'],
    ['deleted', (slug) => sql('DELETE FROM articles WHERE slug = ?', slug), 404, 'not-found']
  ]
  const findTarget = a.app.comments.findTarget
  t.teardown(() => { a.app.comments.findTarget = findTarget })
  for (const [slug, change, status, problem] of cases) {
    await createArticle(a, { title: slug, slug, status: 'published' })
    let pending = true
    a.app.comments.findTarget = async (s) => {
      const target = await findTarget(s)
      if (pending) { pending = false; change(s) }
      return target
    }
    assertProblem(t, await postComment(a, slug, reader), status, problem)
  }
  a.app.comments.findTarget = findTarget
  t.equal((a.app.db.$client.prepare('SELECT count(*) AS n FROM comments').get() as { n: number }).n, 0, 'no comment was made')

  await createArticle(a, { title: 'Thread', status: 'published' })
  const parent = (await postComment(a, 'thread', reader)).json()
  const findById = a.app.comments.findById
  t.teardown(() => { a.app.comments.findById = findById })
  a.app.comments.findById = async (id) => {
    const record = await findById(id)
    sql("UPDATE comments SET status = 'spam' WHERE id = ?", id)
    return record
  }
  const reply = await postComment(a, 'thread', { ...reader, parentId: parent.id })
  t.match(assertProblem(t, reply, 422, 'validation').errors, [{ pointer: '/parentId' }], 'no reply to a comment that became spam')
})

t.test('a moderation that loses sight of its article on the way is a 404 and changes nothing', onSqlite, async (t) => {
  const a = await build(t, { commentModeration: 'none' })
  await createArticle(a, { title: 'Pulled', status: 'published' })
  const comment = (await postComment(a, 'pulled', reader)).json()
  const findById = a.app.comments.findById
  t.teardown(() => { a.app.comments.findById = findById })
  for (const [method, payload] of [['PATCH', { status: 'spam' }], ['DELETE', undefined]] as const) {
    let pending = true
    a.app.comments.findById = async (id) => {
      const record = await findById(id)
      // The editor unpublishes the article between the moderator's read and write.
      if (pending) { pending = false; a.app.db.$client.prepare("UPDATE articles SET status = 'draft' WHERE slug = 'pulled'").run() }
      return record
    }
    assertProblem(t, await a.as('moderator', { method, url: `/v1/comments/${comment.id as number}`, payload }), 404, 'not-found')
    a.app.db.$client.prepare("UPDATE articles SET status = 'published' WHERE slug = 'pulled'").run()
  }
  a.app.comments.findById = findById
  t.equal((await a.inject({ method: 'GET', url: `/v1/comments/${comment.id as number}` })).json().status, 'approved', 'neither write happened')
})
