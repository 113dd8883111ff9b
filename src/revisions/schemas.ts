import { Type, type Static } from 'typebox'
import { ArticleImage, ArticleStatus, articleExample } from '../articles/schemas.js'
import { Cursor, IncludeTotal, Limit, Nullable, PageInfo, RowId, Slug, Timestamp, ref } from '../http/schemas.js'
import { TagRef } from '../tags/schemas.js'
import { VERSIONED_FIELDS, type VersionedField as FieldName } from './fields.js'

export const VersionedField = Type.Unsafe<FieldName>({
  $id: 'VersionedField',
  title: 'VersionedField',
  type: 'string',
  enum: [...VERSIONED_FIELDS],
  description: 'An article field that revisions keep: every field a PATCH can change.'
})

const RevisionNumber = Type.Integer({ minimum: 1, description: 'The article\'s `revision` when this state was current.', examples: [3] })

const summaryFields = {
  revision: RevisionNumber,
  createdAt: Type.String({
    format: 'date-time',
    description: 'When this revision was made (the article\'s `updatedAt` while it was current). RFC 3339, UTC, with milliseconds.',
    examples: ['2026-07-08T10:20:00.000Z']
  }),
  author: Type.String({
    description: 'The name of the token that made the change, as it was then; `unknown` for a revision made before Gazette kept history (or written outside the API).',
    examples: ['newsdesk']
  }),
  changed: Type.Array(ref(VersionedField), {
    description: 'The fields this revision changed from the one before it: every field for the first revision; empty when not known (author `unknown`).'
  }),
  restoredFrom: Nullable(Type.Integer({ minimum: 1, description: 'The revision this one restored, for a revision made by a restore.' }))
}

const summaryExample = { revision: 3, createdAt: '2026-07-08T10:20:00.000Z', author: 'newsdesk', changed: ['title', 'body'], restoredFrom: null }

export const RevisionSummary = Type.Object(summaryFields, {
  $id: 'RevisionSummary',
  title: 'RevisionSummary',
  description: 'One revision in an article\'s history, without its content.',
  additionalProperties: false,
  examples: [summaryExample]
})
export type RevisionSummary = Static<typeof RevisionSummary>

// The article example's versioned fields.
const { id: _id, createdAt: _createdAt, updatedAt: _updatedAt, commentCount: _commentCount, revision: _revision, ...versionExample } = articleExample

export const ArticleVersion = Type.Object({
  slug: Slug,
  title: Type.String(),
  summary: Nullable(Type.String()),
  body: Type.String({ description: 'Markdown.' }),
  bodyHtml: Type.String({ description: 'The body rendered to HTML, as the article would show it.' }),
  section: Nullable(Type.String()),
  dateline: Nullable(Type.String()),
  source: Nullable(Type.String()),
  authors: Type.Array(Type.String()),
  tags: Type.Array(ref(TagRef), { description: 'The tags the article had, under their current names (a tag is its slug; one deleted since shows the name it had).' }),
  status: ref(ArticleStatus),
  publishedAt: Nullable(Timestamp),
  commentsOpen: Type.Boolean(),
  image: Nullable(ref(ArticleImage)),
  canonicalUrl: Nullable(Type.String({ format: 'uri' }))
}, {
  $id: 'ArticleVersion',
  title: 'ArticleVersion',
  description: 'An article\'s versioned fields as of one revision.',
  additionalProperties: false,
  examples: [versionExample]
})

export const Revision = Type.Object({
  ...summaryFields,
  article: ref(ArticleVersion)
}, {
  $id: 'Revision',
  title: 'Revision',
  description: 'One revision of an article: who made it, when, what it changed, and the article as it was.',
  additionalProperties: false,
  examples: [{ ...summaryExample, article: versionExample }]
})
export type Revision = Static<typeof Revision>

export const RevisionList = Type.Object({
  data: Type.Array(ref(RevisionSummary)),
  page: ref(PageInfo)
}, { $id: 'RevisionList', title: 'RevisionList', additionalProperties: false })

const change = <T extends Parameters<typeof Type.Object>[0]>(id: string, description: string, fields: T, example: unknown) =>
  Type.Object(fields, { $id: id, title: id, description, additionalProperties: false, examples: [example] })

export const TextChange = change('TextChange', 'A text, date or status field: its value in `against` (`from`) and in `revision` (`to`).', {
  from: Nullable(Type.String()),
  to: Nullable(Type.String())
}, { from: 'Pacific Fleet returns to Vladivostok', to: 'Pacific Fleet back in Vladivostok' })

export const FlagChange = change('FlagChange', 'A boolean field: its value in `against` (`from`) and in `revision` (`to`).', {
  from: Type.Boolean(),
  to: Type.Boolean()
}, { from: true, to: false })

