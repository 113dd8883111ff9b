// What a revision keeps: every article field a PATCH can change, and nothing else (comment counts,
// ids and timestamps are not content). The one list of versioned fields, used to record, compare,
// read and restore revisions.
import { imageOf, type ArticleRow } from '../articles/repository.js'
import type { ArticleImage } from '../articles/schemas.js'
import type { TagRef } from '../tags/schemas.js'

export const VERSIONED_FIELDS = [
  'slug', 'title', 'summary', 'body', 'section', 'dateline', 'source', 'authors', 'tags', 'status', 'publishedAt', 'commentsOpen',
  'image', 'canonicalUrl'
] as const
export type VersionedField = typeof VERSIONED_FIELDS[number]

/** An article's content as of one revision. Timestamps in milliseconds, as stored. */
export interface ArticleState {
  slug: string
  title: string
  summary: string | null
  body: string
  section: string | null
  dateline: string | null
  source: string | null
  authors: string[]
  tags: TagRef[]
  status: ArticleRow['status']
  publishedAt: number | null
  commentsOpen: boolean
  image: ArticleImage | null
  canonicalUrl: string | null
}

/** The fields but the body, as stored in JSON. */
export type StoredState = Omit<ArticleState, 'body'>

/**
 * Values for fields missing from a stored state: a field added to VERSIONED_FIELDS later did not exist
 * when older revisions were stored, and reads as its default there (so old rows never need rewriting).
 */
const DEFAULTS: Partial<StoredState> = { image: null, canonicalUrl: null }

export function stateOf (row: ArticleRow, tags: TagRef[]): ArticleState {
  return {
    slug: row.slug,
    title: row.title,
    summary: row.summary,
    body: row.body,
    section: row.section,
    dateline: row.dateline,
    source: row.source,
    authors: JSON.parse(row.authors) as string[],
    tags: tags.map((t) => ({ slug: t.slug, name: t.name })),
    status: row.status,
    publishedAt: row.publishedAt,
    commentsOpen: row.commentsOpen,
    image: imageOf(row),
    canonicalUrl: row.canonicalUrl
  }
}

/** A stored (complete) state, with defaults for fields it predates. */
export function completeState (stored: Partial<StoredState>): StoredState {
  return { ...DEFAULTS, ...stored } as StoredState
}

/** Equal values; lists compared by their JSON (a body is compared as a string, never serialised). */
const same = (a: unknown, b: unknown): boolean =>
  a === b || (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && JSON.stringify(a) === JSON.stringify(b))

/** Tags compare by slug: a tag renamed since is the same tag. */
const comparable = (state: ArticleState, field: VersionedField): unknown =>
  field === 'tags' ? state.tags.map((t) => t.slug) : state[field]

/** The versioned fields whose values differ, in VERSIONED_FIELDS order. */
export function changedFields (before: ArticleState, after: ArticleState): VersionedField[] {
  return VERSIONED_FIELDS.filter((f) => !same(comparable(before, f), comparable(after, f)))
}

/** The fields of `older` (but the body) that differ from `newer`: what a delta row stores. */
export function stateDelta (newer: ArticleState, older: ArticleState): Partial<StoredState> {
  const out: Record<string, unknown> = {}
  for (const f of VERSIONED_FIELDS) {
    if (f !== 'body' && !same(newer[f], older[f])) out[f] = older[f]
  }
  return out as Partial<StoredState>
}

/** The stored fields of a state (all but the body): what a full row stores. */
export function storedState (state: ArticleState): StoredState {
  const { body: _body, ...rest } = state
  return rest
}
