import { Type, type Static } from 'typebox'
import { Cursor, HttpUrl, IncludeTotal, Limit, Nullable, PageInfo, Slug, StringEnum, Timestamp, ref } from '../http/schemas.js'
import { TAG_SLUG_MAX, TagRef } from '../tags/schemas.js'
import { ARTICLE_STATUSES } from './status.js'

export const ArticleStatus = StringEnum(ARTICLE_STATUSES, {
  $id: 'ArticleStatus',
  title: 'ArticleStatus',
  description: '`draft` and `archived` are seen by editors only; `published` is public once `publishedAt` is due.'
})

export const ArticleImage = Type.Object({
  url: HttpUrl('The image file: an http or https URL.', ['https://images.news.example/2026/07/frigates.jpg']),
  alt: Type.String({ maxLength: 300, description: 'What the image shows, for readers who cannot see it; empty for a purely decorative image.', examples: ['Three grey frigates moored at a pier'] }),
  caption: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, examples: ['The frigates at the Golden Horn pier on Tuesday.'] })),
  credit: Type.Optional(Type.String({ minLength: 1, maxLength: 300, examples: ['Photo: Ivan Sokolov / Staff'] }))
}, {
  $id: 'ArticleImage',
  title: 'ArticleImage',
  description: 'An article\'s lead image. Feeds carry it as an enclosure, `media:content` and JSON Feed `image`.',
  additionalProperties: false,
  examples: [{
    url: 'https://images.news.example/2026/07/frigates.jpg',
    alt: 'Three grey frigates moored at a pier',
    caption: 'The frigates at the Golden Horn pier on Tuesday.',
    credit: 'Photo: Ivan Sokolov / Staff'
  }]
})
export type ArticleImage = Static<typeof ArticleImage>

const CanonicalUrl = HttpUrl('The original of republished copy (a wire story): where search engines should send readers. Null for original reporting.',
  ['https://tass.com/politics/1234567'])

export const articleExample = {
  id: 42,
  slug: 'pacific-fleet-returns-to-vladivostok',
  title: 'Pacific Fleet returns to Vladivostok',
  summary: 'Three frigates docked after a month of exercises.',
  body: 'The ships **docked** at dawn.',
  bodyHtml: '<p>The ships <strong>docked</strong> at dawn.</p>\n',
  section: 'Politics & Diplomacy',
  dateline: 'VLADIVOSTOK',
  source: 'Staff reporter',
  authors: ['Anna Petrova'],
  tags: [{ slug: 'russia', name: 'Russia' }, { slug: 'navy', name: 'Navy' }],
  status: 'published',
  publishedAt: '2026-07-08T09:15:00.000Z',
  createdAt: '2026-07-08T08:00:00.000Z',
  updatedAt: '2026-07-08T09:15:00.000Z',
  commentsOpen: true,
  commentCount: 3,
  revision: 2,
  image: {
    url: 'https://images.news.example/2026/07/frigates.jpg',
    alt: 'Three grey frigates moored at a pier',
    caption: 'The frigates at the Golden Horn pier on Tuesday.',
    credit: 'Photo: Ivan Sokolov / Staff'
  },
  canonicalUrl: null
}

const articleFields = {
  id: Type.Integer({ examples: [42] }),
  slug: Slug,
  title: Type.String({ examples: ['Pacific Fleet returns to Vladivostok'] }),
  summary: Nullable(Type.String()),
  section: Nullable(Type.String({ examples: ['Politics & Diplomacy'] })),
  dateline: Nullable(Type.String({ examples: ['VLADIVOSTOK'] })),
  source: Nullable(Type.String({ examples: ['Staff reporter'] })),
  authors: Type.Array(Type.String()),
  tags: Type.Array(ref(TagRef), {
    description: 'In the order the editor gave them. Renaming, re-slugging or deleting a tag changes this list, and so the article\'s ETag, but not its `revision` or `updatedAt`.'
  }),
  status: ref(ArticleStatus),
  publishedAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  commentsOpen: Type.Boolean(),
  commentCount: Type.Integer({ minimum: 0, description: 'Approved comments.' }),
  revision: Type.Integer({ minimum: 1, description: 'Starts at 1 and grows by one with each change.' }),
  image: Nullable(ref(ArticleImage)),
  canonicalUrl: Nullable(CanonicalUrl)
}

