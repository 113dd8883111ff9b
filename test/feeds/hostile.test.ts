// Hostile text in every field a feed carries: `]]>`, `&`, markup, control characters XML cannot carry.
// Every feed stays well-formed, shows the text as text, and runs no markup. (A lone surrogate never gets
// this far: the API refuses it as input, 422, see test/http/unicode.test.ts.)
import t from 'tap'
import { parseFeed } from '@rowanmanning/feed-parser'
import { build, createArticle, postComment } from '../helper.js'
import { counts, notWellFormed, skipWithoutXmllint, xpaths } from '../xml.js'
import { get } from './fixtures.js'

const NASTY = ' ]]> & &amp; <script>alert(1)</script> \u0001\u0008\u000b\u000c\u001f\uFFFE "q" \'a\' '
// Control characters XML 1.0 cannot carry, U+FFFE and U+FFFF; and what survives into XML.
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/
// eslint-disable-next-line no-control-regex
const xmlSafe = (text: string): string => text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
/** What the independent parser reports for a text: like most readers it decodes entities even in plain text. */
const asParsed = (text: string): string => xmlSafe(text).replace(/&amp;/g, '&').trim()

t.test('hostile titles, bodies, names and captions stay well-formed and inert', { skip: skipWithoutXmllint }, async (t) => {
  const a = await build(t, { commentModeration: 'none' })
  const created = await createArticle(a, {
    title: `Title${NASTY}end`,
    summary: `Summary <b>bold</b>${NASTY}`,
    body: `# Heading${NASTY}\n\n<img src=x onerror=alert(1)> [link](javascript:alert(1)) <![CDATA[ x ]]>`,
    section: `Politics <i>&</i>${NASTY}`,
    authors: [`Anna <script>${NASTY}`],
    tags: ['<b>Tag</b> & "x"'],
    status: 'published',
    image: { url: 'https://img.example/a.png?x=1&y=2', alt: `Alt${NASTY}`, caption: `Caption${NASTY}`, credit: `Credit${NASTY}` },
    canonicalUrl: 'https://tass.com/a?b=1&c=2'
  })
  const posted = await postComment(a, created.slug, { authorName: '<img src=x onerror=alert(1)>', authorEmail: 'evil@example.org', body: `Comment${NASTY}<script>x</script>` })
  t.equal(posted.statusCode, 201)
  const article = (await get(a, `/v1/articles/${created.slug}`)).json()
  const tag = article.tags[0].slug
  const feeds = [
    '', `?tag=${tag}`, `?section=${encodeURIComponent(article.section)}`, `?author=${encodeURIComponent(article.authors[0])}`, `?comments=${article.slug}`
  ]

  for (const query of feeds) {
    for (const format of ['rss', 'atom'] as const) {
      const res = await get(a, `/feeds/${format}${query}`)
      t.equal(res.statusCode, 200, `${format}${query}`)
      t.equal(notWellFormed(res.body), undefined, `${format}${query}: well-formed`)
      t.notMatch(res.body, NOT_XML, 'no character XML cannot carry')
      const feed = parseFeed(res.body)
      t.equal(feed.items.length, 1, 'parses in an independent parser')
      if (query === `?comments=${article.slug}`) {
        const author = format === 'rss' ? "/rss/channel/item/*[local-name()='creator']" : "//*[local-name()='entry']/*[local-name()='author']/*[local-name()='name']"
        t.equal(xpaths(res.body, [author])[0]!.trim(), '<img src=x onerror=alert(1)>', 'a commenter\'s name is text')
        continue
      }
      const item = feed.items[0]!
      // RSS's title and description are escaped as HTML, so even a reader that decodes them reads them right.
      const read = format === 'rss' ? (text: string) => xmlSafe(text).trim() : asParsed
      t.equal(item.title, read(article.title), 'the title reads as written')
      t.equal(item.description, read(article.summary), 'the summary reads as written')
      t.same(item.authors.map((p) => p.name), article.authors.map(asParsed))
      t.same(item.categories.map((c) => c.label), ['<b>Tag</b> & "x"'])
      // As XML, no element is markup from the text, and the HTML carries no live markup.
      const [scripts, images] = counts(res.body, ["//*[local-name()='script']", "//*[local-name()='img' or local-name()='b' or local-name()='i']"])
      t.same([scripts, images], [0, 0], 'no element made of the text')
      const html = format === 'rss' ? "/rss/channel/item/*[local-name()='encoded']" : "//*[local-name()='entry']/*[local-name()='content']"
      const titlePath = format === 'rss' ? '/rss/channel/item/title' : "//*[local-name()='entry']/*[local-name()='title']"
      const [content, title, type] = xpaths(res.body, [html, titlePath, `${titlePath}/@type`])
      t.equal(content!.trim(), xmlSafe(article.bodyHtml).trim(), 'the content is bodyHtml')
      t.notMatch(content, /<(script|img)|href="javascript:/i, 'whose markup is inert (raw HTML escaped, unsafe links dropped)')
      if (format === 'rss') {
        t.equal(title!.trim(), xmlSafe(article.title).trim().replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'),
          'an RSS title, read as HTML by most readers, is the title escaped as HTML')
      } else {
        t.equal(title!.trim(), xmlSafe(article.title).trim(), 'an Atom title is the title exactly')
        t.equal(type, 'text', 'as type="text"')
      }
    }
    const json = await get(a, `/feeds/json${query}`)
    const item = json.json().items[0]
    if (query !== `?comments=${article.slug}`) {
      t.equal(item.title, article.title, 'JSON keeps the title exactly')
      t.equal(item.content_html, article.bodyHtml)
    }
  }
  t.notMatch((await get(a, '/feeds/rss?comments=' + article.slug)).body, /evil@example\.org/)
})
