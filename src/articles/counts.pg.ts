// The stored article counts (./counts.ts explains them) read and settled on PostgreSQL. The triggers of
// migrations/pg/0002_triggers.sql keep `total`, `published` and `visible` (published by the settled time S)
// in every write's transaction; what the public sees at `now` is `visible` plus the articles that fell due
// in (S, now] (minus those in (now, S] when the clock reads earlier), found through
// articles_status_published_idx: a handful. `settle` (upkeep's timer) folds them in and moves S to now.
import { sql } from 'drizzle-orm'
import { executePrepared, type PgDb, type PgTx } from '../db/pg/connection.js'
import { declaration } from '../db/pg/change-clock.js'
import { lockEventOrderWith } from '../events/outbox.pg.js'
import type { CountKind, Deltas, StoredCounts } from './counts.js'

const keyOf = (kind: CountKind, key: string): string => `${kind}\u0000${key}`

/** The published articles in (lo, hi]: the ones that became public between two times (src/articles/visibility.ts). */
const due = (lo: number, hi: number) => sql`a.status = 'published' AND a.published_at > ${lo} AND a.published_at <= ${hi}`

export function articleCountsPg (db: PgDb) {
  async function range (now: number, conn: PgDb | PgTx): Promise<{ lo: number, hi: number, sign: number }> {
    const { rows: [row] } = await executePrepared<{ at: number }>(conn, sql`SELECT at FROM counts_settled WHERE id = 1`)
    const at = row!.at
    return now >= at ? { lo: at, hi: now, sign: 1 } : { lo: now, hi: at, sign: -1 }
  }

  return {
    /**
     * What the public's counts lack at `now`: articles due since the settled time, per tag and key. Inside a
     * write, read in its transaction (`conn`).
     */
    async deltas (now: number, conn: PgDb | PgTx = db): Promise<Deltas> {
      const r = await range(now, conn)
      const out: Deltas = { tags: new Map(), keys: new Map() }
      if (r.lo === r.hi) return out
      const { rows: tagRows } = await executePrepared<{ id: number, n: number }>(conn,
        sql`SELECT at.tag_id AS id, count(*) AS n FROM article_tags at JOIN articles a ON a.id = at.article_id WHERE ${due(r.lo, r.hi)} GROUP BY at.tag_id`)
      for (const row of tagRows) out.tags.set(row.id, r.sign * row.n)
      const { rows: keyRows } = await executePrepared<{ kind: CountKind, key: string, n: number }>(conn, sql`
        SELECT 'all' AS kind, '' AS key, count(*) AS n FROM articles a WHERE ${due(r.lo, r.hi)} HAVING count(*) > 0
        UNION ALL SELECT 'section', a.section, count(*) FROM articles a WHERE ${due(r.lo, r.hi)} AND a.section IS NOT NULL GROUP BY a.section
        UNION ALL SELECT 'author', aa.name, count(*) FROM article_authors aa JOIN articles a ON a.id = aa.article_id WHERE ${due(r.lo, r.hi)} GROUP BY aa.name`)
      for (const row of keyRows) out.keys.set(keyOf(row.kind, row.key), r.sign * row.n)
      return out
    },

    /** The stored numbers of a section, an author or all articles (zeros when there are none). */
    async stored (kind: CountKind, key: string, conn: PgDb | PgTx = db): Promise<StoredCounts> {
      const { rows: [row] } = await executePrepared<{ total: number, published: number, visible: number }>(conn,
        sql`SELECT total, published, visible FROM article_counts WHERE kind = ${kind} AND key = ${key}`)
      return row ?? { total: 0, published: 0, visible: 0 }
    },

    keyDelta: (d: Deltas, kind: CountKind, key: string): number => d.keys.get(keyOf(kind, key)) ?? 0,

    /**
     * Folds the articles due between the settled time and `now` into the stored numbers and makes `now` the
     * settled time, in one transaction; writes nothing when none fell due; returns whether it wrote.
     * It takes the event log's order lock first, as every article write does (./repository.pg.ts): the
     * triggers count a written article as visible or not by the settled time they read, so a settle must
     * not move that time while an article write that read the old one is uncommitted (that article would be
     * counted by neither). Processes settling at once take turns; the second finds little or nothing to do.
     * It declares no dependency key, as on SQLite: it changes no public answer, so no response cache empties.
     */
    async settle (now: number): Promise<boolean> {
      return db.transaction(async (tx) => {
        await lockEventOrderWith(tx, sql`${declaration([])} AS declared`)
        const { rows: [row] } = await tx.execute<{ at: number }>(sql`SELECT at FROM counts_settled WHERE id = 1`)
        const r = now >= row!.at ? { lo: row!.at, hi: now, sign: 1 } : { lo: now, hi: row!.at, sign: -1 }
        if (r.lo === r.hi) return false
        const { rows: any } = await tx.execute(sql`SELECT 1 FROM articles a WHERE ${due(r.lo, r.hi)} LIMIT 1`)
        if (any.length === 0) return false
        await tx.execute(sql`UPDATE tags SET visible_count = visible_count + ${r.sign} * d.n
          FROM (SELECT at.tag_id AS id, count(*) AS n FROM article_tags at JOIN articles a ON a.id = at.article_id WHERE ${due(r.lo, r.hi)} GROUP BY at.tag_id) AS d
          WHERE tags.id = d.id`)
        await tx.execute(sql`UPDATE article_counts SET visible = visible + ${r.sign} * d.n
          FROM (SELECT 'all' AS kind, '' AS key, count(*) AS n FROM articles a WHERE ${due(r.lo, r.hi)}
            UNION ALL SELECT 'section', a.section, count(*) FROM articles a WHERE ${due(r.lo, r.hi)} AND a.section IS NOT NULL GROUP BY a.section
            UNION ALL SELECT 'author', aa.name, count(*) FROM article_authors aa JOIN articles a ON a.id = aa.article_id WHERE ${due(r.lo, r.hi)} GROUP BY aa.name) AS d
          WHERE article_counts.kind = d.kind AND article_counts.key = d.key`)
        await tx.execute(sql`UPDATE counts_settled SET at = ${now} WHERE id = 1`)
        return true
      })
    }
  }
}

export type ArticleCountsPg = ReturnType<typeof articleCountsPg>
