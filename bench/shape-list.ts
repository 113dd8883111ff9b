// Every public request shape, generated from the OpenAPI document: each GET operation anyone may call,
// with each of its query parameters alone (every enum value, the fixtures for filters and searches),
// each sort against each filter, `include=total` against each filter, and page two of every list. A new
// route, parameter or enum value is measured by bench/shapes.ts without touching this file; a path or
// query parameter it cannot fill is reported as skipped, never silently dropped.
import Database from 'better-sqlite3'
import { SITEMAP_PAGE_SIZE } from '../src/syndication/repository.js'
import { findFixtures } from './scenarios.js'

export interface ShapeFixtures {
  /** An ordinary published article, the one with the most comments, an approved comment's id. */
  articleSlug: string
  busySlug: string
  commentId: number
  /** Tag slugs: on the most articles, of median popularity, on the fewest. */
  tags: { popular: string, median: string, rare: string }
  /** Prefixes of a tag name, one to three letters. */
  tagPrefixes: string[]
  section: string
  author: string
  /** RFC 3339 times a year and five years before the newest article. */
  dates: { recent: string, old: string }
  /** Search strings: rare and common words, phrases, prefixes of every length. */
  searches: string[]
  /** Sitemap pages (blocks of 10,000 article ids): the first, one in the middle, the last. */
  sitemapPages: string[]
}

export interface Shape {
  /** The operation, e.g. `GET /v1/articles`. */
  operation: string
  /** Path and query. */
  url: string
  /** Whether the shape is a list whose page two (its nextCursor) is measured too. */
  list: boolean
}

interface Schema { type?: string, enum?: unknown[], anyOf?: Schema[], const?: unknown, items?: Schema, $ref?: string, format?: string }
interface Parameter { in: string, name: string, schema?: Schema }
interface Operation { parameters?: Parameter[], security?: unknown[] }
export interface OpenApiDocument { paths: Record<string, Record<string, Operation>>, components?: { schemas?: Record<string, Schema> } }

