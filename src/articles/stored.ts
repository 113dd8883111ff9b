// Each article's representation, serialised when the article is written, so that a GET of an article from
// the database is one prepared statement and a splice instead of an assembly (row with its body, tag
// lookup, mapping, serialisation escaping the body HTML, sha256 of the whole: issue 17, plan item 4).
//
// What is stored (table article_representations, one row per article, written by
// src/articles/repository.ts in the same transaction as the article's row): the Article JSON exactly as
// its schema serialises it, with two things cut out because they change without the article being
// written:
// - the tags' contents (between `"tags":[` and `]`): renaming, re-slugging or deleting a tag changes every
//   article that carries it, possibly 200,000 (issue 18's bounded cost); rewriting them all, or serving
//   them stale while a sweeper catches up, are both worse than naming them at read time: the read's
//   statement takes the tag ids from article_tags, in the editor's order, and the process's dictionary of
//   tag names (../tags/tag-refs.ts) names them, non-deleted tags only (tagReader's rule);
// - the digits of commentCount: it changes with every approved comment, moderation and erasure, and those
//   writes must stay cheap (POST comment ≥ 3,000 req/s); the count is read from the article's row in the
//   same statement and spliced in.
// Both cut points lie before the body (the schema lists body and bodyHtml last) and are stored (`tags_at`,
// `count_at`: UTF-16 offsets into `json`), so the read neither parses nor searches the JSON.
//
// The ETag is sha256 over the stored part's hash (`hash`, computed at write time), the count and the tags'
// JSON (~100 bytes hashed per read instead of the 2–8 KB body and its HTML). It is a strong validator:
// different bytes make a different input. Every Article answer (GET, POST, PATCH, a revision's restore) and
// every If-Match on an article uses this one function, through `assemble` for a fresh answer.
//
// Visibility is decided by the read statement (the rule of src/articles/visibility.ts, publicAtText), never
// by what is stored: drafts have stored forms too (editors read them); a scheduled article is served by the
// public statement from the moment its publishedAt is due, with no write at that moment.
//
// Each article's summary, as lists show it, is stored the same way in a narrow table of its own
// (article_summaries, migrations/0016): the stored JSON up to its body (an ArticleSummary has the Article's
// fields in the same order, then `snippet` where the Article has its body), with the same two cuts. A list
// page's statement finds ids from indexes alone; `summaries` then reads each article's summary, tags and
// count by id (the count and the keyset's dates from articles_listed_idx), and the route puts the spliced
// items in the list's envelope. On SQLite an article's listed columns lie behind its 2–8 KB body in the
// row's overflow pages: a page of twenty read from the rows cost ~220 µs of statement time alone.
//
// The safety net: a trigger (migrations/0015; 0016 for summaries) deletes an article's stored form whenever
// a column it shows is updated; the writers store the new one after their UPDATE, in the same transaction.
// A write path that forgot to store leaves the article without a stored form, which a read then assembles
// afresh: slower, never stale (test/articles/stored-representation.test.ts fails on such a path). Rows
// written without a stored form (bench/generate.ts's bulk load, databases from before the migration, a
// process of an older version during a rolling upgrade) are filled by `backfill`, in slices, at start
// (src/plugins/upkeep.ts).
import { createHash } from 'node:crypto'
import type { Statement } from 'better-sqlite3'
import fastJson from 'fast-json-stringify'
import type { Db } from '../db/connection.js'
import { sharedSchemas } from '../components.js'
import type { TagRef } from '../tags/schemas.js'
import type { Page } from '../http/pagination.js'
import type { Article, ArticleSummary } from './schemas.js'
import { publicAtText, type Visibility } from './visibility.js'
import { namedTags, TAG_REFS_VERSION_SQL, withSettledTags } from '../tags/tag-refs.js'

/** The stored form of one article (a row of article_representations but its id). */
export interface StoredForm {
  json: string
  tagsAt: number
  countAt: number
  hash: string
}

