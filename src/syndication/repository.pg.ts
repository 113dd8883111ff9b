// The SQL of feeds and sitemaps (./repository.ts, which explains them) on PostgreSQL. Sitemaps read
// articles_sitemap_idx (src/db/pg/schema.ts, migrations/pg/0001_init.sql): the same partial index as on
// SQLite, published articles keyed by their block of SITEMAP_PAGE_SIZE ids and then their lastmod, with
// every column a sitemap lists. A page is one backward range of it, a block's latest lastmod its first
// entry, the next block one seek: BLOCK and LASTMOD below must stay the index's own expressions (lastmod is
// greatest() here and in the index, a CASE on SQLite: the same value, as published rows always have
// published_at), and the literal `status = 'published'` of the visibility rule is what lets the planner use
// the partial index. The news window and its edge read a published-date index backwards. Plans:
// explainSitemaps and explainNews, asserted by test/pg/syndication.test.ts (bench/README.md quotes them).
//
// The public change clock is the public_changes row, moved by the triggers of migrations/pg/0002_triggers.sql
// on the database's clock in every write's own transaction, as SQLite's (migrations/0006) are: whichever
// process wrote, every process reads the same time. (src/db/pg/change-clock.ts is another thing: a count of
// other processes' writes for the response cache, not a time a document changed.)
//
// Raw SQL on purpose, as on SQLite: the visibility rule is publicAtText's own text, with $n bounds.
import type { PgDb } from '../db/pg/connection.js'
import { publicAtText } from '../articles/visibility.js'
import { SITEMAP_PAGE_SIZE, type NewsRow, type SitemapBlock, type SitemapRow, type SyndicationRepository } from './repository.js'

const BLOCK = `(id - 1) / ${SITEMAP_PAGE_SIZE}`
const LASTMOD = 'greatest(updated_at, published_at)'
const ROW = 'id, slug, section, published_at AS "publishedAt", updated_at AS "updatedAt"'

const PAGE = `SELECT ${ROW} FROM articles WHERE ${BLOCK} = $1 AND ${publicAtText('', '$2')} ORDER BY ${LASTMOD} DESC, id DESC`
const BLOCK_LASTMOD = `SELECT ${LASTMOD} AS lastmod FROM articles WHERE ${BLOCK} = $1 AND ${publicAtText('', '$2')} ORDER BY ${LASTMOD} DESC LIMIT 1`
const NEXT_BLOCK = `SELECT ${BLOCK} AS block FROM articles WHERE status = 'published' AND ${BLOCK} > $1 ORDER BY ${BLOCK} LIMIT 1`
// NULLS LAST: what a backward scan of articles_status_published_idx (published_at NULLS FIRST) gives; no
// NULL passes `published_at > $1`, but the planner only reads the index in an order it is asked for.
const NEWS = `SELECT ${ROW}, title FROM articles WHERE published_at > $1 AND ${publicAtText('', '$2')}
  ORDER BY published_at DESC NULLS LAST, id DESC LIMIT $3`
const LAST_PUBLISHED = `SELECT max(published_at) AS at FROM articles WHERE ${publicAtText('', '$1')}`

/** The port, with the plans of PostgreSQL for given parameters (its planner reads them), the news window's too. */
export type SyndicationRepositoryPg = SyndicationRepository & {
  explainSitemaps: (block?: number, now?: number) => Promise<{ page: string[], index: string[] }>
  explainNews: (since: number, now: number) => Promise<string[]>
}

export function syndicationRepositoryPg (db: PgDb): SyndicationRepositoryPg {
  const pool = db.$client
  const rows = async <T extends object>(text: string, params: unknown[]): Promise<T[]> => (await pool.query<T>(text, params)).rows
  const plan = async (text: string, params: number[]): Promise<string[]> =>
    (await rows<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${text}`, params)).map((r) => r['QUERY PLAN'])

  return {
    async bodiesOf (ids: number[]): Promise<Map<number, string>> {
      if (ids.length === 0) return new Map()
      const found = await rows<{ id: number, bodyHtml: string }>('SELECT id, body_html AS "bodyHtml" FROM articles WHERE id = ANY($1::integer[])', [ids])
      return new Map(found.map((r) => [r.id, r.bodyHtml]))
    },

    async publicChangedAt (): Promise<number> {
      const [row] = await rows<{ at: number }>('SELECT changed_at AS at FROM public_changes WHERE id = 1', [])
      return row?.at ?? 0
    },

    async sitemapPage (block: number, now: number): Promise<SitemapRow[]> {
      return rows<SitemapRow>(PAGE, [block, now])
    },

    async sitemapBlocks (now: number): Promise<SitemapBlock[]> {
      const out: SitemapBlock[] = []
      for (let [next] = await rows<{ block: number }>(NEXT_BLOCK, [-1]); next !== undefined; [next] = await rows<{ block: number }>(NEXT_BLOCK, [next.block])) {
        const [newest] = await rows<{ lastmod: number }>(BLOCK_LASTMOD, [next.block, now])
        if (newest !== undefined) out.push({ block: next.block, lastmod: newest.lastmod })
      }
      return out
    },

    async newsSince (since: number, now: number, limit: number): Promise<NewsRow[]> {
      return rows<NewsRow>(NEWS, [since, now, limit])
    },

    /**
     * EXPLAIN (COSTS OFF) of a sitemap page and of the index reads (the next block, a block's newest lastmod),
     * for `block` at `now`. Each statement is planned for its parameters (unnamed statements: no generic
     * plan), so the defaults are a request's: a time after every publication, not 0, for which nothing is
     * due and another index would win.
     */
    async explainSitemaps (block: number = 0, now: number = Number.MAX_SAFE_INTEGER): Promise<{ page: string[], index: string[] }> {
      return { page: await plan(PAGE, [block, now]), index: [...await plan(NEXT_BLOCK, [block]), ...await plan(BLOCK_LASTMOD, [block, now])] }
    },

    /** EXPLAIN (COSTS OFF) of the news window (since, now] and of its edge (the latest publication at or before `since`). */
    async explainNews (since: number, now: number): Promise<string[]> {
      return [...await plan(NEWS, [since, now, 1000]), ...await plan(LAST_PUBLISHED, [since])]
    },

    async lastPublishedAtOrBefore (at: number): Promise<number | null> {
      const [row] = await rows<{ at: number | null }>(LAST_PUBLISHED, [at])
      return row?.at ?? null
    }
  }
}