/** Enum values of a schema: `enum`, or a union of constants (TypeBox's Type.Union of literals), through $refs. */
function enumValues (doc: OpenApiDocument, schema: Schema | undefined): string[] | undefined {
  if (schema === undefined) return undefined
  if (schema.$ref !== undefined) return enumValues(doc, doc.components?.schemas?.[schema.$ref.replace(/^.*\//, '')])
  if (schema.enum !== undefined) return schema.enum.map(String)
  if (schema.anyOf !== undefined) {
    const parts = schema.anyOf.map((s) => s.const !== undefined ? [String(s.const)] : enumValues(doc, s))
    return parts.every((p) => p !== undefined) ? parts.flat() as string[] : undefined
  }
  if (schema.type === 'array') return enumValues(doc, schema.items)
  return undefined
}

/** Values for a path parameter, by route and name. */
function pathValues (template: string, name: string, schema: Schema | undefined, doc: OpenApiDocument, f: ShapeFixtures): string[] | undefined {
  const values = enumValues(doc, schema)
  if (values !== undefined) return values
  if (template.startsWith('/v1/tags/') && name === 'slug') return [f.tags.popular, f.tags.rare]
  if (template.startsWith('/v1/articles/') && name === 'slug') return template.endsWith('/comments') ? [f.busySlug] : [f.articleSlug]
  if (template.startsWith('/v1/comments/') && name === 'id') return [String(f.commentId)]
  if (template.startsWith('/sitemaps/articles-') && name === 'page') return f.sitemapPages
  if (schema?.type === 'integer') return ['1']
  return undefined
}

/** Values for a query parameter: each alone is a shape. Arrays (repeatable parameters) are lists of values. */
function queryValues (template: string, p: Parameter, doc: OpenApiDocument, f: ShapeFixtures): string[][] | undefined {
  if (p.name === 'cursor') return [] // page two of each list shape, measured by following its nextCursor
  if (p.name === 'limit') return [['100']]
  if (p.name === 'q') return template === '/v1/tags' ? f.tagPrefixes.map((x) => [x]) : f.searches.map((x) => [x])
  // A feed of an article's comments: the article with the most.
  if (p.name === 'comments') return [[f.busySlug]]
  if (p.name === 'tag') {
    const one = [[f.tags.popular], [f.tags.median], [f.tags.rare]]
    // Two tags together where the parameter repeats (the article list); the feeds take one.
    return p.schema?.type === 'array' ? [...one, [f.tags.popular, f.tags.median]] : one
  }
  if (p.name === 'section') return [[f.section]]
  if (p.name === 'author') return [[f.author]]
  if (p.name === 'publishedAfter') return [[f.dates.recent], [f.dates.old]]
  if (p.name === 'publishedBefore') return [[f.dates.old]]
  const values = enumValues(doc, p.schema)
  if (values !== undefined) return values.map((v) => [v])
  if (p.schema?.type === 'integer') return [['1']]
  return undefined
}

const query = (params: [string, string[]][]): string => {
  const search = new URLSearchParams()
  for (const [name, values] of params) for (const v of values) search.append(name, v)
  const s = search.toString()
  return s === '' ? '' : `?${s}`
}

/** The shapes of every public GET operation (no `security` of its own), and what could not be filled. */
export function shapesOf (doc: OpenApiDocument, f: ShapeFixtures, opts: { editor?: boolean } = {}): { shapes: Shape[], skipped: string[] } {
  const shapes: Shape[] = []
  const skipped: string[] = []
  for (const [template, ops] of Object.entries(doc.paths)) {
    const op = ops.get
    if (op === undefined) continue
    const operation = `GET ${template}`
    if (op.security !== undefined && opts.editor !== true) continue
    if (template.startsWith('/docs') || template.startsWith('/openapi')) continue
    const params = op.parameters ?? []
    // Every combination of path parameter values.
    let paths = [template]
    let unfilled: string | undefined
    for (const p of params.filter((x) => x.in === 'path')) {
      const values = pathValues(template, p.name, p.schema, doc, f)
      if (values === undefined) { unfilled = p.name; break }
      paths = paths.flatMap((path) => values.map((v) => path.replace(`{${p.name}}`, encodeURIComponent(v))))
    }
    if (unfilled !== undefined) { skipped.push(`${operation}: no value for path parameter ${unfilled}`); continue }

    const queryParams = params.filter((x) => x.in === 'query')
    const list = queryParams.some((p) => p.name === 'cursor')
    const valued: [string, string[][]][] = []
    for (const p of queryParams) {
      const values = queryValues(template, p, doc, f)
      if (values === undefined) { skipped.push(`${operation}: no value for query parameter ${p.name}`); continue }
      if (values.length > 0) valued.push([p.name, values])
    }
    const sorts = valued.find(([name]) => name === 'sort')?.[1] ?? []
    const includes = valued.find(([name]) => name === 'include')?.[1] ?? []
    const filters = valued.filter(([name]) => !['sort', 'include', 'limit'].includes(name))
    const seen = new Set<string>()
    const add = (params: [string, string[]][]): void => {
      for (const path of paths) {
        const url = path + query(params)
        if (seen.has(url)) continue
        seen.add(url)
        shapes.push({ operation, url, list })
      }
    }
    add([])
    for (const [name, values] of valued) for (const v of values) add([[name, v]])
    // Each sort and `include=total` against each filter value (the sort's own default included).
    for (const [name, values] of filters) {
      for (const v of values) {
        for (const s of sorts) add([[name, v], ['sort', s]])
        for (const i of includes) add([[name, v], ['include', i]])
      }
    }
  }
  return { shapes, skipped }
}

/** The searches a shape walk sends: selective and everywhere, words, phrases, prefixes of each length. */
export function searchStrings (commonWord: string, rareWord: string): string[] {
  const prefixes = Array.from({ length: Math.min(commonWord.length, 6) }, (_, i) => `${commonWord.slice(0, i + 1)}*`)
  return [
    rareWord, // in under 1% of articles
    commonWord, // in (nearly) every article of the generator's text
    'the', // a stop word
    `${commonWord} ${rareWord}`,
    'harbour council budget',
    `"${commonWord} council"`, // a phrase of common words
    '"harbour council budget election strike"', // a long phrase of common words that rarely occurs
    ...prefixes,
    `${rareWord.slice(0, 4)}*`,
    `"${rareWord.slice(0, 3)}"*`,
    'zzzzunmatched'
  ]
}

/** Fixtures for the shapes from a database generated by bench/generate.ts (or any Gazette database). */
export function findShapeFixtures (path: string, now: number): ShapeFixtures {
  const base = findFixtures(path, now)
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    const maxId = (db.prepare('SELECT max(id) AS id FROM articles').get() as { id: number | null }).id ?? 0
    const comment = db.prepare("SELECT id FROM comments WHERE status = 'approved' ORDER BY id DESC LIMIT 1").get() as { id: number } | undefined
    // Tag sizes from its index (tag_id, article_id), largest first.
    const tags = db.prepare('SELECT t.slug AS slug, t.name AS name, count(*) AS n FROM tags t JOIN article_tags at ON at.tag_id = t.id GROUP BY t.id ORDER BY n DESC, t.id')
      .all() as { slug: string, name: string, n: number }[]
    const section = db.prepare('SELECT section FROM articles WHERE id >= ? AND section IS NOT NULL ORDER BY id LIMIT 1')
      .get(Math.floor(maxId / 3)) as { section: string } | undefined
    const author = db.prepare('SELECT name FROM article_authors WHERE article_id >= ? ORDER BY article_id LIMIT 1').get(Math.floor(maxId / 3)) as { name: string } | undefined
    const newest = db.prepare("SELECT max(published_at) AS at FROM articles WHERE status = 'published' AND published_at <= ?").get(now) as { at: number | null }
    if (!comment || tags.length < 3 || !section || !author || newest.at === null) throw new Error(`${path} has too little data for a shape walk`)
    const year = 365 * 86_400_000
    const popular = tags[0]!
    return {
      articleSlug: base.articleSlug,
      busySlug: base.busySlug,
      commentId: comment.id,
      tags: { popular: popular.slug, median: tags[Math.floor(tags.length / 2)]!.slug, rare: tags[tags.length - 1]!.slug },
      tagPrefixes: [1, 2, 3].map((n) => popular.name.slice(0, n)),
      section: section.section,
      author: author.name,
      dates: { recent: new Date(newest.at - year).toISOString(), old: new Date(newest.at - 5 * year).toISOString() },
      searches: searchStrings('minister', base.searchTerm),
      sitemapPages: [...new Set([1, Math.ceil(maxId / SITEMAP_PAGE_SIZE / 2), Math.ceil(maxId / SITEMAP_PAGE_SIZE)].map((n) => String(Math.max(1, n))))]
    }
  } finally {
    db.close()
  }
}