/** An article's answer: the bytes, their ETag, and what a cache must know of it (its id, its tags' slugs). */
export interface ArticleAnswer {
  id: number
  payload: string
  etag: string
  tagSlugs: string[]
}

// Fastify's serializer compiler (@fastify/fast-json-stringify-compiler) builds route serialisers the same
// way: fast-json-stringify over the schema, with the app's shared schemas as externals. Built on first use:
// components.ts imports the routes' modules, which import this one.
interface Serialisers {
  article: (article: Article) => string
  tag: (tag: TagRef) => string
  summary: (summary: ArticleSummary) => string
  list: (list: { data: [], page: Page<string>['page'] }) => string
  text: (text: string) => string
}
let serialisers: Serialisers | undefined
function serialiser (): Serialisers {
  if (serialisers === undefined) {
    const externals: Record<string, fastJson.Schema> = Object.fromEntries(sharedSchemas.map((s) => [(s as unknown as { $id: string }).$id, s as unknown as fastJson.Schema]))
    serialisers = {
      article: fastJson({ $ref: 'Article' }, { schema: externals }) as Serialisers['article'],
      tag: fastJson({ $ref: 'TagRef' }, { schema: externals }) as Serialisers['tag'],
      summary: fastJson({ $ref: 'ArticleSummary' }, { schema: externals }) as Serialisers['summary'],
      list: fastJson({ $ref: 'ArticleList' }, { schema: externals }) as Serialisers['list'],
      text: fastJson({ type: 'string' }) as Serialisers['text']
    }
  }
  return serialisers
}

const TAGS = ',"tags":['
const BODY = ',"body":'
const SNIPPET = ',"snippet":'
const STATUS = '],"status":'
const COUNT = ',"commentCount":'
const REVISION = ',"revision":'

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 27)

/** The ETag of an article whose stored part hashes to `hash`, with this count and these tags' JSON. */
export const articleEtag = (hash: string, count: string, tags: string): string => `"${sha256(`${hash}${count}:${tags}`)}"`

/** The tags' JSON as it sits between the brackets of `"tags":[…]`. */
export const tagsJson = (tags: readonly TagRef[]): string => tags.map(serialiser().tag).join(',')

/**
 * Cuts a serialised article into its stored form. The markers are found by position: every string value is
 * JSON-escaped (a `"` inside one is `\"`), so `,"tags":[` first occurs as the key, the first `],"status":`
 * after it closes the tags (tag names are strings), and so on; the test compares the splice with a fresh
 * serialisation after every kind of write.
 */
function cut (full: string): { stored: StoredForm, tags: string, count: string } {
  const tagsAt = full.indexOf(TAGS) + TAGS.length
  const tagsEnd = full.indexOf(STATUS, tagsAt)
  const countStart = full.indexOf(COUNT, tagsEnd) + COUNT.length
  const countEnd = full.indexOf(REVISION, countStart)
  if (tagsAt < TAGS.length || tagsEnd < 0 || countStart < COUNT.length || countEnd < 0) throw new Error('an Article serialised without its tags or commentCount')
  const json = full.slice(0, tagsAt) + full.slice(tagsEnd, countStart) + full.slice(countEnd)
  return {
    stored: { json, tagsAt, countAt: tagsAt + countStart - tagsEnd, hash: sha256(json) },
    tags: full.slice(tagsAt, tagsEnd),
    count: full.slice(countStart, countEnd)
  }
}

/**
 * The stored form of an article's summary (table article_summaries): the stored form's JSON up to its body.
 * An ArticleSummary has the Article's fields in the same order, then `snippet` where the Article has its body,
 * so the summary is the same bytes up to there; the item closes it (test/articles/stored-representation.test.ts
 * compares every list page with a fresh serialisation).
 */
export interface SummaryForm {
  json: string
  tagsAt: number
  countAt: number
}

