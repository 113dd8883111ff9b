// The feeds (API.md section 8): each format parsed by an independent parser and by xmllint, entry by
// entry against what the JSON API says, and nothing the public may not see.
import t from 'tap'
import { parseFeed } from '@rowanmanning/feed-parser'
import { build } from '../helper.js'
import { el, notWellFormed, skipWithoutXmllint, xpath } from '../xml.js'
import { get, HOST, newsroom, publicList } from './fixtures.js'

t.test('RSS, Atom and JSON Feed carry what the JSON API shows, and nothing hidden', { skip: skipWithoutXmllint }, async (t) => {
  const a = await build(t)
  await newsroom(a)
  const articles = await publicList(a)
  t.equal(articles.length, 2, 'two public articles')

  const rss = await get(a, '/feeds/rss')
  const atom = await get(a, '/feeds/atom')
  const json = await get(a, '/feeds/json')
  t.match(rss.headers['content-type'], /^application\/rss\+xml; charset=utf-8$/)
  t.match(atom.headers['content-type'], /^application\/atom\+xml; charset=utf-8$/)
  t.match(json.headers['content-type'], /^application\/feed\+json; charset=utf-8$/)

  for (const res of [rss, atom]) {
    t.equal(notWellFormed(res.body), undefined, 'well-formed XML')
    const feed = parseFeed(res.body)
    t.equal(feed.items.length, articles.length, `${feed.meta.type}: one entry per public article`)
    feed.items.forEach((item, i) => {
      const article = articles[i]!
      t.equal(item.title, article.title, `${feed.meta.type} title`)
      t.equal(item.url, `http://${HOST}/v1/articles/${article.slug}`, 'links to the article page')
      t.match(item.id, new RegExp(`^tag:${HOST.replace(/\./g, '\\.')},2026-07-08:article/${article.id}$`), 'a tag URI with the article id')
      t.equal(item.published?.toISOString(), article.publishedAt)
      // An Atom entry without authors takes the feed's (the publication), as RFC 4287 says.
      t.same(item.authors.map((p) => p.name), article.authors.length === 0 && feed.meta.type === 'atom' ? ['Gazette'] : article.authors)
      t.same(item.categories.map((c) => c.label), article.tags.map((tag: { name: string }) => tag.name))
      t.equal(item.description ?? null, article.summary)
      if (article.image !== null) t.equal(item.image?.url, article.image.url, 'the lead image')
    })
    t.notMatch(res.body, /draft|Secret|Archived|Scheduled|Ghost/i, 'no draft, archived or scheduled article')
  }

  // The full body HTML, exactly: the XML value of content:encoded / content is bodyHtml.
  const first = articles[0]!
  t.equal(xpath(rss.body, "/rss/channel/item[1]/*[local-name()='encoded']").trim(), first.bodyHtml.trim(), 'RSS content:encoded is bodyHtml')
  t.equal(xpath(atom.body, `${el('feed', 'entry')}[1]/*[local-name()='content']`).trim(), first.bodyHtml.trim(), 'Atom content is bodyHtml')
  t.equal(xpath(atom.body, `${el('feed', 'entry')}[1]/*[local-name()='content']/@type`), 'html')

  // The image as enclosure and media:content, with its alt text, caption and credit.
  const image = articles.find((x) => x.image !== null)!.image
  t.equal(xpath(rss.body, "//*[local-name()='enclosure']/@url"), image.url)
  t.equal(xpath(rss.body, "//*[local-name()='enclosure']/@type"), 'image/jpeg')
  t.equal(xpath(atom.body, "//*[local-name()='link'][@rel='enclosure']/@href"), image.url)
  for (const body of [rss.body, atom.body]) {
    t.equal(xpath(body, "//*[local-name()='content'][@medium='image']/@url"), image.url)
    t.equal(xpath(body, "//*[local-name()='content'][@medium='image']/*[local-name()='title']").trim(), image.alt)
    t.equal(xpath(body, "//*[local-name()='content'][@medium='image']/*[local-name()='description']").trim(), image.caption)
    t.equal(xpath(body, "//*[local-name()='content'][@medium='image']/*[local-name()='credit']").trim(), image.credit)
  }
  // Republished wire copy points at its original.
  const wire = articles.find((x) => x.canonicalUrl !== null)!
  t.equal(xpath(atom.body, '//*[local-name()=\'link\'][@rel=\'via\']/@href'), wire.canonicalUrl)
  t.equal(xpath(rss.body, '//*[local-name()=\'link\'][@rel=\'via\']/@href'), wire.canonicalUrl)

  // JSON Feed 1.1.
  const jf = json.json()
  t.equal(jf.version, 'https://jsonfeed.org/version/1.1')
  t.equal(jf.feed_url, `http://${HOST}/feeds/json`)
  t.same(jf.items.map((i: { id: string }) => i.id), parseFeed(atom.body).items.map((i) => i.id), 'the same ids in every format')
  jf.items.forEach((item: Record<string, any>, i: number) => {
    const article = articles[i]!
    t.equal(item.title, article.title)
    t.equal(item.content_html, article.bodyHtml)
    t.equal(item.summary, article.summary ?? undefined)
    t.equal(item.date_published, article.publishedAt)
    t.equal(item.date_modified, article.updatedAt)
    t.equal(item.image, article.image?.url)
    t.equal(item.external_url, article.canonicalUrl ?? undefined)
    t.same(item.tags, article.tags.map((tag: { name: string }) => tag.name))
  })
})

t.test('an empty site still has valid feeds', { skip: skipWithoutXmllint }, async (t) => {
  const a = await build(t)
  for (const format of ['rss', 'atom']) {
    const res = await get(a, `/feeds/${format}`)
    t.equal(res.statusCode, 200)
    t.equal(notWellFormed(res.body), undefined)
    t.equal(parseFeed(res.body).items.length, 0)
  }
  t.same((await get(a, '/feeds/json')).json().items, [])
})
