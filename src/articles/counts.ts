// How many articles there are per tag, section and author, and in all, without counting them per request.
//
// Triggers (migrations/0009_bounded_counts_search.sql) keep three numbers on each tag and each
// article_counts row in the same transaction as every write: `total` (every article: what editors see),
// `published` (status published, any date) and `visible` (published, and published_at <= the settled time
// S in counts_settled). What the public sees at time `now` is `visible` plus the articles published in
// (S, now] — or minus those in (now, S] if the clock reads earlier than S — which `deltasNow` finds through the
// (status, published_at) index: only the articles that fell due since S, a handful. So a scheduled article
// counts the moment it is due, with no write at that moment, and the answer is exact at every instant.
// `settle` (a timer, src/plugins/upkeep.ts) folds those articles into the stored numbers and moves S to now
// in one transaction, so the range stays small; nothing depends on when it runs.
// Raw SQL on purpose (CONTRIBUTING.md, the data layer): set-based recounts and json_each deltas, read on every list.
import type { Db } from '../db/connection.js'
import { declareWrite } from '../db/change-clock.js'
import { publicAtText } from './visibility.js'

export type CountKind = 'all' | 'section' | 'author'

export interface StoredCounts { total: number, published: number, visible: number }

/** The articles that became visible (+) or invisible (−) between the settled time and `now`, per tag or key. */
export interface Deltas {
  tags: Map<number, number>
  keys: Map<string, number>
}

const keyOf = (kind: CountKind, key: string): string => `${kind}\u0000${key}`

export function articleCounts (db: Db) {
  const sqlite = db.$client
  const settledAt = sqlite.prepare('SELECT at FROM counts_settled WHERE id = 1').pluck()
  // The published articles in (lo, hi], through articles_status_published_idx (status, published_at, id): the
  // ones that became public between two times (the rule itself is src/articles/visibility.ts).
  const due = "FROM articles a INDEXED BY articles_status_published_idx WHERE a.status = 'published' AND a.published_at > @lo AND a.published_at <= @hi"
  const anyDue = sqlite.prepare(`SELECT 1 ${due} LIMIT 1`).pluck()
  const tagDeltas = sqlite.prepare<{ lo: number, hi: number }, { id: number, n: number }>(
    `SELECT at.tag_id AS id, count(*) AS n ${due.replace('WHERE', 'JOIN article_tags at ON at.article_id = a.id WHERE')} GROUP BY at.tag_id`)
  const keyDeltas = sqlite.prepare<{ lo: number, hi: number }, { kind: CountKind, key: string, n: number }>(`
    SELECT 'all' AS kind, '' AS key, count(*) AS n ${due} HAVING count(*) > 0
    UNION ALL SELECT 'section', a.section, count(*) ${due} AND a.section IS NOT NULL GROUP BY a.section
    UNION ALL SELECT 'author', aa.name, count(*) ${due.replace('WHERE', 'JOIN article_authors aa ON aa.article_id = a.id WHERE')} GROUP BY aa.name`)
  const stored = sqlite.prepare<[string, string], StoredCounts>('SELECT total, published, visible FROM article_counts WHERE kind = ? AND key = ?')
  const setSettled = sqlite.prepare('UPDATE counts_settled SET at = ? WHERE id = 1')
  const applyTags = sqlite.prepare(`UPDATE tags SET visible_count = visible_count + @sign * d.n
    FROM (SELECT at.tag_id AS id, count(*) AS n ${due.replace('WHERE', 'JOIN article_tags at ON at.article_id = a.id WHERE')} GROUP BY at.tag_id) AS d
    WHERE tags.id = d.id`)
  const applyKeys = sqlite.prepare(`UPDATE article_counts SET visible = visible + @sign * d.n
    FROM (SELECT 'all' AS kind, '' AS key, count(*) AS n ${due}
      UNION ALL SELECT 'section', a.section, count(*) ${due} AND a.section IS NOT NULL GROUP BY a.section
      UNION ALL SELECT 'author', aa.name, count(*) ${due.replace('WHERE', 'JOIN article_authors aa ON aa.article_id = a.id WHERE')} GROUP BY aa.name) AS d
    WHERE article_counts.kind = d.kind AND article_counts.key = d.key`)

  /** The range between the settled time and `now`, and whether articles in it count up (+1) or down (−1). */
  const range = (now: number) => {
    const at = settledAt.get() as number
    return now >= at ? { lo: at, hi: now, sign: 1 } : { lo: now, hi: at, sign: -1 }
  }

  const settle = sqlite.transaction((now: number): boolean => {
    const r = range(now)
    if (r.lo === r.hi || anyDue.get({ lo: r.lo, hi: r.hi }) === undefined) return false
    applyTags.run(r)
    applyKeys.run(r)
    setSettled.run(now)
    return true
  })

  const deltasNow = (now: number): Deltas => {
    const r = range(now)
    const out: Deltas = { tags: new Map(), keys: new Map() }
    if (r.lo === r.hi || anyDue.get({ lo: r.lo, hi: r.hi }) === undefined) return out
    for (const row of tagDeltas.all({ lo: r.lo, hi: r.hi })) out.tags.set(row.id, r.sign * row.n)
    for (const row of keyDeltas.all({ lo: r.lo, hi: r.hi })) out.keys.set(keyOf(row.kind, row.key), r.sign * row.n)
    return out
  }

  return {
    /**
     * `read` made into a function that runs it with what the public's counts lack at a time (articles due
     * since the settled time, few, per tag and key; none when the time is undefined: editors see stored
     * numbers as they are), both in one snapshot: a deferred transaction, or the caller's own when one is
     * open (a write's answer: one snapshot already, no savepoint needed). The stored numbers a count
     * completes must be read inside `read`, or another process's settle may commit between the two and
     * count its articles twice or not at all (test/process/settle-race.test.ts). This module gives the
     * deltas no other way.
     */
    withDeltas<A extends unknown[], R> (read: (deltas: Deltas | undefined, ...args: A) => R): (at: number | undefined, ...args: A) => R {
      const both = (at: number | undefined, ...args: A): R => read(at === undefined ? undefined : deltasNow(at), ...args)
      const snapshot = sqlite.transaction(both)
      return (at, ...args) => sqlite.inTransaction ? both(at, ...args) : snapshot(at, ...args)
    },

    /** The stored numbers of a section, an author or all articles (zeros when there are none). */
    async stored (kind: CountKind, key: string): Promise<StoredCounts> {
      return stored.get(kind, key) ?? { total: 0, published: 0, visible: 0 }
    },

    /** The same, synchronously: inside `withDeltas`'s read. */
    storedNow: (kind: CountKind, key: string): StoredCounts => stored.get(kind, key) ?? { total: 0, published: 0, visible: 0 },

    keyDelta: (d: Deltas, kind: CountKind, key: string): number => d.keys.get(keyOf(kind, key)) ?? 0,

    /**
     * Folds the articles due between the settled time and `now` into the stored numbers and makes `now` the
     * settled time, in one immediate transaction (other processes do the same; each sees the other's S).
     * Writes nothing when no article fell due. Returns whether it wrote.
     * It changes no public answer (stored plus deltas is the same sum before and after, at every time), so
     * it declares no dependency key: this process's response cache keeps what it holds (another process on
     * the same file sees PRAGMA data_version move and empties its own; test/http/response-cache.test.ts).
     */
    async settle (now: number): Promise<boolean> {
      return declareWrite(db, [], () => settle.immediate(now))
    },

    /** Every stored number counted again, with `now` as the settled time (see recountArticleCounts). */
    async recount (now: number): Promise<void> {
      recountArticleCounts(db, now)
    }
  }
}