/** The stored forms of an article (its representation's, its summary's), and its answer as a fresh assembly sends it. */
export function assemble (article: Article): { stored: StoredForm, summary: SummaryForm, answer: ArticleAnswer } {
  const payload = serialiser().article(article)
  const { stored, tags, count } = cut(payload)
  const bodyAt = stored.json.indexOf(BODY, stored.countAt)
  if (bodyAt < 0) throw new Error('an Article serialised without its body')
  return {
    stored,
    summary: { json: stored.json.slice(0, bodyAt), tagsAt: stored.tagsAt, countAt: stored.countAt },
    answer: { id: article.id, payload, etag: articleEtag(stored.hash, count, tags), tagSlugs: article.tags.map((t) => t.slug) }
  }
}

/** As tagsJson, from [slug, name] pairs in the editor's order (as reads give them). */
function pairsJson (pairs: TagPairs): string {
  const serialiseTag = serialiser().tag
  let tags = ''
  for (const [slug, name] of pairs) tags += (tags === '' ? '' : ',') + serialiseTag({ slug, name })
  return tags
}

/** A stored form with its tags and comment count put in their places. */
const spliced = ({ json, tagsAt, countAt }: SummaryForm, tags: string, count: string): string =>
  json.slice(0, tagsAt) + tags + json.slice(tagsAt, countAt) + count + json.slice(countAt)

/** A list item (ArticleSummary JSON) from a summary's stored form, its tags' pairs, its comment count and a search's snippet. */
export function summaryItem (form: SummaryForm, pairs: TagPairs, count: number, snippet: string | undefined): string {
  return spliced(form, pairsJson(pairs), String(count)) + (snippet === undefined ? '}' : `${SNIPPET}${serialiser().text(snippet)}}`)
}

/** A list item serialised afresh (an article without a stored summary; PostgreSQL's lists). */
export const freshItem = (summary: ArticleSummary): string => serialiser().summary(summary)

/** An ArticleList's JSON from its items, already serialised: the envelope is serialised empty and the items go in. */
export function listPayload (items: readonly string[], page: Page<string>['page']): string {
  const empty = serialiser().list({ data: [], page })
  const at = empty.indexOf('[]') + 1
  return empty.slice(0, at) + items.join(',') + empty.slice(at)
}

/** What a read of an article's stored form gives, beside its tags: its id, comment count and stored form. */
export interface StoredParts {
  id: number
  count: number
  json: string
  tagsAt: number
  countAt: number
  hash: string
}

/**
 * A row of the article reads below, as the driver gives it in raw mode (an array in the select's column
 * order): better-sqlite3 builds an object row by adding its properties one at a time, which cost a page's
 * summaries statement a quarter of its time (bench/README.md, "Raw rows").
 */
type StoredRow = [id: number, count: number, json: string | null, tagsAt: number | null, countAt: number | null, hash: string | null, tags: string, tagsVersion: number]

/** An article as a reader asked for it: its answer from the stored form, or its id when it has none yet. */
export type StoredRead = ArticleAnswer | { id: number, missing: true }

/**
 * An article's answer from its stored form, its row's comment count and its tags as [slug, name] pairs in
 * the editor's order: the splice both engines' reads make (SQLite's below, PostgreSQL's ./stored.pg.ts).
 */
export function storedAnswer (row: StoredParts, pairs: TagPairs): ArticleAnswer {
  const tags = pairsJson(pairs)
  const count = String(row.count)
  return { id: row.id, payload: spliced(row, tags, count), etag: articleEtag(row.hash, count, tags), tagSlugs: pairs.map(([slug]) => slug) }
}

/**
 * An article's tags as the reads below give them (tagCodes), in no particular order, as tag ids in the
 * editor's order. Sorted here rather than by `json_group_array(… ORDER BY position)`, whose sort in a
 * temporary B-tree per article cost a page of 20 about a quarter of its statement (bench/README.md, "Page
 * statements on the driver"). A code is the tag's position times 2^32 plus its id: sorted as numbers, they
 * are in the editor's order.
 */
export function inEditorsOrder (json: string): number[] {
  const codes = JSON.parse(json) as number[]
  if (codes.length > 1) codes.sort((a, b) => a - b)
  for (let i = 0; i < codes.length; i++) codes[i] = codes[i]! % TAG_CODE
  return codes
}

