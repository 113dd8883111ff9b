// Images in comments (issue 13, item 7; contract section 5): a remote <img> in a comment is a tracking
// pixel that reveals every reader's IP to whoever wrote it, so comment images render as links (never
// <img>) and count as links for COMMENT_MAX_LINKS. Articles, written by editors, keep their images.
import t from 'tap'
import { build, createArticle, postComment } from '../helper.js'

const reader = { authorName: 'Reader', authorEmail: 'reader@example.com' }

t.test('comment images are links, and count as links', async (t) => {
  const a = await build(t, { commentModeration: 'none' })
  await createArticle(a, { title: 'Pictures', status: 'published', body: '![Harbour](https://news.example/harbour.jpg)' })
  const article = (await a.inject({ method: 'GET', url: '/v1/articles/pictures' })).json()
  t.match(article.bodyHtml, /<img src="https:\/\/news\.example\/harbour\.jpg" alt="Harbour">/, 'an article keeps its image')

  const pixels = await postComment(a, 'pictures', { ...reader, body: '![a](http://evil.example/t.png) '.repeat(4) })
  t.equal(pixels.statusCode, 201)
  t.equal(pixels.json().status, 'pending', 'four images are four links: more than COMMENT_MAX_LINKS (2)')
  t.notMatch(pixels.json().bodyHtml, /<img/i)
  t.match(pixels.json().bodyHtml, /<a href="http:\/\/evil\.example\/t\.png" rel="nofollow ugc noopener">a<\/a>/)

  const two = (await postComment(a, 'pictures', { ...reader, body: '![one](https://a.example/1.png "The first") and ![](https://a.example/2.png)' })).json()
  t.equal(two.status, 'approved', 'two images: within the limit')
  t.equal(two.bodyHtml, '<p><a href="https://a.example/1.png" title="The first" rel="nofollow ugc noopener">one</a> and <a href="https://a.example/2.png" rel="nofollow ugc noopener">https://a.example/2.png</a></p>\n',
    'the alt text is the link text (the URL when there is none)')

  const mixed = (await postComment(a, 'pictures', { ...reader, body: '![x](https://a.example/x.png) [y](https://b.example) https://c.example' })).json()
  t.equal(mixed.status, 'pending', 'an image, a link and a bare URL: three links')

  const wrapped = (await postComment(a, 'pictures', { ...reader, body: '[![logo](https://a.example/logo.png)](https://a.example) ![inline](data:image/png;base64,iVBORw0KGgo=) ![rel](/x.png)' })).json()
  t.equal(wrapped.bodyHtml, '<p><a href="https://a.example" rel="nofollow ugc noopener">logo</a> inline rel</p>\n',
    'an image inside a link is its alt text (no link in a link); one that is not http(s) is its alt text')
  t.equal(wrapped.status, 'approved', 'one link rendered')

  // A moderator's edit renders the same way.
  const edited = await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${two.id as number}`, payload: { body: '![b](https://t.example/p.gif)' } })
  t.equal(edited.json().bodyHtml, '<p><a href="https://t.example/p.gif" rel="nofollow ugc noopener">b</a></p>\n')
})