export const NameListChange = change('NameListChange', 'The authors: both lists, and which names were added and removed (the same names in another order add and remove none).', {
  from: Type.Array(Type.String()),
  to: Type.Array(Type.String()),
  added: Type.Array(Type.String()),
  removed: Type.Array(Type.String())
}, { from: ['Anna Petrova'], to: ['Anna Petrova', 'Boris Okafor'], added: ['Boris Okafor'], removed: [] })

export const TagListChange = change('TagListChange', 'The tags: both lists, and which tags (by slug) were added and removed.', {
  from: Type.Array(ref(TagRef)),
  to: Type.Array(ref(TagRef)),
  added: Type.Array(ref(TagRef)),
  removed: Type.Array(ref(TagRef))
}, { from: [{ slug: 'russia', name: 'Russia' }], to: [{ slug: 'navy', name: 'Navy' }], added: [{ slug: 'navy', name: 'Navy' }], removed: [{ slug: 'russia', name: 'Russia' }] })

export const BodyChange = change('BodyChange', 'The body as a unified diff from `against` to `revision`, with its count of added and removed lines.', {
  patch: Type.String({ description: 'A unified diff (`---`/`+++` headers naming the two revisions, `@@` hunks with 3 lines of context).' }),
  additions: Type.Integer({ minimum: 0 }),
  deletions: Type.Integer({ minimum: 0 })
}, {
  patch: '--- body@2\n+++ body@3\n@@ -1,1 +1,1 @@\n-The ships docked at dawn.\n+The ships **docked** at dawn.\n',
  additions: 1,
  deletions: 1
})

export const ImageChange = change('ImageChange', 'The lead image: its value in `against` (`from`) and in `revision` (`to`); null when there was none.', {
  from: Nullable(ref(ArticleImage)),
  to: Nullable(ref(ArticleImage))
}, { from: null, to: { url: 'https://images.news.example/2026/07/frigates.jpg', alt: 'Three grey frigates moored at a pier' } })

const textChange = Type.Optional(ref(TextChange))

export const FieldChanges = Type.Object({
  slug: textChange,
  title: textChange,
  summary: textChange,
  body: Type.Optional(ref(BodyChange)),
  section: textChange,
  dateline: textChange,
  source: textChange,
  authors: Type.Optional(ref(NameListChange)),
  tags: Type.Optional(ref(TagListChange)),
  status: textChange,
  publishedAt: textChange,
  commentsOpen: Type.Optional(ref(FlagChange)),
  image: Type.Optional(ref(ImageChange)),
  canonicalUrl: textChange
}, {
  $id: 'FieldChanges',
  title: 'FieldChanges',
  description: 'One entry per field that differs, named as the field; fields that are the same are absent.',
  additionalProperties: false
})
export type FieldChanges = Static<typeof FieldChanges>

export const RevisionDiff = Type.Object({
  revision: RevisionNumber,
  against: Type.Integer({ minimum: 1, description: 'The revision compared with: `from` values are its own.', examples: [2] }),
  changed: Type.Array(ref(VersionedField), { description: 'The fields that differ, in the order of `fields`.' }),
  fields: ref(FieldChanges)
}, {
  $id: 'RevisionDiff',
  title: 'RevisionDiff',
  description: 'What differs between two revisions of an article, field by field: from `against` to `revision`.',
  additionalProperties: false,
  examples: [{
    revision: 3,
    against: 2,
    changed: ['title', 'body'],
    fields: {
      title: { from: 'Pacific Fleet returns to Vladivostok', to: 'Pacific Fleet back in Vladivostok' },
      body: { patch: '--- body@2\n+++ body@3\n@@ -1,1 +1,1 @@\n-The ships docked at dawn.\n+The ships **docked** at dawn.\n', additions: 1, deletions: 1 }
    }
  }]
})
export type RevisionDiff = Static<typeof RevisionDiff>

export const RevisionParams = Type.Object({
  slug: Slug,
  revision: RowId('A revision number, as `GET …/revisions` lists them.', [1])
}, { additionalProperties: false })

export const RevisionListQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  include: Type.Optional(ref(IncludeTotal))
}, { additionalProperties: false })

export const RevisionDiffQuery = Type.Object({
  against: Type.Optional(RowId('The revision to compare with (older or newer). Default: the revision just before `{revision}`.', [1]))
}, { additionalProperties: false })

/** Components, in dependency order, for the app to register. */
export const revisionSchemas = [
  VersionedField, RevisionSummary, ArticleVersion, Revision, RevisionList,
  TextChange, FlagChange, ImageChange, NameListChange, TagListChange, BodyChange, FieldChanges, RevisionDiff
]