const TAG_CODE = 2 ** 32

/**
 * An article's tags (`article_id` = `of`) as codes (TAG_CODE): their ids, with their positions, without their
 * names, which the process's dictionary has (../tags/tag-refs.ts; naming them here, with a join to tags,
 * was a sixth of a list page's summaries statement). Then the version of the tags they are named at.
 */
const tagCodes = (of: string): string => `(SELECT json_group_array(at.position * ${TAG_CODE} + at.tag_id) FROM article_tags at WHERE at.article_id = ${of}) AS tags,
    ${TAG_REFS_VERSION_SQL} AS tagsVersion`

/** An article's tags as [slug, name] in the editor's order. */
export type TagPairs = readonly (readonly [slug: string, name: string])[]

/** The read of a list page's articles (`summaries` below), by their ids as a JSON array in the page's order. */
export const SUMMARIES_SQL = `SELECT n.id AS id, n.published_at AS publishedAt,
    n.updated_at AS updatedAt, n.comment_count AS count, s.json AS json, s.tags_at AS tagsAt, s.count_at AS countAt,
    ${tagCodes('n.id')}
  FROM json_each(?) j JOIN articles n INDEXED BY articles_listed_idx ON n.id = j.value
  LEFT JOIN article_summaries s ON s.article_id = n.id ORDER BY j.key`

/** A row of SUMMARIES_SQL, raw (as StoredRow). */
type ListedSummaryRow = [id: number, publishedAt: number | null, updatedAt: number, count: number, json: string | null, tagsAt: number | null, countAt: number | null, tags: string, tagsVersion: number]

/** An article of a list page as `summaries` reads it: its stored summary and what is spliced in, or `missing`. */
export type ListedSummary = { id: number, publishedAt: number | null, updatedAt: number } & (
  | { count: number, form: SummaryForm, tags: TagPairs }
  | { missing: true })

/** A statement in raw mode (rows as arrays), its columns checked once to be these, in this order: what the row's tuple type says. */
function raw<P extends unknown[], R> (statement: Statement<P, R>, columns: readonly string[]): Statement<P, R> {
  const names = statement.columns().map((c) => c.name)
  if (names.join() !== columns.join()) throw new Error(`a raw statement's columns are ${names.join()}, where ${columns.join()} were expected`)
  return statement.raw()
}

