// The SQL of feeds and sitemaps. Feeds choose their articles through the article list
// (src/articles/listing/) and only read bodies here. Sitemaps read articles_sitemap_idx
// (migrations/0005_article_image_sitemap.sql): a partial index of published articles keyed by their block
// of SITEMAP_PAGE_SIZE ids and then their lastmod, holding everything a sitemap lists. A page is one range
// of it (the same cost whichever page, never the articles' rows and bodies), and a block's latest lastmod
// one seek. BLOCK and LASTMOD below must stay the index's own expressions, or SQLite cannot use it.
//
// "Visible to the public" is publicAtText (src/articles/visibility.ts); the literal `status = 'published'`
// is also what lets SQLite use the partial index (whose condition fromIndex repeats).
// Raw SQL on purpose (CONTRIBUTING.md, the data layer): the partial indexes need the visibility rule's literal text, and the
// sitemap blocks are planner-shaped.
import type { Db } from '../db/connection.js'
import { publicAtText } from '../articles/visibility.js'

/** What a sitemap lists of an article. */
export interface SitemapRow {
  id: number
  slug: string
  section: string | null
  publishedAt: number
  updatedAt: number
}

/** What the Google News sitemap lists of an article. */
export interface NewsRow extends SitemapRow {
  title: string
}

/** A block of article ids that has at least one visible article: one sitemap page. */
export interface SitemapBlock {
  /** 0-based: page n is block n - 1. */
  block: number
  /** The latest lastmod (update or publication) of its articles. */
  lastmod: number
}

/** Article ids per sitemap page (the protocol allows 50,000 URLs); the index is built on this number. */
export const SITEMAP_PAGE_SIZE = 10_000
const BLOCK = '(id - 1) / 10000'
const LASTMOD = 'CASE WHEN updated_at > published_at THEN updated_at ELSE published_at END'

export function syndicationRepository (db: Db) {
  const sqlite = db.$client
  const bodies = sqlite.prepare<[string], { id: number, bodyHtml: string }>(
    'SELECT id, body_html AS bodyHtml FROM articles WHERE id IN (SELECT value FROM json_each(?))')
  const changedAt = sqlite.prepare<[], number>('SELECT changed_at FROM public_changes WHERE id = 1').pluck()
  const fromIndex = 'FROM articles INDEXED BY articles_sitemap_idx WHERE'
  /** A block's articles visible at the second parameter. */
  const visibleInBlock = `${fromIndex} ${BLOCK} = ? AND ${publicAtText()}`
  const page = sqlite.prepare<[number, number], SitemapRow>(
    `SELECT id, slug, section, published_at AS publishedAt, updated_at AS updatedAt
     ${visibleInBlock} ORDER BY ${LASTMOD} DESC, id DESC`)
  const blockLastmod = sqlite.prepare<[number, number], number>(
    `SELECT ${LASTMOD} ${visibleInBlock} ORDER BY ${LASTMOD} DESC LIMIT 1`).pluck()
  const nextBlock = sqlite.prepare<[number], number>(`SELECT ${BLOCK} ${fromIndex} status = 'published' AND ${BLOCK} > ? ORDER BY ${BLOCK} LIMIT 1`).pluck()
  const news = sqlite.prepare<[number, number, number], NewsRow>(
    `SELECT id, slug, section, title, published_at AS publishedAt, updated_at AS updatedAt
     FROM articles WHERE published_at > ? AND ${publicAtText()}
     ORDER BY published_at DESC, id DESC LIMIT ?`)
  const lastPublishedBefore = sqlite.prepare<[number], number | null>(
    `SELECT max(published_at) FROM articles WHERE ${publicAtText()}`).pluck()

  return {
    /** The rendered bodies of these articles, by id. */
    async bodiesOf (ids: number[]): Promise<Map<number, string>> {
      if (ids.length === 0) return new Map()
      return new Map(bodies.all(JSON.stringify(ids)).map((r) => [r.id, r.bodyHtml]))
    },

    /** When public content last changed in a way its own rows cannot show (migrations/0006_public_changes.sql). */
    async publicChangedAt (): Promise<number> {
      return changedAt.get() ?? 0
    },

    /** The visible articles of a block of ids (0-based), latest lastmod first. */
    async sitemapPage (block: number, now: number): Promise<SitemapRow[]> {
      return page.all(block, now)
    },

    /**
     * Every block of ids that holds a visible article, with its latest lastmod: two seeks a block (the
     * next block with a published article, its newest visible lastmod), whatever the gaps between ids.
     */
    async sitemapBlocks (now: number): Promise<SitemapBlock[]> {
      const out: SitemapBlock[] = []
      for (let block = nextBlock.get(-1); block !== undefined && block !== null; block = nextBlock.get(block)) {
        const lastmod = blockLastmod.get(block, now)
        if (lastmod !== undefined && lastmod !== null) out.push({ block, lastmod })
      }
      return out
    },

    /** The articles published after `since` and visible at `now`, newest first, at most `limit`. */
    async newsSince (since: number, now: number, limit: number): Promise<NewsRow[]> {
      return news.all(since, now, limit)
    },

    /** EXPLAIN QUERY PLAN of a sitemap page and of the index (for tests and bench/query-plans.md). */
    async explainSitemaps (): Promise<{ page: string[], index: string[] }> {
      const plan = (text: string, ...params: number[]) =>
        (sqlite.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as { detail: string }[]).map((r) => r.detail)
      return { page: plan(page.source, 0, 0), index: [...plan(nextBlock.source, 0), ...plan(blockLastmod.source, 0, 0)] }
    },

    /** The latest publication time at or before `at` of a published article, or null. */
    async lastPublishedAtOrBefore (at: number): Promise<number | null> {
      return lastPublishedBefore.get(at) ?? null
    }
  }
}

export type SyndicationRepository = ReturnType<typeof syndicationRepository>
