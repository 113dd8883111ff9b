// One feed, three formats. A FeedDocument says what a feed holds; these functions write it as RSS 2.0
// and Atom 1.0 through feedsmith (which escapes text and attributes and splits `]]>` out of CDATA
// sections), and as a JSON Feed 1.1 object that the route serialises with its TypeBox schema.
//
// Mapping, per format (every element each specification requires is always present):
// - id: Atom <id>, RSS <guid isPermaLink="false">, JSON `id` (a tag URI that never changes);
// - link: the reader-facing page (ARTICLE_URL_TEMPLATE); canonicalUrl as Atom and RSS
//   <atom:link rel="via">, JSON `external_url`;
// - title as plain text (Atom type="text"; RSS, whose readers take it as HTML, escaped as HTML); summary
//   as Atom <summary type="text">, RSS <description> (escaped likewise), JSON `summary`;
//   bodyHtml as Atom <content type="html">, RSS <content:encoded>, JSON `content_html`;
// - authors as Atom <author>, RSS <dc:creator> (RSS's own <author> wants an email address), JSON
//   `authors`; tags as <category> (Atom term = slug, label = name) and JSON `tags`;
// - the lead image as an enclosure (when its URL names a known image type), <media:content> with its
//   alt text, caption and credit, and JSON `image`.
// XML writers drop the characters XML 1.0 cannot carry (src/syndication/xml-text.ts); JSON keeps them.
import { generateAtomFeed, generateRssFeed } from 'feedsmith'
import type { ArticleImage } from '../articles/schemas.js'
import { imageType, xmlText } from '../syndication/xml-text.js'
import type { JsonFeed } from './schemas.js'

export interface FeedPerson {
  name: string
  url: string | null
}

export interface FeedEntry {
  id: string
  url: string
  title: string
  summary: string | null
  contentHtml: string
  published: number
  updated: number
  authors: FeedPerson[]
  categories: { term: string, label: string }[]
  image: ArticleImage | null
  /** The original of republished copy. */
  via: string | null
  /** This entry's own comments feed (RSS wfw:commentRss), if it has one. */
  commentsFeed: string | null
}

export interface FeedDocument {
  /** Atom feed id: the feed's URL without its limit. */
  id: string
  title: string
  description: string
  /** The HTML page the feed is about. */
  home: string
  /** This feed's URL in each format (same query). */
  self: { rss: string, atom: string, json: string }
  language: string
  publisher: string
  /** The time of the feed's latest change (ms). */
  updated: number
  entries: FeedEntry[]
}

const GENERATOR = 'Gazette'
const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
/**
 * Plain text as HTML. RSS leaves it open whether <title> and <description> hold text or HTML, and
 * readers mostly decode them as HTML: escaped, a title like `<script>` shows as written and runs nowhere.
 */
const asHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)
const x = xmlText
const textOrUndefined = (text: string | null | undefined): string | undefined =>
  text === null || text === undefined || text === '' ? undefined : x(text)

function media (image: ArticleImage) {
  const type = imageType(image.url)
  return {
    contents: [{
      url: image.url,
      medium: 'image',
      ...(type === undefined ? {} : { type }),
      ...(image.alt === '' ? {} : { title: { value: x(image.alt), type: 'plain' } }),
      ...(image.caption === undefined ? {} : { description: { value: x(image.caption), type: 'plain' } }),
      ...(image.credit === undefined ? {} : { credits: [{ value: x(image.credit) }] })
    }]
  }
}