/** The statements of stored forms, prepared once for `db` (raw SQL: one statement per read, on the hot path). */
export function storedRepresentations (db: Pick<Db, '$client'>) {
  const sqlite = db.$client
  // The tags as codes (inEditorsOrder makes them ids in the editor's order), named from the dictionary, which
  // leaves deleted tags out at once (tagReader's rule).
  // The slug gives the id (articles_slug_unique holds it), and the status, date and comment count come from
  // articles_listed_idx: in the row itself they lie behind the body and its HTML, on overflow pages read for
  // every request (bench/README.md, "An article by slug from its indexes": 28–45 against 22–31 µs).
  const select = `SELECT a.id AS id, a.comment_count AS count, r.json AS json, r.tags_at AS tagsAt, r.count_at AS countAt, r.hash AS hash,
      ${tagCodes('a.id')}
    FROM articles s INDEXED BY articles_slug_unique JOIN articles a INDEXED BY articles_listed_idx ON a.id = s.id
    LEFT JOIN article_representations r ON r.article_id = a.id WHERE s.slug = ?`
  const READ_COLUMNS = ['id', 'count', 'json', 'tagsAt', 'countAt', 'hash', 'tags', 'tagsVersion']
  const publicRead = raw(sqlite.prepare<[string, number], StoredRow>(`${select} AND ${publicAtText('a.')}`), READ_COLUMNS)
  const anyRead = raw(sqlite.prepare<[string], StoredRow>(select), READ_COLUMNS)
  const put = sqlite.prepare<[number, string, number, number, string]>(
    'INSERT OR REPLACE INTO article_representations (article_id, json, tags_at, count_at, hash) VALUES (?, ?, ?, ?, ?)')
  const putSummary = sqlite.prepare<[number, string, number, number]>(
    'INSERT OR REPLACE INTO article_summaries (article_id, json, tags_at, count_at) VALUES (?, ?, ?, ?)')
  const missingIn = sqlite.prepare<[number, number], number>(`SELECT a.id FROM articles a INDEXED BY articles_listed_idx
    WHERE a.id > ? AND a.id <= ? AND (NOT EXISTS (SELECT 1 FROM article_representations r WHERE r.article_id = a.id)
      OR NOT EXISTS (SELECT 1 FROM article_summaries s WHERE s.article_id = a.id)) ORDER BY a.id`).pluck()
  // A page's articles in the page's order (`ids`, a JSON array): what the row adds to each stored summary,
  // read from articles_listed_idx rather than the row's overflow pages, and the tags as `read` has them.
  const summariesOf = raw(sqlite.prepare<[string], ListedSummaryRow>(SUMMARIES_SQL),
    ['id', 'publishedAt', 'updatedAt', 'count', 'json', 'tagsAt', 'countAt', 'tags', 'tagsVersion'])
  const named = namedTags(sqlite)
  const lastId = sqlite.prepare<[number, number], number | null>('SELECT max(id) FROM (SELECT id FROM articles WHERE id > ? ORDER BY id LIMIT ?)').pluck()

  return {
    /** The article at `slug` if the caller sees it (visibility decided here, by the statement), or undefined. */
    read (slug: string, visibility: Visibility): StoredRead | undefined {
      // Again if the tags moved between the read and the look-up of names it needed (../tags/tag-refs.ts).
      return withSettledTags(() => {
        const row = visibility === null ? anyRead.get(slug) : publicRead.get(slug, visibility.visibleAt)
        if (row === undefined) return undefined
        const [id, count, json, tagsAt, countAt, hash, tags, version] = row
        if (json === null) return { id, missing: true }
        const ids = inEditorsOrder(tags)
        return storedAnswer({ id, count, json, tagsAt: tagsAt!, countAt: countAt!, hash: hash! }, named(version, [ids])[0]!)
      })
    },

    /** Stores an article's forms; inside the write's transaction, after its last UPDATE of the article's row. */
    store (id: number, stored: StoredForm, summary: SummaryForm): void {
      put.run(id, stored.json, stored.tagsAt, stored.countAt, stored.hash)
      putSummary.run(id, summary.json, summary.tagsAt, summary.countAt)
    },

    /**
     * The articles with these ids that still exist, in this order: each with its stored summary (or
     * `missing`, to be assembled afresh), its tags, comment count and dates. Visibility is the caller's
     * to have decided, in the same transaction.
     */
    summaries (ids: readonly number[]): ListedSummary[] {
      const rows = summariesOf.all(JSON.stringify(ids))
      if (rows.length === 0) return []
      // Named in the caller's transaction (the page's snapshot): the version cannot move under it.
      const pairs = named(rows[0]![8], rows.map((row) => inEditorsOrder(row[7])))
      return rows.map(([id, publishedAt, updatedAt, count, json, tagsAt, countAt], i) => json === null
        ? { id, publishedAt, updatedAt, missing: true }
        : { id, publishedAt, updatedAt, count, form: { json, tagsAt: tagsAt!, countAt: countAt! }, tags: pairs[i]! })
    },

    /**
     * One slice of the backfill: the articles with ids in (after, …] among the next `rows`, that lack a
     * stored form or a stored summary. Returns them (the caller stores each, in one transaction with this read) and the last id
     * looked at, or null when there was none (the backfill is done).
     */
    missing (after: number, rows: number): { ids: number[], last: number | null } {
      const last = lastId.get(after, rows) ?? null
      return { ids: last === null ? [] : missingIn.all(after, last), last }
    }
  }
}

export type StoredRepresentations = ReturnType<typeof storedRepresentations>
