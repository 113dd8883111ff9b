// GET /sitemap.xml (a sitemap index), /sitemaps/articles-{n}.xml (the visible articles with ids
// (n-1)×10,000+1 to n×10,000, each with its lastmod, latest first) and /sitemaps/news.xml (Google News: articles
// published in the last 48 hours). A page is a fixed block of ids, so it is one range of an index
// however many articles there are (src/syndication/repository.ts); a block may hold fewer than 10,000
// URLs (drafts, deleted articles), and one with none is not listed and answers 404.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { dependencyKeys as dk } from '../db/change-clock.js'
import { NotFound } from '../http/errors.js'
import { publicOrigin } from '../http/origin.js'
import { problems } from '../http/schemas.js'
import { publicLinks } from '../syndication/links.js'
import { SITEMAP_PAGE_SIZE } from '../syndication/repository.js'
import { DocumentHeaders, documentResponse, NotModifiedDocument, originProblems } from '../syndication/responses.js'
import { newsUrlSet, sitemapIndex, urlSet } from './xml.js'

/** How far back the Google News sitemap goes, and how many URLs it lists at most (Google's limits). */
export const NEWS_WINDOW_MS = 48 * 3_600_000
export const NEWS_MAX_URLS = 1000

const XML = 'application/xml; charset=utf-8'
/** Which articles are public and when they changed (lastmod), and the public clock (Last-Modified). */
const SITEMAP_KEYS = [dk.articles, dk.publicClock]
const lastmodOf = (row: { publishedAt: number, updatedAt: number }): number => Math.max(row.publishedAt, row.updatedAt)

const xmlExample = (root: string) => ({ type: 'string', examples: [`<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">…</${root}>`] })
const response = (root: string, description: string) => ({
  200: documentResponse('application/xml', description, xmlExample(root)),
  304: NotModifiedDocument
})

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const repo = app.syndication
  const linksFor = (request: Parameters<typeof publicOrigin>[1]) => publicLinks(app.config.articleUrlTemplate, publicOrigin(app.config.publicUrl, request))

  /** The news window at `now`: its articles, and when the latest article to leave it left (0: none has). */
  async function newsWindow (now: number) {
    const since = now - NEWS_WINDOW_MS
    const rows = await repo.newsSince(since, now, NEWS_MAX_URLS)
    const dropped = await repo.lastPublishedAtOrBefore(since)
    return { rows, droppedAt: dropped === null ? 0 : dropped + NEWS_WINDOW_MS }
  }

  app.get('/sitemap.xml', {
    config: { publicCache: true, publicOrigin: true },
    schema: {
      tags: ['sitemaps'],
      operationId: 'getSitemapIndex',
      summary: 'Sitemap index',
      description: `A sitemaps.org sitemap index: one \`/sitemaps/articles-{n}.xml\` per block of ${SITEMAP_PAGE_SIZE.toLocaleString('en')} article ids that has a published article, with the latest \`lastmod\` of its URLs, and \`/sitemaps/news.xml\` while it lists anything. Empty when nothing is published.`,
      headers: DocumentHeaders,
      response: { ...response('sitemapindex', 'A sitemap index (`application/xml`).'), ...problems(412, 422), ...originProblems }
    }
  }, async (request, reply) => {
    const now = app.clock()
    const links = linksFor(request)
    const blocks = await repo.sitemapBlocks(now)
    const news = await newsWindow(now)
    const sitemaps = blocks.map((b) => ({ loc: links.api(`/sitemaps/articles-${b.block + 1}.xml`), lastmod: b.lastmod }))
    const newest = news.rows[0]
    if (newest !== undefined) sitemaps.push({ loc: links.api('/sitemaps/news.xml'), lastmod: Math.max(...news.rows.map(lastmodOf)) })
    const changedAt = Math.max(await repo.publicChangedAt(), news.droppedAt, ...sitemaps.map((s) => s.lastmod))
    return reply.represent(sitemapIndex(sitemaps), {
      contentType: XML,
      keys: SITEMAP_KEYS,
      modifiedAt: { at: changedAt, now },
      // news.xml leaves the index when its newest article leaves the window.
      holdsUntil: newest === undefined ? undefined : newest.publishedAt + NEWS_WINDOW_MS
    })
  })

  app.get('/sitemaps/articles-:page.xml', {
    config: { publicCache: true, publicOrigin: true },
    schema: {
      tags: ['sitemaps'],
      operationId: 'getArticleSitemap',
      summary: 'Sitemap of a block of articles',
      description: `The published articles with ids from (page − 1) × ${SITEMAP_PAGE_SIZE.toLocaleString('en')} + 1 to page × ${SITEMAP_PAGE_SIZE.toLocaleString('en')}, most recently changed first: each one's reader-facing URL (\`ARTICLE_URL_TEMPLATE\`) and \`lastmod\` (its last update or publication). A page with no published article is a 404; \`/sitemap.xml\` lists the others.`,
      params: Type.Object({
        page: Type.String({ pattern: '^[1-9][0-9]{0,8}$', description: 'The page number, from 1, in plain decimal.', examples: ['1'] })
      }, { additionalProperties: false }),
      headers: DocumentHeaders,
      response: { ...response('urlset', 'A sitemap (`application/xml`).'), ...problems(404, 412, 422), ...originProblems }
    }
  }, async (request, reply) => {
    const now = app.clock()
    const page = Number(request.params.page)
    const links = linksFor(request)
    const rows = await repo.sitemapPage(page - 1, now)
    if (rows.length === 0) throw new NotFound(`Sitemap page ${page} lists no article.`)
    const urls = rows.map((row) => ({ loc: links.article(row), lastmod: lastmodOf(row) }))
    let changedAt = await repo.publicChangedAt()
    for (const u of urls) if (u.lastmod > changedAt) changedAt = u.lastmod
    return reply.represent(urlSet(urls), { contentType: XML, keys: SITEMAP_KEYS, modifiedAt: { at: changedAt, now } })
  })

  app.get('/sitemaps/news.xml', {
    config: { publicCache: true, publicOrigin: true },
    schema: {
      tags: ['sitemaps'],
      operationId: 'getNewsSitemap',
      summary: 'Google News sitemap',
      description: `The articles published in the last 48 hours, newest first (at most ${NEWS_MAX_URLS}), with \`news:publication\` (\`PUBLIC_NAME\`, \`PUBLIC_LANGUAGE\`), \`news:publication_date\` and \`news:title\`. Empty when nothing was published in that time.`,
      headers: DocumentHeaders,
      response: {
        ...response('urlset', 'A Google News sitemap (`application/xml`).'),
        ...problems(412, 422),
        ...originProblems
      }
    }
  }, async (request, reply) => {
    const now = app.clock()
    const links = linksFor(request)
    const { rows, droppedAt } = await newsWindow(now)
    const oldest = rows[rows.length - 1]
    const xml = newsUrlSet({ name: app.config.publicName, language: app.config.publicLanguage },
      rows.map((row) => ({ loc: links.article(row), title: row.title, publishedAt: row.publishedAt })))
    const changedAt = Math.max(await repo.publicChangedAt(), droppedAt, ...rows.map(lastmodOf))
    return reply.represent(xml, {
      contentType: XML,
      keys: SITEMAP_KEYS,
      modifiedAt: { at: changedAt, now },
      // The oldest article leaves the window then.
      holdsUntil: oldest === undefined ? undefined : oldest.publishedAt + NEWS_WINDOW_MS
    })
  })
}

export default routes
