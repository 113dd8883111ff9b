// Comments posted at the same moment, on two articles: on SQLite they commit together (src/db/group-commit.ts),
// on PostgreSQL each in its own transaction. Either way each is stored once, counted, listed, logged, and
// the cached answers that showed the articles and threads before are dropped.
import t from 'tap'
import { build, createArticle, eventLog, postComment } from '../helper.js'

t.test('comments posted at once on two articles: each stored, counted, listed and logged, caches dropped', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  const first = await createArticle(a, { title: 'First', body: 'Text.', status: 'published' })
  const second = await createArticle(a, { title: 'Second', body: 'Text.', status: 'published' })
  const get = async (url: string) => (await a.inject({ method: 'GET', url })).json()
  // Cached before the comments (each asked twice: the second answer comes from the response cache).
  for (const slug of [first.slug, second.slug]) {
    for (let i = 0; i < 2; i++) {
      t.equal((await get(`/v1/articles/${slug}`)).commentCount, 0)
      t.same((await get(`/v1/articles/${slug}/comments`)).data, [])
    }
  }
  const before = (await eventLog(a)).length

  const posts = Array.from({ length: 8 }, (_, i) => ({ slug: i % 2 === 0 ? first.slug : second.slug, body: `Comment ${i}` }))
  const responses = await Promise.all([
    ...posts.map((p, i) => postComment(a, p.slug, { authorName: `Reader ${i}`, authorEmail: `reader${i}@example.com`, body: p.body })),
    // A reply to a comment that does not exist: refused before any write, whatever else is posted with it.
    postComment(a, first.slug, { authorName: 'Late', authorEmail: 'late@example.com', body: 'Reply', parentId: 999_999 })
  ])
  t.same(responses.map((r) => r.statusCode), [...posts.map(() => 201), 422])
  const created = responses.slice(0, posts.length).map((r) => r.json())
  t.equal(new Set(created.map((c) => c.id)).size, posts.length, 'eight comments, eight ids')

  for (const article of [first, second]) {
    const mine = created.filter((c, i) => posts[i]!.slug === article.slug)
    t.equal((await get(`/v1/articles/${article.slug}`)).commentCount, 4, `${article.slug}: counted`)
    const thread = (await get(`/v1/articles/${article.slug}/comments`)).data
    t.same(thread.map((c: { id: number }) => c.id), mine.map((c) => c.id).sort((x, y) => x - y), `${article.slug}: listed, oldest first`)
    for (const c of mine) t.equal((await get(`/v1/comments/${c.id}`)).body, c.body)
  }

  // Each comment logged once as submitted, then as approved (API.md section 10), after everything before.
  const events = (await eventLog(a)).slice(before)
  t.equal(events.length, posts.length * 2)
  for (const c of created) {
    const mine = events.filter((e) => e.data.id === c.id).map((e) => e.type)
    t.same(mine, ['comment.submitted', 'comment.approved'], `comment ${c.id}'s events, in order`)
  }
})
