// Writes of an article's history. Synchronous on purpose: they run inside the article's own write
// transaction (better-sqlite3 transactions take synchronous callbacks), so a change and the revision
// that keeps the state before it commit or roll back together.
import { and, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { articleRevisions } from '../db/schema.js'
import { compressBody, encodeDelta, KEYFRAME_EVERY } from './body-delta.js'
import type { TagRef } from '../tags/schemas.js'
import { stateDelta, storedState, VERSIONED_FIELDS, type ArticleState, type VersionedField } from './fields.js'

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

export interface RevisionPoint {
  revision: number
  /** When it was made: the article's updatedAt while it was current. */
  at: number
  state: ArticleState
}

/** The row that makes `point` an article's current revision: the same on both engines (./store.pg.ts). */
export function currentRow (articleId: number, point: RevisionPoint, changed: readonly VersionedField[], meta: RevisionMeta) {
  return {
    articleId,
    revision: point.revision,
    createdAt: point.at,
    author: meta.author,
    changed: JSON.stringify(changed),
    restoredFrom: meta.restoredFrom ?? null,
    kind: 'current' as const,
    state: JSON.stringify({ tags: point.state.tags })
  }
}

/**
 * What the row of `before` keeps once `after` is current: its state (with the tags it was written with,
 * `written`, when its row says) and its whole body every KEYFRAME_EVERY revisions (or when that is smaller
 * than a delta), else what differs from `after`. The same on both engines (./store.pg.ts).
 */
export function keptRow (before: RevisionPoint, after: RevisionPoint, written: TagRef[] | undefined): { kind: 'full' | 'delta', state: string, body: Buffer | null } {
  const old = written === undefined ? before.state : { ...before.state, tags: written }
  const delta = before.revision % KEYFRAME_EVERY === 0 ? undefined : encodeDelta(after.state.body, old.body)
  return delta === undefined
    ? { kind: 'full', state: JSON.stringify(storedState(old)), body: compressBody(old.body) }
    : { kind: 'delta', state: JSON.stringify(stateDelta(after.state, old)), body: delta }
}

/**
 * The history's writes, for the article repository to call inside its transactions. Statements are
 * prepared once (they run on the same connection, so inside the caller's transaction).
 */
export function revisionWriter (db: Pick<Db, 'insert' | 'select'>) {
  const key = and(eq(articleRevisions.articleId, sql.placeholder('articleId')), eq(articleRevisions.revision, sql.placeholder('revision')))
  const rowOf = db.select({ kind: articleRevisions.kind, state: articleRevisions.state }).from(articleRevisions).where(key).prepare()
  const insertCurrent = db.insert(articleRevisions).values({
    articleId: sql.placeholder('articleId'),
    revision: sql.placeholder('revision'),
    createdAt: sql.placeholder('createdAt'),
    author: sql.placeholder('author'),
    changed: sql.placeholder('changed'),
    restoredFrom: sql.placeholder('restoredFrom'),
    kind: sql.placeholder('kind'),
    state: sql.placeholder('state')
  }).prepare()
  const keep = db.insert(articleRevisions).values({
    articleId: sql.placeholder('articleId'),
    revision: sql.placeholder('revision'),
    createdAt: sql.placeholder('createdAt'),
    author: UNKNOWN_AUTHOR,
    kind: sql.placeholder('kind'),
    state: sql.placeholder('state'),
    body: sql.placeholder('body')
  }).onConflictDoUpdate({
    target: [articleRevisions.articleId, articleRevisions.revision],
    set: { kind: sql.raw('excluded.kind'), state: sql.raw('excluded.state'), body: sql.raw('excluded.body') }
  }).prepare()

  function current (articleId: number, point: RevisionPoint, changed: readonly VersionedField[], meta: RevisionMeta): void {
    insertCurrent.run(currentRow(articleId, point, changed, meta))
  }

  return {
    /** The first revision of a new article: current, every field set. */
    created (articleId: number, point: RevisionPoint, meta: RevisionMeta): void {
      current(articleId, point, VERSIONED_FIELDS, meta)
    },

    /**
     * A change from `before` (the current revision until now, as the article is) to `after`: the
     * state of `before` (with the tags it was written with) is kept in its row, and `after` becomes
     * current. `before` keeps every field and its whole body every KEYFRAME_EVERY revisions (or when
     * that is smaller than a delta), else what differs from `after`. When `before` has no row (an
     * article from before history was kept), one is made, by "unknown".
     */
    changed (articleId: number, before: RevisionPoint, after: RevisionPoint, changed: VersionedField[], meta: RevisionMeta): void {
      const row = keptRow(before, after, tagsWritten(rowOf.get({ articleId, revision: before.revision })))
      keep.run({ articleId, revision: before.revision, createdAt: before.at, ...row })
      current(articleId, after, changed, meta)
    }
  }
}