export type ArticleCounts = ReturnType<typeof articleCounts>

/**
 * Every stored number counted again from the articles, with `now` as the settled time: for a database
 * written without the triggers (bench/generate.ts), and for tests that compare with a fresh count.
 */
export function recountArticleCounts (db: Pick<Db, '$client'>, now: number): void {
  const sqlite = db.$client
  sqlite.transaction(() => {
    sqlite.prepare('UPDATE counts_settled SET at = ? WHERE id = 1').run(now)
    sqlite.prepare(`WITH c AS (
        SELECT at.tag_id AS id, count(*) AS n, sum(a.status = 'published') AS p,
          sum(${publicAtText('a.', '@now')}) AS v
        FROM article_tags at JOIN articles a INDEXED BY articles_visibility_idx ON a.id = at.article_id GROUP BY at.tag_id)
      UPDATE tags SET article_count = coalesce(c.n, 0), published_count = coalesce(c.p, 0), visible_count = coalesce(c.v, 0)
      FROM (SELECT tags.id AS tag_id, c.n, c.p, c.v FROM tags LEFT JOIN c ON c.id = tags.id) AS c WHERE c.tag_id = tags.id`).run({ now })
    sqlite.prepare('DELETE FROM article_counts').run()
    sqlite.prepare(`INSERT INTO article_counts (kind, key, total, published, visible)
      SELECT 'all', '', count(*), coalesce(sum(status = 'published'), 0), coalesce(sum(${publicAtText('', '@now')}), 0)
      FROM articles INDEXED BY articles_visibility_idx
      UNION ALL
      SELECT 'section', section, count(*), sum(status = 'published'), sum(${publicAtText('', '@now')})
      FROM articles INDEXED BY articles_visibility_idx WHERE section IS NOT NULL GROUP BY section
      UNION ALL
      SELECT 'author', aa.name, count(*), sum(a.status = 'published'), sum(${publicAtText('a.', '@now')})
      FROM article_authors aa JOIN articles a INDEXED BY articles_visibility_idx ON a.id = aa.article_id GROUP BY aa.name`).run({ now })
  })()
}
