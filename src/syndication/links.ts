// The absolute URLs and ids that feeds and sitemaps give (API.md section 8). Everything else the API
// sends stays relative (Location, Link): only documents read away from the API carry absolute URLs.
//
// - The origin is PUBLIC_URL, or when it is unset the request's own (src/http/origin.ts).
// - An article's URL is its reader-facing page, ARTICLE_URL_TEMPLATE with these placeholders:
//   {PUBLIC_URL} (the origin above), {id}, {slug}, {section} (the section as a slug: "Politics &
//   Diplomacy" → politics-and-diplomacy; an article without one drops the segment), and {year}, {month},
//   {day} of its publication (UTC). The default is the API's own article URL.
// - The feeds' home link is the template up to its first article placeholder: the page above the
//   articles (`https://news.example/` for `https://news.example/{section}/{slug}`).
// - Entry ids are tag URIs (RFC 4151) made of the home's host, the day the item was created and its
//   id: `tag:news.example,2026-07-08:article/42`. Neither a new title nor a new slug changes them.
import { toSlug } from '../lib/slug.js'

export const DEFAULT_ARTICLE_URL_TEMPLATE = '{PUBLIC_URL}/v1/articles/{slug}'

const PLACEHOLDER = /\{([^{}]*)\}/g
const KNOWN = ['PUBLIC_URL', 'id', 'slug', 'section', 'year', 'month', 'day']

/** What an article's URL is made of. */
export interface LinkedArticle {
  id: number
  slug: string
  section: string | null
  publishedAt: number | null
}

type Part = string | ((a: LinkedArticle) => string)

// Sections are few and repeat on every URL of a sitemap page: slugify each once.
const sectionSlugs = new Map<string, string>()
function sectionSlug (section: string | null): string {
  if (section === null) return ''
  let slug = sectionSlugs.get(section)
  if (slug === undefined) {
    slug = toSlug(section)
    if (sectionSlugs.size >= 10_000) sectionSlugs.clear()
    sectionSlugs.set(section, slug)
  }
  return slug
}

const two = (n: number): string => String(n).padStart(2, '0')
const published = (a: LinkedArticle): Date => new Date(a.publishedAt ?? 0)

const values: Record<string, (a: LinkedArticle) => string> = {
  id: (a) => String(a.id),
  slug: (a) => a.slug,
  section: (a) => sectionSlug(a.section),
  year: (a) => String(published(a).getUTCFullYear()),
  month: (a) => two(published(a).getUTCMonth() + 1),
  day: (a) => two(published(a).getUTCDate())
}

function compile (template: string, origin: string): Part[] {
  const parts: Part[] = []
  let last = 0
  for (const match of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, match.index))
    const name = match[1]!
    parts.push(name === 'PUBLIC_URL' ? origin : values[name]!)
    last = match.index + match[0].length
  }
  parts.push(template.slice(last))
  return parts
}

function expand (parts: Part[], a: LinkedArticle, collapse: boolean): string {
  let url = ''
  for (const part of parts) url += typeof part === 'string' ? part : part(a)
  // An empty {section} leaves `//` in the path: one slash stands for the dropped segment.
  return collapse && a.section === null ? url.replace(/([^:/])\/{2,}/g, '$1/') : url
}

/** Why a template cannot be used, or undefined when it can. */
export function checkArticleUrlTemplate (template: string): string | undefined {
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (!KNOWN.includes(match[1]!)) return `has an unknown placeholder {${match[1]!}} (known: ${KNOWN.map((k) => `{${k}}`).join(', ')})`
  }
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) return 'has an unmatched { or }'
  if (!/\{(slug|id)\}/.test(template)) return 'must contain {slug} or {id}, so that every article has its own URL'
  const sample = expand(compile(template, 'https://api.news.example'), { id: 1, slug: 'a', section: 'World', publishedAt: 0 }, false)
  let url: URL
  try {
    url = new URL(sample)
  } catch {
    return 'must make absolute URLs: start it with https:// or {PUBLIC_URL}'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must make http or https URLs'
  if (/[\s"<>\\^`|]/.test(sample)) return 'must not contain spaces, quotes, <, >, \\, ^, ` or |'
  const other = expand(compile(template, 'https://api.news.example'), { id: 2, slug: 'b', section: 'Sport', publishedAt: 4e12 }, false)
  try {
    if (new URL(other).origin !== url.origin) return 'must keep its placeholders out of the scheme and host'
    publicLinks(template, 'https://api.news.example')
  } catch {
    return 'must keep its placeholders out of the scheme and host'
  }
  return undefined
}

const DNS_NAME = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/

export interface PublicLinks {
  /** The public origin (PUBLIC_URL or the request's), without a trailing slash. */
  origin: string
  /** The page above the articles: feeds' home link. */
  home: string
  /** The reader-facing page of an article. */
  article: (a: LinkedArticle) => string
  /** An absolute URL of this API: `path` starts with `/`. */
  api: (path: string) => string
  /** The stable id of an article or a comment in feeds. */
  entryId: (kind: 'article' | 'comment', item: { id: number, createdAt: number }) => string
}

export function publicLinks (template: string, origin: string): PublicLinks {
  const parts = compile(template, origin)
  const collapse = template.includes('{section}')
  const first = template.search(/\{(?!PUBLIC_URL\})/)
  const above = template.slice(0, first === -1 ? template.length : first)
  const homePath = above.slice(0, above.lastIndexOf('/') + 1).replace(/\{PUBLIC_URL\}/g, origin)
  const home = new URL(homePath).pathname === '/' ? homePath : homePath.replace(/\/+$/, '')
  const host = new URL(home).hostname
  // A tag URI's authority is a domain name; an IP literal of IPv6 cannot be one.
  const authority = DNS_NAME.test(host) ? host : 'localhost'
  return {
    origin,
    home,
    article: (a) => expand(parts, a, collapse),
    api: (path) => `${origin}${path}`,
    entryId: (kind, item) => `tag:${authority},${new Date(item.createdAt).toISOString().slice(0, 10)}:${kind}/${item.id}`
  }
}
