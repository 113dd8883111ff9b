// Writes of an article's history (./store.ts) on PostgreSQL: awaited inside the article's own write
// transaction, so a change and the revision that keeps the state before it commit or roll back together.
// The rows are the same as SQLite's (bodies as bytea); what goes in them is ./store.ts's rules.
import { and, eq, sql } from 'drizzle-orm'
import type { PgTx } from '../db/pg/connection.js'
import { articleRevisions } from '../db/pg/schema.js'
import { VERSIONED_FIELDS, type VersionedField } from './fields.js'
import { currentRow, keptRow, tagsWritten, UNKNOWN_AUTHOR, type RevisionMeta, type RevisionPoint } from './store.js'

async function current (tx: PgTx, articleId: number, point: RevisionPoint, changed: readonly VersionedField[], meta: RevisionMeta): Promise<void> {
  await tx.insert(articleRevisions).values(currentRow(articleId, point, changed, meta))
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
    const row = keptRow(before, after, tagsWritten(was))
    // The kept revision and the new current one in one statement (a write holds the event-order lock
    // for each round trip: src/events/outbox.pg.ts). Two rows of different keys: no order between them.
    const kept = tx.insert(articleRevisions).values({ articleId, revision: before.revision, createdAt: before.at, author: UNKNOWN_AUTHOR, ...row })
      .onConflictDoUpdate({
        target: [articleRevisions.articleId, articleRevisions.revision],
        set: { kind: sql.raw('excluded.kind'), state: sql.raw('excluded.state'), body: sql.raw('excluded.body') }
      })
    await tx.execute(sql`WITH kept AS (${kept.getSQL()}) ${tx.insert(articleRevisions).values(currentRow(articleId, after, changed, meta)).getSQL()}`)
  }
}