export const Article = Type.Object({
  ...articleFields,
  body: Type.String({ description: 'Markdown.' }),
  bodyHtml: Type.String({ description: 'The body rendered to HTML. Raw HTML in the Markdown is escaped and unsafe links are dropped.' })
}, { $id: 'Article', title: 'Article', additionalProperties: false, examples: [articleExample] })
export type Article = Static<typeof Article>

const { body: _body, bodyHtml: _bodyHtml, ...summaryExample } = articleExample
export const ArticleSummary = Type.Object({
  ...articleFields,
  snippet: Type.Optional(Type.String({
    description: 'With `q` only: an excerpt with the matched terms in `<mark>…</mark>`; everything else is HTML-escaped.'
  }))
}, {
  $id: 'ArticleSummary',
  title: 'ArticleSummary',
  description: 'An article without its body, as lists show it.',
  additionalProperties: false,
  examples: [summaryExample]
})
export type ArticleSummary = Static<typeof ArticleSummary>

export const ArticleList = Type.Object({
  data: Type.Array(ref(ArticleSummary)),
  page: ref(PageInfo)
}, { $id: 'ArticleList', title: 'ArticleList', additionalProperties: false })

const Title = Type.String({ minLength: 1, maxLength: 300, pattern: '\\S' })
const ShortText = Type.String({ maxLength: 100 })
const TagName = Type.String({ minLength: 1, maxLength: TAG_SLUG_MAX })
const AuthorName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'Trimmed; a blank name is a 422.' })

const writable = {
  slug: Slug,
  summary: Nullable(Type.String({ maxLength: 1000 })),
  body: Type.String({ maxLength: 200000 }),
  section: Nullable(ShortText),
  dateline: Nullable(ShortText),
  source: Nullable(ShortText),
  authors: Type.Array(AuthorName, { maxItems: 20, description: 'Names, in byline order; duplicates after trimming are merged (the first stays).' }),
  tags: Type.Array(TagName, { maxItems: 50, description: 'Tag names; matched to existing tags by slug, unknown ones are created.' }),
  status: ref(ArticleStatus),
  publishedAt: Nullable(Timestamp),
  commentsOpen: Type.Boolean(),
  image: Nullable(ref(ArticleImage)),
  canonicalUrl: Nullable(CanonicalUrl)
}

// Every writable field but the title, optional on create and on update alike.
const optionalFields = {
  slug: Type.Optional(writable.slug),
  summary: Type.Optional(writable.summary),
  body: Type.Optional(writable.body),
  section: Type.Optional(writable.section),
  dateline: Type.Optional(writable.dateline),
  source: Type.Optional(writable.source),
  authors: Type.Optional(writable.authors),
  tags: Type.Optional(writable.tags),
  status: Type.Optional(writable.status),
  publishedAt: Type.Optional(writable.publishedAt),
  commentsOpen: Type.Optional(writable.commentsOpen),
  image: Type.Optional(writable.image),
  canonicalUrl: Type.Optional(writable.canonicalUrl)
}

export const CreateArticleBody = Type.Object({
  title: Title,
  ...optionalFields
}, {
  $id: 'CreateArticle',
  title: 'CreateArticle',
  additionalProperties: false,
  examples: [{
    title: 'Pacific Fleet returns to Vladivostok',
    summary: 'Three frigates docked after a month of exercises.',
    body: 'The ships **docked** at dawn.',
    section: 'Politics & Diplomacy',
    dateline: 'VLADIVOSTOK',
    authors: ['Anna Petrova'],
    tags: ['Russia', 'Navy'],
    status: 'published'
  }]
})
export type CreateArticleInput = Static<typeof CreateArticleBody>

