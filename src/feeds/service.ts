// What each feed holds: the newest articles the public may see (all, or a tag's, a section's, an
// author's), or one visible article's approved comments, as a FeedDocument that src/feeds/formats.ts
// writes in any format. Articles are chosen by the article list itself (src/articles/listing/), so a
// feed shows exactly what `GET /v1/articles` shows with the same filters, and its visibility rule.
import type { FastifyInstance } from 'fastify'
import { dependencyKeys as dk } from '../db/change-clock.js'
import type { ArticleListParams } from '../articles/repository.js'
import type { ArticleSummary } from '../articles/schemas.js'
import { invalid, NotFound } from '../http/errors.js'
import type { PublicLinks } from '../syndication/links.js'
import type { FeedDocument, FeedEntry } from './formats.js'
import type { FeedQuery } from './schemas.js'

export type FeedFormat = 'rss' | 'atom' | 'json'

/** A feed, or for the comments of an article known by an old slug, the slug to redirect to. */
export type FeedResult = { doc: FeedDocument, keys: string[], movedTo?: undefined } | { movedTo: string }

const DEFAULT_LIMIT = 20

/** The query string of a feed: its filters in a fixed order, then `limit` when `withLimit`. */
function feedQueryString (q: FeedQuery, withLimit: boolean): string {
  const params = new URLSearchParams()
  for (const name of ['tag', 'section', 'author', 'comments'] as const) {
    const value = q[name]
    if (value !== undefined) params.set(name, value)
  }
  if (withLimit && q.limit !== undefined && q.limit !== DEFAULT_LIMIT) params.set('limit', String(q.limit))
  const query = params.toString()
  return query === '' ? '' : `?${query}`
}

