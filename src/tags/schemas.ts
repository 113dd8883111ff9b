import { Type, type Static } from 'typebox'
import { Cursor, IncludeTotal, Limit, Nullable, PageInfo, SLUG_PATTERN, StringEnum, ref } from '../http/schemas.js'

export const TAG_SLUG_MAX = 64

const TagSlug = Type.String({
  pattern: SLUG_PATTERN,
  minLength: 1,
  maxLength: TAG_SLUG_MAX,
  description: 'Lowercase ASCII words joined by hyphens.',
  examples: ['japan']
})

export const TagRef = Type.Object({
  slug: TagSlug,
  name: Type.String({ examples: ['Japan'] })
}, { $id: 'TagRef', title: 'TagRef', description: 'A tag as articles carry it.', additionalProperties: false })
export type TagRef = Static<typeof TagRef>

const tagExample = { slug: 'japan', name: 'Japan', description: 'News from and about Japan.', articleCount: 12 }

export const Tag = Type.Object({
  slug: TagSlug,
  name: Type.String({ examples: ['Japan'] }),
  description: Nullable(Type.String({ examples: ['News from and about Japan.'] })),
  articleCount: Type.Integer({
    minimum: 0,
    description: 'Articles with this tag that the caller may see: for the public, published articles that are due; for editors, every article.'
  })
}, { $id: 'Tag', title: 'Tag', description: 'A topic that articles are filed under.', additionalProperties: false, examples: [tagExample] })
export type Tag = Static<typeof Tag>

export const TagList = Type.Object({
  data: Type.Array(ref(Tag)),
  page: ref(PageInfo)
}, { $id: 'TagList', title: 'TagList', additionalProperties: false })

const TagName = Type.String({
  minLength: 1,
  maxLength: TAG_SLUG_MAX,
  pattern: '\\S',
  description: 'Trimmed. Must contain a letter or digit (it gives the slug).',
  examples: ['Japan']
})
const Description = Nullable(Type.String({ maxLength: 500 }))

export const CreateTagBody = Type.Object({
  name: TagName,
  slug: Type.Optional(TagSlug),
  description: Type.Optional(Description)
}, {
  $id: 'CreateTag',
  title: 'CreateTag',
  description: 'The slug is derived from the name unless given.',
  additionalProperties: false,
  examples: [{ name: 'Japan', description: 'News from and about Japan.' }]
})
export type CreateTagInput = Static<typeof CreateTagBody>

export const UpdateTagBody = Type.Object({
  name: Type.Optional(TagName),
  slug: Type.Optional(TagSlug),
  description: Type.Optional(Description)
}, {
  $id: 'UpdateTag',
  title: 'UpdateTag',
  description: 'Any subset of the fields; `null` clears the description. Renaming keeps the slug unless a new one is given.',
  additionalProperties: false,
  examples: [{ name: 'Nippon', slug: 'nippon' }]
})
export type UpdateTagInput = Static<typeof UpdateTagBody>

export const TagSlugParams = Type.Object({ slug: TagSlug }, { additionalProperties: false })

export const TagSort = StringEnum(['name', '-articleCount'], {
  $id: 'TagSort',
  title: 'TagSort',
  description: '`name` (default): by name, ignoring the case of ASCII letters (other characters sort by code point), then by id. `-articleCount`: most articles first (counted as the caller sees them); ties in creation order.'
})
export type TagSort = Static<typeof TagSort>

export const TagListQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Name prefix, case-insensitive (ASCII letters).', examples: ['jap'] })),
  sort: Type.Optional(ref(TagSort)),
  include: Type.Optional(ref(IncludeTotal))
}, { additionalProperties: false })
export type TagListQuery = Static<typeof TagListQuery>
