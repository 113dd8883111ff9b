// What a bench run measures: the scenarios of issues 8 and 17, their targets, and the database rows they use.
import Database from 'better-sqlite3'
import { searchTerm } from './content.js'
import { BUSY_COMMENTS } from './generate.js'
import type { Load, Writer } from './measure.js'

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

/** How many articles the spread and mixed scenarios read. */
export const SPREAD_ARTICLES = 2000
/** Comments a second the mixed scenarios' writer posts. */
export const MIXED_COMMENTS_PER_SECOND = 20

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
  /**
   * SPREAD_ARTICLES published articles open to comments, evenly spaced over the archive by id (all of
   * them on a smaller database), the other scenarios' articles excluded.
   */
  spreadSlugs: string[]
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
    // One index seek per step along the ids (a scan would read every body of a million-article file).
    const next = db.prepare(`SELECT slug FROM articles WHERE id >= @from AND ${visible} ORDER BY id LIMIT 1`).pluck()
    // Not the articles other scenarios read or write: the writer's comments would change their answers.
    const taken = new Set([article.slug, busy.slug, ...oldest.map((o) => o.slug)])
    const spread = new Set<string>()
    const step = Math.max(1, maxId / SPREAD_ARTICLES)
    // Two seeks can land on the same article (a draft between them): later passes fill in between.
    for (let pass = 0; pass < 4 && spread.size < SPREAD_ARTICLES; pass++) {
      for (let from = 1 + pass * step / 4; from <= maxId && spread.size < SPREAD_ARTICLES; from += step) {
        const slug = next.get({ from: Math.floor(from), now }) as string | undefined
        if (slug !== undefined && !taken.has(slug)) spread.add(slug)
      }
    }
    return {
      articleSlug: article.slug,
      tagSlug: tag.slug,
      tagArticles: tag.n,
      searchTerm,
      busySlug: busy.slug,
      busyComments: busy.n,
      commentSlug: oldest[0]!.slug,
      patchSlug: oldest[1]!.slug,
      sitemapPage,
      spreadSlugs: [...spread]
    }
  } finally {
    db.close()
  }
}

const json = { 'content-type': 'application/json' }