export function toRss (doc: FeedDocument): string {
  return generateRssFeed({
    title: x(asHtml(doc.title)),
    link: doc.home,
    description: x(asHtml(doc.description)),
    language: doc.language,
    lastBuildDate: new Date(doc.updated),
    generator: GENERATOR,
    docs: 'https://www.rssboard.org/rss-specification',
    atom: { links: [{ href: doc.self.rss, rel: 'self', type: 'application/rss+xml' }] },
    items: doc.entries.map((e) => {
      const type = e.image === null ? undefined : imageType(e.image.url)
      return {
        title: x(asHtml(e.title)),
        link: e.url,
        guid: { value: e.id, isPermaLink: false },
        pubDate: new Date(e.published),
        description: textOrUndefined(e.summary === null ? null : asHtml(e.summary)),
        content: { encoded: x(e.contentHtml) },
        ...(e.authors.length === 0 ? {} : { dc: { creators: e.authors.map((a) => x(a.name)) } }),
        categories: e.categories.map((c) => ({ name: x(c.label) })),
        ...(e.image !== null && type !== undefined ? { enclosures: [{ url: e.image.url, length: 0, type }] } : {}),
        ...(e.image === null ? {} : { media: media(e.image) }),
        ...(e.via === null ? {} : { atom: { links: [{ href: e.via, rel: 'via' }] } }),
        ...(e.commentsFeed === null ? {} : { wfw: { commentRss: e.commentsFeed } })
      }
    })
  })
}

export function toAtom (doc: FeedDocument): string {
  return generateAtomFeed({
    id: doc.id,
    title: { value: x(doc.title), type: 'text' },
    subtitle: { value: x(doc.description), type: 'text' },
    updated: new Date(doc.updated),
    // RFC 4287 wants an author for every entry: the publication stands in for entries without one.
    authors: [{ name: x(doc.publisher), uri: doc.home }],
    generator: { text: GENERATOR },
    xml: { lang: doc.language },
    links: [
      { href: doc.self.atom, rel: 'self', type: 'application/atom+xml' },
      { href: doc.home, rel: 'alternate', type: 'text/html' },
      { href: doc.self.json, rel: 'alternate', type: 'application/feed+json' }
    ],
    entries: doc.entries.map((e) => {
      const type = e.image === null ? undefined : imageType(e.image.url)
      return {
        id: e.id,
        title: { value: x(e.title), type: 'text' },
        updated: new Date(e.updated),
        published: new Date(e.published),
        links: [
          { href: e.url, rel: 'alternate', type: 'text/html' },
          ...(e.image === null ? [] : [{ href: e.image.url, rel: 'enclosure', ...(type === undefined ? {} : { type }) }]),
          ...(e.via === null ? [] : [{ href: e.via, rel: 'via' }])
        ],
        ...(e.summary === null || e.summary === '' ? {} : { summary: { value: x(e.summary), type: 'text' } }),
        content: { value: x(e.contentHtml), type: 'html' },
        authors: e.authors.map((a) => ({ name: x(a.name), ...(a.url === null ? {} : { uri: a.url }) })),
        categories: e.categories.map((c) => ({ term: c.term, label: x(c.label) })),
        ...(e.image === null ? {} : { media: media(e.image) })
      }
    })
  })
}

const iso = (ms: number): string => new Date(ms).toISOString()

export function toJsonFeed (doc: FeedDocument): JsonFeed {
  return {
    version: 'https://jsonfeed.org/version/1.1',
    title: doc.title,
    home_page_url: doc.home,
    feed_url: doc.self.json,
    description: doc.description,
    language: doc.language,
    authors: [{ name: doc.publisher, url: doc.home }],
    items: doc.entries.map((e) => ({
      id: e.id,
      url: e.url,
      ...(e.via === null ? {} : { external_url: e.via }),
      title: e.title,
      content_html: e.contentHtml,
      ...(e.summary === null ? {} : { summary: e.summary }),
      ...(e.image === null ? {} : { image: e.image.url }),
      date_published: iso(e.published),
      date_modified: iso(e.updated),
      ...(e.authors.length === 0 ? {} : { authors: e.authors.map((a) => ({ name: a.name, ...(a.url === null ? {} : { url: a.url }) })) }),
      ...(e.categories.length === 0 ? {} : { tags: e.categories.map((c) => c.label) })
    }))
  }
}
