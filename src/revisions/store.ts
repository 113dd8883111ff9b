// Writes of an article's history. Synchronous on purpose: they run inside the article's own write
// transaction (better-sqlite3 transactions take synchronous callbacks), so a change and the revision
// that keeps the state before it commit or roll back together.
import type { Db } from '../db/connection.js'
import { articleRevisions } from '../db/schema.js'
import { compressBody, encodeDelta, KEYFRAME_EVERY } from './body-delta.js'
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

/** Revision `revision` of a new article: current, every field set. */
export function recordCreated (tx: Tx, articleId: number, revision: number, at: number, meta: RevisionMeta): void {
  tx.insert(articleRevisions).values({
    articleId,
    revision,
    createdAt: at,
    author: meta.author,
    changed: JSON.stringify(VERSIONED_FIELDS),
    restoredFrom: meta.restoredFrom ?? null,
    kind: 'current'
  }).run()
}

export interface RevisionPoint {
  revision: number
  /** When it was made: the article's updatedAt while it was current. */
  at: number
  state: ArticleState
}

/**
 * A change from `before` (the current revision until now) to `after`: the state of `before` is kept
 * in its row, and `after` becomes current. `before` keeps every field and its whole body every
 * KEYFRAME_EVERY revisions (or when that is smaller than a delta), else what differs from `after`.
 * When `before` has no row (an article from before history was kept), one is made, by "unknown".
 */
export function recordChange (tx: Tx, articleId: number, before: RevisionPoint, after: RevisionPoint, changed: VersionedField[], meta: RevisionMeta): void {
  const delta = before.revision % KEYFRAME_EVERY === 0 ? undefined : encodeDelta(after.state.body, before.state.body)
  const kept = delta === undefined
    ? { kind: 'full' as const, state: JSON.stringify(storedState(before.state)), body: compressBody(before.state.body) }
    : { kind: 'delta' as const, state: JSON.stringify(stateDelta(after.state, before.state)), body: delta }
  tx.insert(articleRevisions)
    .values({ articleId, revision: before.revision, createdAt: before.at, author: UNKNOWN_AUTHOR, ...kept })
    .onConflictDoUpdate({ target: [articleRevisions.articleId, articleRevisions.revision], set: kept })
    .run()
  tx.insert(articleRevisions).values({
    articleId,
    revision: after.revision,
    createdAt: after.at,
    author: meta.author,
    changed: JSON.stringify(changed),
    restoredFrom: meta.restoredFrom ?? null,
    kind: 'current'
  }).run()
}
