// The feed of an article's approved comments: newest first, nothing private, moved with the article's
// slug, gone with the article.
import t from 'tap'
import { assertProblem, build, createArticle, postComment } from '../helper.js'
import { get, HOST } from './fixtures.js'

t.test('an article\'s approved comments, without private fields', async (t) => {
  const a = await build(t, { commentModeration: 'first' })
  const article = await createArticle(a, { title: 'Story', body: 'Text', status: 'published' })
  const first = await postComment(a, article.slug, { authorName: 'Olga', authorEmail: 'olga@example.org', authorUrl: 'https://olga.example', body: 'Welcome **home**.' }, { 'user-agent': 'SecretAgent/1.0' })
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${first.json().id}`, payload: { status: 'approved' } })
  a.clock.advance(1000)
  await postComment(a, article.slug, { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Approved at once this time.' })
  await postComment(a, article.slug, { authorName: 'Spammer', authorEmail: 'spam@example.org', body: 'Pending forever' })
  const comments = (await get(a, `/v1/articles/${article.slug}/comments`)).json().data

  for (const format of ['rss', 'atom', 'json']) {
    const res = await get(a, `/feeds/${format}?comments=${article.slug}`)
    t.equal(res.statusCode, 200)
    t.notMatch(res.body, /olga@example\.org|spam@example\.org|SecretAgent|127\.0\.0\.1|Pending forever/, `${format}: no email, IP, user agent or pending comment`)
  }
  const feed = (await get(a, `/feeds/json?comments=${article.slug}`)).json()
  t.equal(feed.title, 'Comments on “Story”')
  t.same(feed.items.map((i: { content_html: string }) => i.content_html), [...comments].reverse().map((c: { bodyHtml: string }) => c.bodyHtml), 'newest first')
  t.equal(feed.items[1].url, `http://${HOST}/v1/articles/story#comment-${first.json().id}`)
  t.same(feed.items[1].authors, [{ name: 'Olga', url: 'https://olga.example' }])
  t.match(feed.items[1].id, /^tag:news-api\.example,2026-07-08:comment\/\d+$/)

  // An old slug moves the feed; a hidden article has none.
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/story', payload: { slug: 'the-story' } })
  const moved = await get(a, '/feeds/atom?comments=story&limit=5')
  t.equal(moved.statusCode, 301)
  t.equal(moved.headers.location, '/feeds/atom?comments=the-story&limit=5')
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/the-story', payload: { status: 'draft' } })
  assertProblem(t, await get(a, '/feeds/rss?comments=the-story'), 404, 'not-found')
  assertProblem(t, await get(a, '/feeds/rss?comments=story'), 404, 'not-found')
  assertProblem(t, await get(a, '/feeds/rss?comments=no-such-article'), 404, 'not-found')
})