export const UpdateArticleBody = Type.Object({
  title: Type.Optional(Title),
  ...optionalFields
}, {
  $id: 'UpdateArticle',
  title: 'UpdateArticle',
  description: 'Any subset of the fields; `null` clears a nullable field; `tags` and `authors` replace the list.',
  additionalProperties: false,
  examples: [{ title: 'Pacific Fleet back in Vladivostok', tags: ['Russia'], summary: null }]
})
export type UpdateArticleInput = Static<typeof UpdateArticleBody>

export const SlugParams = Type.Object({ slug: Slug }, { additionalProperties: false })

export const ArticleSort = StringEnum(['-publishedAt', 'publishedAt', '-updatedAt', 'relevance'], {
  $id: 'ArticleSort',
  title: 'ArticleSort',
  description: 'Default `-publishedAt` (newest first), or `relevance` (best match first) when `q` is given. `relevance` needs `q`.'
})

export const ArticleStatusFilter = StringEnum([...ARTICLE_STATUSES, 'any'], {
  $id: 'ArticleStatusFilter',
  title: 'ArticleStatusFilter',
  description: 'The articles of one status, or `any` for every status. Editors only: a public caller may ask only for `published`. Editors see every status by default.'
})

export const ArticleListQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  q: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'Full-text search over title, summary, tag names and body, accents folded and English words stemmed ' +
      '(`docked` finds "dock"). Words must all match; `"a phrase"` matches the words in order; `word*` matches words ' +
      'starting with it. Anything else (operators, parentheses, a lone `*`) is ignored. Ranked by relevance, the title ' +
      'weighing most, then summary and tags, then body. Input with no word to search for is a 422. ' +
      'For example `pacific fleet` or `"pacific fleet" vladivo*`. (No `examples` on purpose: Swagger UI would pre-fill them.)'
  })),
  tag: Type.Optional(Type.Array(Slug, { maxItems: 10, description: 'Tag slug; repeat for several, all must match.' })),
  section: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  author: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  publishedAfter: Type.Optional(Type.String({ format: 'date-time', description: 'Only articles published at or after this time: RFC 3339, a year from 0001 to 9999, no leap second, at most millisecond precision (else 422).' })),
  publishedBefore: Type.Optional(Type.String({ format: 'date-time', description: 'Only articles published at or before this time: RFC 3339, a year from 0001 to 9999, no leap second, at most millisecond precision (else 422).' })),
  status: Type.Optional(ref(ArticleStatusFilter)),
  sort: Type.Optional(ref(ArticleSort)),
  include: Type.Optional(ref(IncludeTotal))
}, { additionalProperties: false })
export type ArticleListQuery = Static<typeof ArticleListQuery>

// SEARCH_RATE_LIMIT (src/plugins/search-rate-limit.ts), as GET /v1/articles documents it.
const seconds = (description: string) => ({ type: 'integer', minimum: 0, description })

/** The headers every answer to a search carries (IETF draft names), for the OpenAPI description. */
export const searchRateLimitHeaders = {
  'ratelimit-limit': seconds('Searches allowed per window (one minute) from this client address. Sent on searches (with `q`) only.'),
  'ratelimit-remaining': seconds('Searches left in the current window. Sent on searches (with `q`) only.'),
  'ratelimit-reset': seconds('Seconds until the window resets. Sent on searches (with `q`) only.')
}

/** The 429 of GET /v1/articles, for its OpenAPI description. */
export const searchRateLimited = {
  429: Type.Unsafe({
    description: 'Too many searches (requests with `q`) from this client address: `SEARCH_RATE_LIMIT` a minute. Wait `Retry-After` seconds.',
    headers: {
      'retry-after': seconds('Seconds to wait before searching again.'),
      ...searchRateLimitHeaders
    },
    content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
  })
}