export function feedService (app: FastifyInstance) {
  const { publicName, publicLanguage } = app.config

  function frame (q: FeedQuery, links: PublicLinks, about: { title: string, description: string, home: string }, entries: FeedEntry[], changedAt: number): FeedDocument {
    const url = (format: FeedFormat, withLimit: boolean) => links.api(`/feeds/${format}${feedQueryString(q, withLimit)}`)
    return {
      id: url('atom', false),
      ...about,
      self: { rss: url('rss', true), atom: url('atom', true), json: url('json', true) },
      language: publicLanguage,
      publisher: publicName,
      updated: Math.max(changedAt, ...entries.map((e) => e.updated)),
      entries
    }
  }

  function articleEntry (a: ArticleSummary, bodyHtml: string, links: PublicLinks): FeedEntry {
    const published = Date.parse(a.publishedAt ?? a.createdAt)
    return {
      id: links.entryId('article', { id: a.id, createdAt: Date.parse(a.createdAt) }),
      url: links.article({ id: a.id, slug: a.slug, section: a.section, publishedAt: published }),
      title: a.title,
      summary: a.summary,
      contentHtml: bodyHtml,
      published,
      // A scheduled article edited before it was due is new when it appears.
      updated: Math.max(Date.parse(a.updatedAt), published),
      authors: a.authors.map((name) => ({ name, url: null })),
      categories: a.tags.map((t) => ({ term: t.slug, label: t.name })),
      image: a.image,
      via: a.canonicalUrl,
      commentsFeed: links.api(`/feeds/rss?comments=${a.slug}`)
    }
  }

  const listParams = (now: number, limit: number, q: Pick<FeedQuery, 'tag' | 'section' | 'author'>): ArticleListParams => ({
    limit,
    after: undefined,
    visibility: { visibleAt: now },
    status: 'published',
    tags: q.tag === undefined ? [] : [q.tag],
    section: q.section,
    author: q.author,
    publishedAfter: undefined,
    publishedBefore: undefined,
    search: undefined,
    sort: '-publishedAt',
    withTotal: false
  })

  /** Whether the public can see at least one article matching this one filter. */
  async function anyVisible (now: number, filter: Pick<FeedQuery, 'tag' | 'section' | 'author'>): Promise<boolean> {
    return (await app.articles.list(listParams(now, 1, filter))).rows.length > 0
  }

  async function articles (q: FeedQuery, links: PublicLinks, now: number): Promise<FeedResult> {
    const limit = q.limit ?? DEFAULT_LIMIT
    const { rows, toSummary } = await app.articles.list(listParams(now, limit, q))
    const shown = rows.slice(0, limit).map(toSummary)
    let tagName = q.tag === undefined ? undefined : shown[0]?.tags.find((t) => t.slug === q.tag)?.name
    if (shown.length === 0) {
      // An empty feed for filters that each match something, a 404 for one that matches nothing the
      // public may see (a tag, section or author of drafts only is as unknown as a made-up one).
      if (q.tag !== undefined) {
        tagName = (await app.tags.findBySlug(q.tag, { visibleAt: now }))?.name
        if (tagName === undefined || !await anyVisible(now, { tag: q.tag })) throw new NotFound(`No tag "${q.tag}".`)
      }
      if (q.section !== undefined && !await anyVisible(now, { section: q.section })) throw new NotFound(`No section "${q.section}".`)
      if (q.author !== undefined && !await anyVisible(now, { author: q.author })) throw new NotFound(`No author "${q.author}".`)
    }
    const bodies = await app.syndication.bodiesOf(shown.map((a) => a.id))
    const entries = shown.map((a) => articleEntry(a, bodies.get(a.id) ?? '', links))
    const slice = [
      tagName === undefined ? undefined : `tagged “${tagName}”`,
      q.section === undefined ? undefined : `in ${q.section}`,
      q.author === undefined ? undefined : `by ${q.author}`
    ].filter((part) => part !== undefined)
    const about = slice.length === 0
      ? { title: publicName, description: `The latest articles from ${publicName}.` }
      : { title: `${publicName}: ${[tagName, q.section, q.author].filter((p) => p !== undefined).join(' · ')}`, description: `The latest articles ${slice.join(' ')}, from ${publicName}.` }
    // Which articles, with what (a tag's name included): list:articles; Last-Modified: the public clock.
    return { doc: frame(q, links, { ...about, home: links.home }, entries, await app.syndication.publicChangedAt()), keys: [dk.articles, dk.publicClock] }
  }

  async function comments (slug: string, q: FeedQuery, links: PublicLinks, now: number): Promise<FeedResult> {
    const visible = { visibleAt: now }
    const article = await app.articles.findRowBySlug(slug, visible)
    if (article === undefined) {
      const moved = await app.articles.findRenamed(slug, visible)
      if (moved !== undefined) return { movedTo: moved }
      throw new NotFound(`No article at "${slug}".`)
    }
    const limit = q.limit ?? DEFAULT_LIMIT
    // The public's thread: a comment's email, IP and user agent are not even read (and the entries are
    // built field by field).
    const { rows } = await app.comments.publicThread({ articleId: article.id, statuses: ['approved'], visibility: visible, sort: '-createdAt', after: undefined, limit, withTotal: false })
    const articleUrl = links.article(article)
    const entries: FeedEntry[] = rows.slice(0, limit).map((c) => ({
      id: links.entryId('comment', c),
      url: `${articleUrl}#comment-${c.id}`,
      title: `Comment on “${article.title}” by ${c.authorName}`,
      summary: null,
      contentHtml: c.bodyHtml,
      published: c.createdAt,
      updated: c.updatedAt,
      authors: [{ name: c.authorName, url: c.authorUrl }],
      categories: [],
      image: null,
      via: null,
      commentsFeed: null
    }))
    const changedAt = Math.max(await app.syndication.publicChangedAt(), article.updatedAt, article.publishedAt ?? 0)
    return {
      doc: frame(q, links, {
        title: `Comments on “${article.title}”`,
        description: `Approved comments on “${article.title}”, newest first, from ${publicName}.`,
        home: articleUrl
      }, entries, changedAt),
      // The article's comments, and the article (its title, its visibility) through its writes' comments key.
      keys: [dk.comments(article.id), dk.publicClock]
    }
  }

  return {
    async feed (q: FeedQuery, links: PublicLinks, now: number): Promise<FeedResult> {
      if (q.comments === undefined) return articles(q, links, now)
      const other = (['tag', 'section', 'author'] as const).find((name) => q[name] !== undefined)
      if (other !== undefined) throw invalid('query', `/${other}`, 'cannot be combined with comments')
      return comments(q.comments, q, links, now)
    }
  }
}

export type FeedService = ReturnType<typeof feedService>