/** Each request from its own client address (the server trusts the loopback proxy): flood control runs, 429s do not. */
const clientAddress = (n: number): Record<string, string> => ({ 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` })

/**
 * The mixed scenarios' writer: 20 comments a second, each on one of the articles the readers read, by one
 * of the generator's 500 readers (each has approved comments, so under the default moderation, `first`,
 * every comment is approved at once: it changes the article's comment count and its thread, as a
 * reader's comment on a live site does).
 */
function commentWriter (f: Fixtures): Writer {
  const slugs = f.spreadSlugs
  return {
    rate: MIXED_COMMENTS_PER_SECOND,
    method: 'POST',
    // A multiplicative hash of the sequence number: spread over the articles, the same for every run.
    path: (n) => `/v1/articles/${slugs[(Math.imul(n, 0x9E3779B1) >>> 0) % slugs.length]!}/comments`,
    headers: (n) => ({ ...json, ...clientAddress(n) }),
    body: (n) => JSON.stringify({
      authorName: `Reader ${n % 500}`,
      authorEmail: `reader${n % 500}@example.com`,
      body: `Mixed-traffic comment ${n}: a reply to the report.`
    }),
    expect: 201,
    outcome: (body) => /"status":"(\w+)"/.exec(body)?.[1]
  }
}

/** The list's page of 20 at `page`, reached as a client does: by following nextCursor from the first. */
export async function deepPage (base: string, page: number): Promise<{ page: number, path: string }> {
  const first = '/v1/articles?limit=20'
  let path = first
  for (let n = 1; n < page; n++) {
    const res = await fetch(base + path)
    const body = await res.json() as { page?: { nextCursor: string | null } }
    const next = body.page?.nextCursor
    if (res.status !== 200 || next === null || next === undefined) throw new Error(`--deep-page ${page}: page ${n} answered ${res.status} and no next page`)
    path = `${first}&cursor=${next}`
  }
  return { page, path }
}

/**
 * The scenarios, with the targets of issue 17 for the response cache's mode: `cacheOff` (`--cache-mb 0`)
 * measures the reads from the database, where the targets are lower. With `deep`, the list's page at that
 * depth too (`--deep-page`; issue 16: page 1,000 within 1.5× of page 1).
 */
export function scenarios (f: Fixtures, adminToken: string, opts: { cacheOff?: boolean, deep?: { page: number, path: string } } = {}): Scenario[] {
  const cacheOff = opts.cacheOff === true
  const deep: Scenario[] = opts.deep === undefined
    ? []
    : [{
        id: 'list-deep',
        route: 'GET /v1/articles?cursor=',
        label: `GET list, page ${opts.deep.page.toLocaleString('en')}`,
        read: true,
        method: 'GET',
        path: opts.deep.path,
        headers: {},
        expect: 200
      }]
  const ratio = (min: number | undefined): { target?: Target } => min === undefined ? {} : { target: { text: `≥ ${min}× baseline`, ratio: min } }
  const spreadPaths = f.spreadSlugs.map((slug) => `/v1/articles/${slug}`)
  const writer = commentWriter(f)
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
      ...ratio(cacheOff ? 0.4 : 0.7)
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
      ...ratio(cacheOff ? 0.2 : 0.7)
    },
    ...deep,
    {
      id: 'list-tag',
      route: 'GET /v1/articles?tag=',
      label: 'GET list by tag',
      read: true,
      method: 'GET',
      path: `/v1/articles?limit=20&tag=${encodeURIComponent(f.tagSlug)}`,
      headers: {},
      expect: 200,
      ...ratio(cacheOff ? 0.2 : undefined)
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
      ...ratio(cacheOff ? 0.1 : 0.2),
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
      expect: 200,
      ...ratio(cacheOff ? 0.2 : undefined)
    },
    {
      id: 'spread',
      route: 'GET /v1/articles/{slug}',
      label: `GET ${f.spreadSlugs.length} articles, spread`,
      read: true,
      method: 'GET',
      path: spreadPaths[0]!,
      paths: spreadPaths,
      headers: {},
      expect: 200
    },
    {
      id: 'mixed',
      route: 'GET /v1/articles/{slug}',
      label: `GET ${f.spreadSlugs.length} articles + ${MIXED_COMMENTS_PER_SECOND} comments/s`,
      read: true,
      method: 'GET',
      path: spreadPaths[0]!,
      paths: spreadPaths,
      headers: {},
      writer,
      expect: 200,
      target: { text: '≥ 0.5× baseline', ratio: 0.5 }
    },
    {
      id: 'mixed-front',
      route: 'GET /v1/articles',
      label: `GET front page + ${MIXED_COMMENTS_PER_SECOND} comments/s`,
      read: true,
      method: 'GET',
      path: '/v1/articles?limit=20',
      headers: {},
      writer,
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
      perRequestHeaders: clientAddress,
      body: (n) => JSON.stringify({
        authorName: `Reader ${n}`,
        authorEmail: `reader${n % 5000}@example.com`,
        body: `Comment number ${n}: **thanks** for the report on ${f.searchTerm}.`
      }),
      expect: 201,
      target: { text: '≥ 3000 req/s, p99 ≤ 20 ms', rps: 3000, p99: 20 }
    },
    {
      id: 'post-comment-spread',
      route: 'POST /v1/articles/{slug}/comments',
      label: `POST comment to ${f.spreadSlugs.length} articles`,
      read: false,
      method: 'POST',
      // The mixed scenarios' comments, alone and as fast as they go: each to one of the 2,000 articles
      // (uniformly at random), so the write touches scattered pages, as comments on a live site do.
      path: `/v1/articles/${f.spreadSlugs[0]!}/comments`,
      paths: f.spreadSlugs.map((slug) => `/v1/articles/${slug}/comments`),
      headers: json,
      perRequestHeaders: clientAddress,
      body: writer.body,
      expect: 201
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
