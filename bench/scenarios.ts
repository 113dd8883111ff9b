// What a bench run measures: the scenarios of issue 8, their targets, and the database rows they use.
import Database from 'better-sqlite3'
import { searchTerm } from './content.js'
import { BUSY_COMMENTS } from './generate.js'
import type { Load } from './measure.js'

export interface Target {
  text: string
  /** Minimum ratio to the baseline's req/s (reads). */
  ratio?: number
  /** Minimum req/s and maximum p99 in ms (writes). */
  rps?: number
  p99?: number
}

export interface Scenario extends Load {
  id: string
  label: string
  /** The route as the API documents it, for messages. */
  route: string
  /** Reads are compared with the baseline; writes are measured alone. */
  read: boolean
  /** The status a working route answers. */
  expect: number
  target?: Target
  /** Why the route's answer shows the feature is not on this build, if it does. */
  missing?: (status: number, body: string) => string | undefined
}

export interface Fixtures {
  articleSlug: string
  tagSlug: string
  tagArticles: number
  searchTerm: string
  busySlug: string
  busyComments: number
  commentSlug: string
  patchSlug: string
  /** A sitemap page from the middle of the archive: a full block of 10,000 ids. */
  sitemapPage: number
}

/** Picks the rows the scenarios use from the database, as the server sees it at `now`. */
export function findFixtures (path: string, now: number): Fixtures {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    const visible = "status = 'published' AND published_at <= @now AND comments_open = 1"
    const maxId = (db.prepare('SELECT max(id) AS id FROM articles').get() as { id: number | null }).id ?? 0
    // An ordinary article two thirds into the archive (not the busiest one).
    const article = db.prepare(`SELECT slug FROM articles WHERE id >= @from AND ${visible} AND comment_count < 100 ORDER BY id LIMIT 1`)
      .get({ from: Math.floor(maxId * 2 / 3), now }) as { slug: string } | undefined
    // A tag of median popularity: filtering by it is neither trivial (a tag on every article) nor empty.
    const tagRows = db.prepare(`SELECT t.slug AS slug, count(*) AS n FROM tags t JOIN article_tags at ON at.tag_id = t.id
      GROUP BY t.id ORDER BY n DESC, t.id`).all() as { slug: string, n: number }[]
    const tag = tagRows[Math.floor(tagRows.length / 2)]
    // The generator puts its 200-comment article in the middle; on any other database, the busiest one
    // (a full scan, which on a generated million-article file reads every body: hence the shortcut).
    const middle = db.prepare(`SELECT slug, comment_count AS n FROM articles WHERE id = @id AND ${visible} AND comment_count >= @busy`)
      .get({ id: Math.max(1, Math.ceil(maxId / 2)), now, busy: BUSY_COMMENTS }) as { slug: string, n: number } | undefined
    const busy = middle ?? db.prepare(`SELECT slug, comment_count AS n FROM articles WHERE ${visible} ORDER BY comment_count DESC LIMIT 1`)
      .get({ now }) as { slug: string, n: number } | undefined
    // Writes go to the oldest articles, far from the pages the reads fetch, so captured reads stay valid.
    const oldest = db.prepare(`SELECT slug FROM articles WHERE ${visible} ORDER BY published_at LIMIT 2`).all({ now }) as { slug: string }[]
    // The middle article's block of ids: one of the archive's full sitemap pages.
    const sitemapPage = Math.floor((Math.max(1, Math.ceil(maxId / 2)) - 1) / 10_000) + 1
    if (!article || !tag || !busy || oldest.length < 2) throw new Error(`${path} has too few published articles for a bench run`)
    return {
      articleSlug: article.slug,
      tagSlug: tag.slug,
      tagArticles: tag.n,
      searchTerm,
      busySlug: busy.slug,
      busyComments: busy.n,
      commentSlug: oldest[0]!.slug,
      patchSlug: oldest[1]!.slug,
      sitemapPage
    }
  } finally {
    db.close()
  }
}

const json = { 'content-type': 'application/json' }

