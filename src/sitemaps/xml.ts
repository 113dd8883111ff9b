// Sitemaps as XML (https://www.sitemaps.org/protocol.html, and Google's News extension). Written by
// hand for speed (a page has up to 10,000 URLs), so every value goes through escapeXml, which escapes the
// five XML specials and drops characters XML cannot carry: URLs are made of checked parts, but titles and
// the publication's name are text anyone with a token typed.
import { escapeXml } from '../syndication/xml-text.js'

const SITEMAP_NS = 'http://www.sitemaps.org/schemas/sitemap/0.9'
const NEWS_NS = 'http://www.google.com/schemas/sitemap-news/0.9'
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

/** W3C Datetime (the sitemaps' date format), to the second, in UTC. */
export const w3cDate = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`

export interface SitemapUrl {
  loc: string
  lastmod: number
}

export function sitemapIndex (sitemaps: SitemapUrl[]): string {
  let xml = `${DECLARATION}<sitemapindex xmlns="${SITEMAP_NS}">\n`
  for (const s of sitemaps) xml += `<sitemap><loc>${escapeXml(s.loc)}</loc><lastmod>${w3cDate(s.lastmod)}</lastmod></sitemap>\n`
  return `${xml}</sitemapindex>\n`
}

export function urlSet (urls: SitemapUrl[]): string {
  let xml = `${DECLARATION}<urlset xmlns="${SITEMAP_NS}">\n`
  for (const u of urls) xml += `<url><loc>${escapeXml(u.loc)}</loc><lastmod>${w3cDate(u.lastmod)}</lastmod></url>\n`
  return `${xml}</urlset>\n`
}

/**
 * The language as Google News wants it: an ISO 639 code alone, except zh-cn and zh-tw for Simplified and
 * Traditional Chinese (`pt-br` → `pt`, `zh-hant-tw` → `zh-tw`).
 */
export function newsLanguage (tag: string): string {
  const [language = tag, ...rest] = tag.toLowerCase().split('-')
  if (language !== 'zh') return language
  return rest.some((part) => ['tw', 'hk', 'mo', 'hant'].includes(part)) ? 'zh-tw' : 'zh-cn'
}

export interface NewsUrl {
  loc: string
  title: string
  publishedAt: number
}

export function newsUrlSet (publication: { name: string, language: string }, urls: NewsUrl[]): string {
  const name = `<news:publication><news:name>${escapeXml(publication.name)}</news:name><news:language>${escapeXml(newsLanguage(publication.language))}</news:language></news:publication>`
  let xml = `${DECLARATION}<urlset xmlns="${SITEMAP_NS}" xmlns:news="${NEWS_NS}">\n`
  for (const u of urls) {
    xml += `<url><loc>${escapeXml(u.loc)}</loc><news:news>${name}<news:publication_date>${w3cDate(u.publishedAt)}</news:publication_date>` +
      `<news:title>${escapeXml(u.title)}</news:title></news:news></url>\n`
  }
  return `${xml}</urlset>\n`
}
