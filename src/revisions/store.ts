// Writes of an article's history. Synchronous on purpose: they run inside the article's own write
// transaction (better-sqlite3 transactions take synchronous callbacks), so a change and the revision
// that keeps the state before it commit or roll back together.
import { and, eq } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { articleRevisions } from '../db/schema.js'
import { compressBody, encodeDelta, KEYFRAME_EVERY } from './body-delta.js'
import type { TagRef } from '../tags/schemas.js'
import { stateDelta, storedState, VERSIONED_FIELDS, type ArticleState, type VersionedField } from './fields.js'

type Tx = Pick<Db, 'select' | 'insert' | 'update' | 'delete'>

/** Who made a change, recorded with its revision. */
export interface RevisionMeta {
  /** The name of the caller's token. */
  author: string
  /** The revision whose state a restore copied. */
  restoredFrom?: number
}

/** An author for changes nobody recorded: made before history was kept, or outside the API. */
export const UNKNOWN_AUTHOR = 'unknown'

/**
 * The tags a current revision was written with, which its row keeps: deleting or re-slugging a tag
 * takes it off the article without a new revision, and the revision must still remember it.
 * Undefined for a row that does not say (one made by "unknown").
 */
export function tagsWritten (row: { kind: string, state: string | null } | undefined): TagRef[] | undefined {
  return row?.kind === 'current' && row.state !== null ? (JSON.parse(row.state) as { tags: TagRef[] }).tags : undefined
}

function insertCurrent (tx: Tx, articleId: number, point: RevisionPoint, changed: readonly VersionedField[], meta: RevisionMeta): void {
  tx.insert(articleRevisions).values({
    articleId,
    revision: point.revision,
    createdAt: point.at,
    author: meta.author,
    changed: JSON.stringify(changed),
    restoredFrom: meta.restoredFrom ?? null,
    kind: 'current',
    state: JSON.stringify({ tags: point.state.tags })
  }).run()
}

export interface RevisionPoint {
  revision: number
  /** When it was made: the article's updatedAt while it was current. */
  at: number
  state: ArticleState
}

/** The first revision of a new article: current, every field set. */
export function recordCreated (tx: Tx, articleId: number, point: RevisionPoint, meta: RevisionMeta): void {
  insertCurrent(tx, articleId, point, VERSIONED_FIELDS, meta)
}

/**
 * A change from `before` (the current revision until now, as the article is) to `after`: the state of
 * `before` (with the tags it was written with) is kept in its row, and `after` becomes current.
 * `before` keeps every field and its whole body every KEYFRAME_EVERY revisions (or when that is smaller
 * than a delta), else what differs from `after`. When `before` has no row (an article from before
 * history was kept), one is made, by "unknown".
 */
export function recordChange (tx: Tx, articleId: number, before: RevisionPoint, after: RevisionPoint, changed: VersionedField[], meta: RevisionMeta): void {
  const key = and(eq(articleRevisions.articleId, articleId), eq(articleRevisions.revision, before.revision))
  const written = tagsWritten(tx.select({ kind: articleRevisions.kind, state: articleRevisions.state }).from(articleRevisions).where(key).get())
  const old = written === undefined ? before.state : { ...before.state, tags: written }
  const delta = before.revision % KEYFRAME_EVERY === 0 ? undefined : encodeDelta(after.state.body, old.body)
  const kept = delta === undefined
    ? { kind: 'full' as const, state: JSON.stringify(storedState(old)), body: compressBody(old.body) }
    : { kind: 'delta' as const, state: JSON.stringify(stateDelta(after.state, old)), body: delta }
  tx.insert(articleRevisions)
    .values({ articleId, revision: before.revision, createdAt: before.at, author: UNKNOWN_AUTHOR, ...kept })
    .onConflictDoUpdate({ target: [articleRevisions.articleId, articleRevisions.revision], set: kept })
    .run()
  insertCurrent(tx, articleId, after, changed, meta)
}