export function scenarios (f: Fixtures, adminToken: string): Scenario[] {
  return [
    {
      id: 'get-article',
      route: 'GET /v1/articles/{slug}',
      label: 'GET article by slug',
      read: true,
      method: 'GET',
      path: `/v1/articles/${f.articleSlug}`,
      headers: {},
      expect: 200,
      target: { text: '≥ 0.6× baseline', ratio: 0.6 }
    },
    {
      id: 'list',
      route: 'GET /v1/articles',
      label: 'GET list of 20',
      read: true,
      method: 'GET',
      path: '/v1/articles?limit=20',
      headers: {},
      expect: 200,
      target: { text: '≥ 0.45× baseline', ratio: 0.45 }
    },
    {
      id: 'list-tag',
      route: 'GET /v1/articles?tag=',
      label: 'GET list by tag',
      read: true,
      method: 'GET',
      path: `/v1/articles?limit=20&tag=${encodeURIComponent(f.tagSlug)}`,
      headers: {},
      expect: 200
    },
    {
      id: 'search',
      route: 'GET /v1/articles?q=',
      label: 'GET search (?q=)',
      read: true,
      method: 'GET',
      path: `/v1/articles?limit=20&q=${encodeURIComponent(f.searchTerm)}`,
      headers: {},
      expect: 200,
      target: { text: '≥ 0.2× baseline', ratio: 0.2 },
      // Before search exists, `q` is either refused as an unknown parameter or ignored (no snippets).
      missing: (status, body) => {
        if (status === 400 || status === 422) return `?q= answered ${status}: search is not on this build`
        if (status === 200 && !body.includes('"snippet"')) return '?q= answered without snippets: search is not on this build'
        return undefined
      }
    },
    {
      id: 'comments',
      route: 'GET /v1/articles/{slug}/comments',
      label: `GET ${f.busyComments} comments`,
      read: true,
      method: 'GET',
      path: `/v1/articles/${f.busySlug}/comments?limit=100`,
      headers: {},
      expect: 200
    },
    {
      id: 'feed',
      route: 'GET /feeds/atom',
      label: 'GET Atom feed (20)',
      read: true,
      method: 'GET',
      path: '/feeds/atom',
      headers: {},
      expect: 200
    },
    {
      id: 'news-sitemap',
      route: 'GET /sitemaps/news.xml',
      label: 'GET news sitemap',
      read: true,
      method: 'GET',
      path: '/sitemaps/news.xml',
      headers: {},
      expect: 200
    },
    {
      id: 'sitemap-page',
      route: 'GET /sitemaps/articles-{n}.xml',
      label: 'GET sitemap page',
      read: true,
      method: 'GET',
      path: `/sitemaps/articles-${f.sitemapPage}.xml`,
      headers: {},
      expect: 200
    },
    {
      id: 'post-comment',
      route: 'POST /v1/articles/{slug}/comments',
      label: 'POST comment',
      read: false,
      method: 'POST',
      path: `/v1/articles/${f.commentSlug}/comments`,
      headers: json,
      // Each request comes from its own client address (the server trusts the loopback proxy), so the
      // per-IP flood control is exercised without turning the run into a stream of 429s.
      perRequestHeaders: (n) => ({ 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` }),
      body: (n) => JSON.stringify({
        authorName: `Reader ${n}`,
        authorEmail: `reader${n % 5000}@example.com`,
        body: `Comment number ${n}: **thanks** for the report on ${f.searchTerm}.`
      }),
      expect: 201,
      target: { text: '≥ 2000 req/s, p99 ≤ 50 ms', rps: 2000, p99: 50 }
    },
    {
      id: 'patch-article',
      route: 'PATCH /v1/articles/{slug}',
      label: 'PATCH article',
      read: false,
      method: 'PATCH',
      path: `/v1/articles/${f.patchSlug}`,
      headers: { ...json, authorization: `Bearer ${adminToken}` },
      body: (n) => JSON.stringify({ summary: `Updated by the bench, change ${n}.` }),
      expect: 200
    }
  ]
}
