// The feeds' query and the JSON Feed 1.1 document (https://www.jsonfeed.org/version/1.1/), as named
// components. RSS and Atom are XML, documented as strings of their media types.
import { Type, type Static } from 'typebox'
import { Limit, SLUG_PATTERN, ref } from '../http/schemas.js'

// No examples on query parameters: Swagger UI would pre-fill them, and a made-up slug is a 404.
const SlugParam = (description: string) => Type.String({ pattern: SLUG_PATTERN, minLength: 1, maxLength: 80, description })

export const FeedQuery = Type.Object({
  limit: Type.Optional(Limit),
  tag: Type.Optional(SlugParam('Only articles with this tag (its slug).')),
  section: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Only articles in this section, e.g. `Politics & Diplomacy`.' })),
  author: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Only articles by this author.' })),
  comments: Type.Optional(SlugParam('The approved comments of the article with this slug, instead of articles; not combined with `tag`, `section` or `author`.'))
}, { additionalProperties: false })
export type FeedQuery = Static<typeof FeedQuery>

export const JsonFeedAuthor = Type.Object({
  name: Type.String(),
  url: Type.Optional(Type.String({ format: 'uri' }))
}, { $id: 'JsonFeedAuthor', title: 'JsonFeedAuthor', additionalProperties: false })

export const JsonFeedItem = Type.Object({
  id: Type.String({ description: 'Stable: a tag URI made of the item\'s id, never changed by a new title or slug.', examples: ['tag:news.example,2026-07-08:article/42'] }),
  url: Type.String({ format: 'uri', description: 'The reader-facing page (`ARTICLE_URL_TEMPLATE`); for a comment, with `#comment-{id}`.' }),
  external_url: Type.Optional(Type.String({ format: 'uri', description: 'The original of republished copy (`canonicalUrl`).' })),
  title: Type.String(),
  content_html: Type.String({ description: 'The full `bodyHtml`.' }),
  summary: Type.Optional(Type.String()),
  image: Type.Optional(Type.String({ format: 'uri', description: 'The lead image.' })),
  date_published: Type.String({ format: 'date-time' }),
  date_modified: Type.String({ format: 'date-time' }),
  authors: Type.Optional(Type.Array(ref(JsonFeedAuthor))),
  tags: Type.Optional(Type.Array(Type.String(), { description: 'Tag names.' }))
}, { $id: 'JsonFeedItem', title: 'JsonFeedItem', additionalProperties: false })

export const JsonFeed = Type.Object({
  version: Type.String({ enum: ['https://jsonfeed.org/version/1.1'] }),
  title: Type.String(),
  home_page_url: Type.String({ format: 'uri' }),
  feed_url: Type.String({ format: 'uri' }),
  description: Type.String(),
  language: Type.String(),
  authors: Type.Array(ref(JsonFeedAuthor)),
  items: Type.Array(ref(JsonFeedItem))
}, {
  $id: 'JsonFeed',
  title: 'JsonFeed',
  description: 'A JSON Feed 1.1 document, newest item first.',
  additionalProperties: false,
  examples: [{
    version: 'https://jsonfeed.org/version/1.1',
    title: 'Gazette',
    home_page_url: 'https://news.example/',
    feed_url: 'https://api.news.example/feeds/json',
    description: 'The latest articles from Gazette.',
    language: 'en',
    authors: [{ name: 'Gazette', url: 'https://news.example/' }],
    items: [{
      id: 'tag:news.example,2026-07-08:article/42',
      url: 'https://news.example/politics-diplomacy/pacific-fleet-returns-to-vladivostok',
      title: 'Pacific Fleet returns to Vladivostok',
      content_html: '<p>The ships <strong>docked</strong> at dawn.</p>',
      summary: 'Three frigates docked after a month of exercises.',
      image: 'https://images.news.example/2026/07/frigates.jpg',
      date_published: '2026-07-08T09:15:00.000Z',
      date_modified: '2026-07-08T09:15:00.000Z',
      authors: [{ name: 'Anna Petrova' }],
      tags: ['Russia', 'Navy']
    }]
  }]
})
export type JsonFeed = Static<typeof JsonFeed>
