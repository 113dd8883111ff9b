// Writes of an article's history (./store.ts) on PostgreSQL: awaited inside the article's own write
// transaction, so a change and the revision that keeps the state before it commit or roll back together.
// The rows are the same as SQLite's (bodies as bytea); what goes in them is ./store.ts's rules.
import { and, eq, sql } from 'drizzle-orm'
import type { PgTx } from '../db/pg/connection.js'
import { articleRevisions } from '../db/pg/schema.js'
import { compressBody, encodeDelta, KEYFRAME_EVERY } from './body-delta.js'
import { stateDelta, storedState, VERSIONED_FIELDS, type VersionedField } from './fields.js'
import { tagsWritten, UNKNOWN_AUTHOR, type RevisionMeta, type RevisionPoint } from './store.js'

async function current (tx: PgTx, articleId: number, point: RevisionPoint, changed: readonly VersionedField[], meta: RevisionMeta): Promise<void> {
  await tx.insert(articleRevisions).values({
    articleId,
    revision: point.revision,
    createdAt: point.at,
    author: meta.author,
    changed: JSON.stringify(changed),
    restoredFrom: meta.restoredFrom ?? null,
    kind: 'current',
    state: JSON.stringify({ tags: point.state.tags })
  })
}

export const revisionWriterPg = {
  /** The first revision of a new article: current, every field set. */
  async created (tx: PgTx, articleId: number, point: RevisionPoint, meta: RevisionMeta): Promise<void> {
    await current(tx, articleId, point, VERSIONED_FIELDS, meta)
  },

  /** As ./store.ts's `changed`: `before` is kept (whole every KEYFRAME_EVERY revisions, else as a delta), `after` becomes current. */
  async changed (tx: PgTx, articleId: number, before: RevisionPoint, after: RevisionPoint, changed: VersionedField[], meta: RevisionMeta): Promise<void> {
    const [was] = await tx.select({ kind: articleRevisions.kind, state: articleRevisions.state }).from(articleRevisions)
      .where(and(eq(articleRevisions.articleId, articleId), eq(articleRevisions.revision, before.revision)))
    const written = tagsWritten(was)
    const old = written === undefined ? before.state : { ...before.state, tags: written }
    const delta = before.revision % KEYFRAME_EVERY === 0 ? undefined : encodeDelta(after.state.body, old.body)
    const row = delta === undefined
      ? { kind: 'full' as const, state: JSON.stringify(storedState(old)), body: compressBody(old.body) }
      : { kind: 'delta' as const, state: JSON.stringify(stateDelta(after.state, old)), body: delta }
    await tx.insert(articleRevisions).values({ articleId, revision: before.revision, createdAt: before.at, author: UNKNOWN_AUTHOR, ...row })
      .onConflictDoUpdate({
        target: [articleRevisions.articleId, articleRevisions.revision],
        set: { kind: sql.raw('excluded.kind'), state: sql.raw('excluded.state'), body: sql.raw('excluded.body') }
      })
    await current(tx, articleId, after, changed, meta)
  }
}
