// Every element RSS 2.0 and RFC 4287 require, and JSON Feed 1.1's required fields, checked by XPath
// (xmllint) in feeds of every kind.
import t from 'tap'
import { build, createArticle, postComment } from '../helper.js'
import { counts, el, skipWithoutXmllint, xpaths } from '../xml.js'
import { get, newsroom } from './fixtures.js'

t.test('every element RSS 2.0 and RFC 4287 require, and JSON Feed 1.1\'s required fields', { skip: skipWithoutXmllint }, async (t) => {
  const a = await build(t)
  await newsroom(a)
  // An article with no author and no summary: the feed-level author covers it in Atom.
  await createArticle(a, { title: 'Unsigned', body: 'Text', status: 'published' })
  await postComment(a, 'pacific-fleet-returns-to-vladivostok', { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Welcome home.' })
  await a.as('moderator', { method: 'PATCH', url: '/v1/comments/1', payload: { status: 'approved' } })
  for (const url of ['/feeds/rss', '/feeds/rss?tag=navy', '/feeds/rss?comments=pacific-fleet-returns-to-vladivostok']) {
    const rss = (await get(a, url)).body
    // RSS's own elements have no namespace, so plain paths match only them (not atom:link).
    const [version, ...values] = xpaths(rss, ['/rss/@version', '/rss/channel/title', '/rss/channel/link', '/rss/channel/description'])
    t.equal(version, '2.0', url)
    t.ok(values.every((v) => v.trim() !== ''), `${url}: channel title, link and description`)
    const [channels, items, complete, self] = counts(rss, [
      '/rss/channel',
      '/rss/channel/item',
      "/rss/channel/item[(title or description) and guid[@isPermaLink='false'] and pubDate and link]",
      "/rss/channel/*[local-name()='link' and namespace-uri()='http://www.w3.org/2005/Atom'][@rel='self']"
    ])
    t.equal(channels, 1)
    t.ok(items! > 0, `${url}: has items`)
    t.equal(complete, items, 'every item has a title or description, and a guid, pubDate and link')
    t.equal(self, 1, 'atom:link rel=self')
  }
  for (const url of ['/feeds/atom', '/feeds/atom?section=Economy', '/feeds/atom?comments=pacific-fleet-returns-to-vladivostok']) {
    const atom = (await get(a, url)).body
    const [ns, updated] = xpaths(atom, [`namespace-uri(${el('feed')})`, el('feed', 'updated')])
    t.equal(ns, 'http://www.w3.org/2005/Atom', url)
    t.match(updated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'an RFC 3339 date')
    const entry = el('feed', 'entry')
    const [ids, titles, updateds, selfLinks, feedAuthors, entries, entryIds, entryTitles, entryUpdated, withContent, withAuthor] = counts(atom, [
      el('feed', 'id'), el('feed', 'title'), el('feed', 'updated'), `${el('feed', 'link')}[@rel='self']`, el('feed', 'author'),
      entry,
      `${entry}[count(*[local-name()='id']) = 1]`,
      `${entry}[count(*[local-name()='title']) = 1]`,
      `${entry}[count(*[local-name()='updated']) = 1]`,
      `${entry}[*[local-name()='content'] or *[local-name()='link'][@rel='alternate']]`,
      `${entry}[*[local-name()='author']]`
    ])
    t.same([ids, titles, updateds, selfLinks], [1, 1, 1, 1], 'feed: one id, title, updated and self link')
    t.ok(entries! > 0, `${url}: has entries`)
    t.same([entryIds, entryTitles, entryUpdated, withContent], [entries, entries, entries, entries], 'every entry: one id, title and updated; content or an alternate link')
    t.ok(feedAuthors! > 0 || withAuthor === entries, 'an author for the feed or for every entry')
  }
  for (const url of ['/feeds/json', '/feeds/json?author=Anna%20Petrova', '/feeds/json?comments=pacific-fleet-returns-to-vladivostok']) {
    const feed = (await get(a, url)).json()
    t.equal(feed.version, 'https://jsonfeed.org/version/1.1', url)
    t.type(feed.title, 'string')
    t.ok(Array.isArray(feed.items) && feed.items.length > 0)
    for (const item of feed.items) {
      t.type(item.id, 'string')
      t.ok(typeof item.content_html === 'string' || typeof item.content_text === 'string', 'content_html or content_text')
    }
  }
})
