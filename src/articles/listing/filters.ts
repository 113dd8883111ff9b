// The article list's filters: who sees what and the status, section, dates, tags and authors, and a
// search's matches when they neither come from the statement's candidates nor drive the page.
import { and, eq, isNull, sql, type Placeholder, type SQL } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import type { Db } from '../../db/connection.js'
import { articleAuthors, articles, articleTags, tags } from '../../db/schema.js'
import type { ArticleCounts } from '../counts.js'
import { articleSearch } from '../search-index.js'
import { publicAtTerms } from '../visibility.js'
import type { ArticleListParams } from './index.js'

// A tag or author filter checks each article in the (tag, article) or (author, article) index, not in the
// primary key (article, tag): the articles of one tag lie together there, so the pages a page's checks touch
// stay in SQLite's cache (measured: bench/README.md#tag-filter-index). `sql(id)` checks the article whose id is `id`:
// when a tag or author drives the page, the others check its rows' article ids, so SQLite checks them
// before it seeks each article.
/** A tag or author filter as the request gives it: which tag (its id) or author (the name), and how many articles it has. */
export interface Membership { kind: 'tag' | 'author', key: number | string, size: number }
/** The SQL of the `i`th membership of a list, its tag id or author name the statement's placeholder `member<i>`. */
export type MemberSql = { sql: (id: SQL | SQLiteColumn) => SQL, drive: { table: typeof articleTags | typeof articleAuthors, id: SQLiteColumn, where: SQL } }

export function memberSql (kind: Membership['kind'], i: number): MemberSql {
  const key = sql.placeholder(`member${i}`)
  return kind === 'tag'
    ? {
        sql: (id) => sql`EXISTS (SELECT 1 FROM article_tags AS m INDEXED BY article_tags_tag_idx WHERE m.tag_id = ${key} AND m.article_id = ${id})`,
        drive: { table: articleTags, id: articleTags.articleId, where: and(eq(articleTags.tagId, key), eq(articles.id, articleTags.articleId))! }
      }
    : {
        sql: (id) => sql`EXISTS (SELECT 1 FROM article_authors AS m INDEXED BY article_authors_name_idx WHERE m.name = ${key} AND m.article_id = ${id})`,
        drive: { table: articleAuthors, id: articleAuthors.articleId, where: and(eq(articleAuthors.name, key), eq(articles.id, articleAuthors.articleId))! }
      }
}

/** Tag and author filters with their sizes (every article, drafts included); undefined when a tag does not exist. */
export function membershipsOf (db: Db, counts: ArticleCounts) {
  const tagsBySlug = db.select({ id: tags.id, n: tags.totalArticles }).from(tags)
    .where(and(eq(tags.slug, sql.placeholder('slug')), isNull(tags.deletedAt))).prepare()
  return async (p: ArticleListParams): Promise<Membership[] | undefined> => {
    const out: Membership[] = []
    for (const slug of new Set(p.tags)) {
      const tag = tagsBySlug.get({ slug })
      if (tag === undefined) return undefined
      out.push({ kind: 'tag', key: tag.id, size: tag.n })
    }
    if (p.author !== undefined) out.push({ kind: 'author', key: p.author, size: (await counts.stored('author', p.author)).total })
    return out
  }
}

/**
 * Whether the status filter takes the `+` hint: never. A section's pages and counts are served by its own
 * indexes ((section, status, published_at, id) when the status is given, (section, published_at, id) for
 * editors' every status), which SQLite prefers.
 */
export const HINT_STATUS = false

/**
 * `column op value`, with the unary `+` hint when `hinted`: SQLite then checks the bound on each row and
 * does not start or end an index range at it.
 */
export const hintedBound = (column: SQLiteColumn, op: '<=' | '>=', value: unknown, hinted: boolean): SQL =>
  sql`${sql.raw(hinted ? '+' : '')}${column} ${sql.raw(op)} ${value}`

/** Which bounds on published_at take the `+` hint (so they are not the index range), and whether the status does. */
export interface Hints { upper: boolean, lower: boolean, status: boolean }

/**
 * The WHERE of a statement, given its hints and the membership whose ids drive it (its join condition
 * instead of a check). `search`: the full-text query, and whether its matches are few enough to be a list
 * (at most LISTED_MATCHES), when they are checked here (a ranked search's matches, and those of a search
 * driving the page, come from its candidates instead). `p` holds placeholders (see ./index.ts, `build`).
 */
export const listFilters = (p: ArticleListParams, members: MemberSql[], search: { fts: Placeholder, listed: boolean } | undefined) =>
  (h: Hints, drives: MemberSql | undefined): SQL | undefined => {
    const filters: (SQL | undefined)[] = []
    if (p.visibility !== null) filters.push(...publicAtTerms(p.visibility.visibleAt, { status: h.status, due: h.upper }))
    else if (p.status !== undefined) filters.push(sql`${sql.raw(h.status ? '+' : '')}${articles.status} = ${p.status}`)
    if (p.section !== undefined) filters.push(eq(articles.section, p.section))
    if (p.publishedAfter !== undefined) filters.push(hintedBound(articles.publishedAt, '>=', p.publishedAfter, h.lower))
    if (p.publishedBefore !== undefined) filters.push(hintedBound(articles.publishedAt, '<=', p.publishedBefore, h.upper))
    for (const m of members) filters.push(m === drives ? m.drive.where : m.sql(drives?.drive.id ?? articles.id))
    // Up to LISTED_MATCHES, a search's matches are a list each article is checked against; more are checked
    // per article in the full-text index.
    if (search !== undefined) {
      filters.push(search.listed
        // (`+id`: a list to check along the walk, never one to drive row by row from, sorting afterwards.)
        ? sql`+${articles.id} IN (SELECT ${articleSearch.rowid} FROM ${articleSearch} WHERE ${articleSearch} MATCH ${search.fts})`
        : sql`EXISTS (SELECT 1 FROM ${articleSearch} WHERE ${articleSearch} MATCH ${search.fts} AND ${articleSearch.rowid} = ${articles.id})`)
    }
    return and(...filters)
  }
export type Filters = ReturnType<typeof listFilters>
