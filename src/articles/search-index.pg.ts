// A search on PostgreSQL (./search-index.ts is SQLite's): the terms as a tsquery over the articles' `search`
// document (title A, summary B, tags `#<id>` B, body C; migrations/pg/0002_triggers.sql), priced before it
// runs from search_terms with SQLite's limits (so both engines refuse the same searches, up to the
// stemmers' differences), ranked by ts_rank, and snippets from ts_headline escaped as on SQLite.
//
// The reader's text never reaches a query parser: each term's words become lexemes through to_tsvector
// (the `gazette` configuration: unaccented, stemmed), and the tsquery is assembled from quoted lexemes, so
// no character of the input can act as a tsquery operator.
import { sql, type SQL } from 'drizzle-orm'
import { executePrepared, type PgDb } from '../db/pg/connection.js'
import { namedTagsPg, shownTagIds, TAG_REFS_VERSION } from '../tags/tag-refs.pg.js'
import { tagRefsOf } from '../tags/tag-refs.js'
import type { TagRef } from '../tags/schemas.js'
import type { SearchTerm } from './search.js'
import { CLOSE, escapeHtml, markSnippet, marks, OPEN, PHRASE_LIMIT, PREFIX_WORDS, SearchRefused, TAG_MATCHES, type SearchPlan } from './search-index.js'

/** ts_rank's weights {D, C, B, A}: body 0.1, summary and tags 0.4, title 1.0 (SQLite's 10 : 4 : 4 : 1). */
const WEIGHTS = '{0.1, 0.1, 0.4, 1.0}'

/** As ./search-index.ts: a prefix whose words are in more articles than this may mean at most PREFIX_WORDS words. */
const PREFIX_MERGE = 20_000

/** A lexeme as a tsquery operand: quoted, with its quotes and backslashes escaped. */
const operand = (lexeme: string): string => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`

/** What termsOf reads of one term, and the version of search plans it was read at (migrations/pg/0013). */
type TermRead = { lexemes: string[], docs: number[], query: string, tags: { id: number, slug: string, n: number }[], version: number }

/** The version of what search plans are made of, as a statement reads it (migrations/pg/0013_search_plan_version.sql). */
export const SEARCH_PLAN_VERSION = sql<number>`(SELECT version FROM search_plan_version WHERE id = 1)`

/** A lexeme as a tsquery operand, in SQL, as operand() quotes it: in quotes (chr(39)), its backslashes (chr(92)) and quotes doubled. */
const QUOTED_LEXEME = sql.raw('chr(39) || replace(replace(l.lexeme, chr(92), chr(92) || chr(92)), chr(39), chr(39) || chr(39)) || chr(39)')

/** The tsquery of a plan as SQL (a bound parameter cast to tsquery). */
export const tsquery = (plan: SearchPlan): SQL => sql`${plan.fts}::tsquery`

/** Relevance, higher is better; float8 so that a cursor's decimal string compares exactly. */
export const rankOf = (search: SQL, plan: SearchPlan): SQL<number> => sql<number>`ts_rank(${WEIGHTS}::float4[], ${search}, ${tsquery(plan)})::float8`

export function searchPlannerPg (db: PgDb) {
  /**
   * Every term of a search read in one statement: its lexemes, in the order of its words (a repeated word
   * repeats), how many articles each is in (search_terms; 0 when none), its query (the lexemes as a phrase,
   * the last one a prefix for a prefix term: `('harbour' <-> 'wor':*)`), and the tags whose names that
   * query matches (at most TAG_MATCHES + 1). A term without a lexeme is left out. A term's query is built
   * here, where the tags are matched with it, and nowhere else: the plan takes it as it comes (its lexemes
   * quoted as operand() quotes, for operandsOf).
   *
   * A named statement: its text never varies, and PostgreSQL keeps a generic plan for it, made without the
   * terms, which saves planning it for every search (0.28 ms of PostgreSQL's time). The terms come as one
   * JSON array, of which PostgreSQL guesses the same number (100) whether it sees them or not: the generic
   * plan then costs less than the plans made with the terms (it also guesses a tenth of the tags' LIMIT),
   * and is kept. Given as arrays, whose length the planner reads, the plans made with the terms cost less,
   * and every search was planned afresh. A lone UTF-16 surrogate, which JSON writes as an escape that
   * jsonb refuses, becomes U+FFFD first, as the driver makes it in text. Each lexeme's count is a lookup of
   * its own (search_terms' key): joined, the generic plan read all of search_terms into a hash, 20–200 ms
   * with 100,000 words (test/pg/search-plan.test.ts).
   */
  async function termsOf (terms: SearchTerm[]): Promise<Map<number, TermRead>> {
    const { rows } = await executePrepared<TermRead & { i: number }>(db, sql`
      SELECT w.i::int AS i, w.lexemes, w.docs, w.query, ${SEARCH_PLAN_VERSION} AS version,
        (SELECT coalesce(json_agg(json_build_object('id', m.id, 'slug', m.slug, 'n', m.n)), '[]') FROM (
          SELECT id, slug, article_count AS n FROM tags
          WHERE deleted_at IS NULL AND to_tsvector('gazette'::regconfig, name) @@ w.query::tsquery LIMIT ${TAG_MATCHES + 1}) AS m) AS tags
      FROM (
        SELECT l.i, array_agg(l.lexeme ORDER BY l.p, l.lexeme) AS lexemes, array_agg(coalesce(l.docs, 0)::int ORDER BY l.p, l.lexeme) AS docs,
          '(' || string_agg(${QUOTED_LEXEME}, ' <-> ' ORDER BY l.p, l.lexeme) || CASE WHEN bool_or(l.prefix) THEN ':*' ELSE '' END || ')' AS query
        FROM (SELECT t.i, (t.term ->> 'prefix')::boolean AS prefix, w.lexeme, unnest(w.positions) AS p,
                (SELECT st.docs FROM search_terms st WHERE st.term = w.lexeme) AS docs
              FROM jsonb_array_elements(${JSON.stringify(terms.map((term) => ({ text: term.text.replace(/\p{Cs}/gu, '\uFFFD'), prefix: term.prefix })))}::jsonb) WITH ORDINALITY AS t(term, i),
                unnest(to_tsvector('gazette', t.term ->> 'text')) AS w) AS l
        GROUP BY l.i) AS w`)
    return new Map(rows.map((r) => [r.i - 1, r]))
  }

  /**
   * The text part of one term as tsquery text, and the most and the fewest articles it can match; a
   * refusal (not thrown: the caller throws the first of a search's, in the order of its terms).
   */
  async function textPart (term: SearchTerm, read: TermRead): Promise<{ query: string, estimate: number, least: number } | SearchRefused> {
    const words = read.lexemes
    const fixed = term.prefix ? words.slice(0, -1) : words
    const fixedDocs = fixed.length === 0 ? Infinity : Math.min(...read.docs.slice(0, fixed.length))
    if (fixed.length > 1 && fixedDocs > PHRASE_LIMIT) {
      return new SearchRefused(`the phrase "${term.text}" is made of words that are each in more than ${PHRASE_LIMIT.toLocaleString('en')} articles; add a less common word to it, or search for the words without quotes`)
    }
    if (!term.prefix) return { query: read.query, estimate: fixedDocs, least: fixed.length === 1 ? fixedDocs : 0 }
    const start = words.at(-1)!
    const { rows: [size] } = await executePrepared<{ words: number, docs: number | null }>(db, sql`
      SELECT count(*) AS words, sum(docs) AS docs FROM search_terms WHERE term >= ${start} AND term < ${`${start}\u{10FFFF}`} AND docs > 0`)
    const prefixDocs = size?.docs ?? 0
    if (prefixDocs > PREFIX_MERGE && (size?.words ?? 0) > PREFIX_WORDS) {
      return new SearchRefused(`"${term.text}*" starts more than ${PREFIX_WORDS} different words in many articles; type more of the word`)
    }
    if (fixed.length > 0 && Math.min(fixedDocs, prefixDocs) > PHRASE_LIMIT) {
      return new SearchRefused(`the phrase "${term.text}*" is made of words that are each in more than ${PHRASE_LIMIT.toLocaleString('en')} articles; add a less common word to it`)
    }
    return { query: read.query, estimate: Math.min(fixedDocs, prefixDocs), least: 0 }
  }

  /**
   * The tsquery of a search: each term must match in the title, summary or body, or through a tag whose
   * name it matches (`'#17' | '#42'`). Throws SearchRefused for a search too costly to run: the first
   * refusal in the order of the terms, each term's own before its tags'. With the version of search plans
   * the terms were read at (undefined when no term has a word: nothing was read).
   *
   * One statement whatever the number of terms (termsOf), and one more for each prefix term up to the
   * first refused (the words it starts), read after the terms: a plan may be newer than its version says,
   * never older.
   */
  async function planAt (terms: SearchTerm[]): Promise<{ plan: SearchPlan, version: number | undefined }> {
    const read = await termsOf(terms)
    const version = read.values().next().value?.version
    return { plan: await planOf(terms, read), version }
  }

  /** A search's plan from its terms as termsOf read them (planAt). */
  async function planOf (terms: SearchTerm[], read: Map<number, TermRead>): Promise<SearchPlan> {
    const groups: string[] = []
    const tagSlugs = new Set<string>()
    let estimate = Infinity
    let least = 0
    for (const [i, term] of terms.entries()) {
      const termRead = read.get(i)
      if (termRead === undefined) continue
      const text = await textPart(term, termRead)
      if (text instanceof SearchRefused) throw text
      const tags = termRead.tags
      if (tags.length > TAG_MATCHES) throw new SearchRefused(`"${term.text}${term.prefix ? '*' : ''}" names more than ${TAG_MATCHES} tags; type more of it`)
      for (const t of tags) tagSlugs.add(t.slug)
      groups.push(`(${[text.query, ...tags.map((t) => operand(`#${t.id}`))].join(' | ')})`)
      estimate = Math.min(estimate, text.estimate + tags.reduce((n, t) => n + t.n, 0))
      least = groups.length === 1 ? Math.max(text.least, ...tags.map((t) => t.n)) : 0
    }
    // Terms with no lexeme match nothing: a tsquery no document holds (`#` never starts a word's lexeme).
    if (groups.length === 0) return { fts: operand('#none'), estimate: 0, least: 0, tagSlugs }
    return { fts: groups.join(' & '), estimate: Number.isFinite(estimate) ? estimate : 0, least, tagSlugs }
  }

  return {
    planAt,

    /** A search's plan, as planAt makes it. */
    async plan (terms: SearchTerm[]): Promise<SearchPlan> {
      return (await planAt(terms)).plan
    },

    /** The version of search plans now (for a statement that read none: a page of no rows). */
    async version (): Promise<number> {
      const { rows: [row] } = await executePrepared<{ version: number }>(db, sql`SELECT ${SEARCH_PLAN_VERSION} AS version`)
      return row!.version
    },

    /** How many articles match, counting at most `limit` + 1. */
    async matchesUpTo (plan: SearchPlan, limit: number): Promise<number> {
      const { rows: [row] } = await db.execute<{ n: number }>(sql`
        SELECT count(*) AS n FROM (SELECT 1 FROM articles WHERE search @@ ${tsquery(plan)} LIMIT ${limit + 1}) AS m`)
      return row!.n
    }
  }
}

/** Stand-ins for `<` and `>` inside ts_headline (private-use characters, never letters), and their way back. */
const ANGLES = '\uE000\uE001'
const angles = (s: string): string => s.replaceAll('\uE000', '<').replaceAll('\uE001', '>')

/** The words of a plan's tsquery (operand() quoted them), exact and as prefixes; tag operands (`#…`) left out. */
export function operandsOf (fts: string): { exact: string[], prefixes: string[] } {
  const exact: string[] = []
  const prefixes: string[] = []
  for (const [, quoted, star] of fts.matchAll(/'((?:[^']|'')*)'(:\*)?/g)) {
    const lexeme = quoted!.replace(/''/g, "'").replace(/\\\\/g, '\\')
    if (lexeme.startsWith('#')) continue
    ;(star === undefined ? exact : prefixes).push(lexeme)
  }
  return { exact, prefixes }
}

/** A shown article as the excerpts' statement reads it: the excerpts of its title and summary, its body's hits, its tags. */
export interface ExcerptHeads { id: number, titleExcerpt: string | null, summaryExcerpt: string | null, bodyHits: number, tags: TagRef[] }

/** What the excerpts of a search are made with (the values of excerptColumns' placeholders). */
export function excerptValues (plan: SearchPlan): { fts: string, inBody: string | null, exact: string[], prefixes: string[], open: string } {
  const { exact, prefixes } = operandsOf(plan.fts)
  // Whether the body holds any of the words: each operand restricted to the body's weight (C), any of them
  // (NULL when the query has no word, only tags: no body then).
  const inBody = [...exact.map((l) => `${operand(l)}:C`), ...prefixes.map((l) => `${operand(l)}:*C`)].join(' | ')
  return { fts: plan.fts, inBody: inBody === '' ? null : inBody, exact, prefixes, open: OPEN }
}

/** ts_headline's options: the marks as the snippet code expects them, up to 32 words. */
const HEADLINE_OPTIONS = `StartSel="${OPEN}", StopSel="${CLOSE}", MaxWords=32, MinWords=16, ShortWord=0, HighlightAll=false`

/**
 * An excerpt of `column` for the query `fts`. ts_headline leaves out what its parser reads as an HTML tag
 * (`<script>`), where FTS5's snippet shows it (escaped): `<` and `>` go in as private-use characters, which
 * the parser reads as blanks, and come back before the snippet is escaped.
 */
const headline = (column: SQL, fts: SQL) => sql<string | null>`ts_headline('gazette', translate(${column}, '<>', ${ANGLES}), ${fts}::tsquery, ${HEADLINE_OPTIONS})`

/** How many marks an excerpt (SQL) holds, as marks() counts them: its opening sentinels. */
const marksIn = (excerpt: SQL): SQL<number> => sql<number>`coalesce((length(${excerpt}) - length(replace(${excerpt}, ${sql.placeholder('open')}, ''))) / length(${sql.placeholder('open')}), 0)`

/**
 * How many times the query's whole words (the placeholder `exact`) are in the summary, read from the search
 * document (weight B: the summary's words, and the tags' `#id`, which are never a query's words). In C
 * functions, not by unnesting: the summary's B positions, those of the query's words moved to weight A, then
 * only those kept; a position is a comma in the text form, or the first of its word. Only the query's words
 * are left, and they never hold a comma (parseSearch splits words at commas), though a document's other
 * lexemes may (a URL's path).
 */
const summaryHits = (search: SQL): SQL<number> => sql<number>`(SELECT length(x.hits::text) - length(replace(x.hits::text, ',', '')) + length(x.hits)
  FROM (SELECT ts_filter(setweight(ts_filter(${search}, '{b}'), 'a', ${sql.placeholder('exact')}::text[]), '{a}') AS hits OFFSET 0) AS x)`

/**
 * The columns of a shown article's excerpts over its `title`, `summary` and `search`, with excerptValues'
 * values as placeholders (fts, inBody, exact, prefixes, open), and `titleHead`, the lateral join that makes
 * the title's excerpt once (OFFSET 0: pulled up, the call would be made again wherever it is named), to follow
 * the table whose row it excerpts.
 *
 * Only the excerpts that could be shown are made (searchSnippets shows the one with most marks, the title's
 * on a tie). A mark is one occurrence of a query word, so an excerpt can have no more marks than its text
 * has occurrences, which the search document counts without the text being parsed again: ts_headline's
 * parsing is most of this statement's time (bench/README.md, "Excerpts only where they can win"). But for
 * text in angle brackets: the document has no word of what its parser reads as an HTML tag (`<harbour>`),
 * where the excerpt, made with the brackets translated (headline, above), marks it.
 * - The summary's excerpt is made only when the summary holds more of the query's words than the title's
 *   excerpt has marks, when the query has a prefix (its words are not known), or when the summary has a
 *   `<`: without it, the title's excerpt is shown, as it would have been. NULL otherwise, as for an
 *   article without a summary.
 * - The body's hits are counted only when it holds a word: unnesting a document (every lexeme and position)
 *   was most of this statement's time, and most matches are in the title and summary alone (bench/README.md,
 *   "PostgreSQL: list pages built once per shape"). Positions at 16383 are where a long body's later words
 *   all land (tsvector's limit): counted as many.
 */
export function excerptColumns (of: { title: SQL, summary: SQL, search: SQL }): { titleHead: SQL, titleExcerpt: SQL, summaryExcerpt: SQL, bodyHits: SQL } {
  const fts = sql`${sql.placeholder('fts')}`
  const title = sql`title_head.excerpt`
  return {
    titleHead: sql`CROSS JOIN LATERAL (SELECT ${headline(of.title, fts)} AS excerpt OFFSET 0) AS title_head`,
    titleExcerpt: title,
    summaryExcerpt: sql`CASE WHEN cardinality(${sql.placeholder('prefixes')}::text[]) > 0 OR strpos(${of.summary}, '<') > 0
        OR ${summaryHits(of.search)} > ${marksIn(title)}
      THEN ${headline(of.summary, fts)} END`,
    bodyHits: sql`CASE WHEN ${of.search} @@ ${sql.placeholder('inBody')}::tsquery THEN (SELECT CASE WHEN bool_or(p.at = 16383) THEN 1000000 ELSE count(*) END
        FROM unnest(${of.search}) AS u, unnest(u.positions, u.weights) AS p(at, weight)
        WHERE p.weight = 'C' AND (u.lexeme = ANY(${sql.placeholder('exact')}::text[])
          OR EXISTS (SELECT 1 FROM unnest(${sql.placeholder('prefixes')}::text[]) AS x(prefix) WHERE starts_with(u.lexeme, x.prefix)))) ELSE 0 END`
  }
}

/**
 * A search page's shown articles: their tags, in the editor's order (their ids here, named from the
 * process's dictionary: ../tags/tag-refs.pg.ts), and each one's best excerpt (searchSnippets). For a page
 * sorted by date; a ranked page reads them in its own statement (./listing/index.pg.ts). Named: the text
 * never varies.
 */
export async function searchPageExtrasPg (db: PgDb, plan: SearchPlan, ids: number[]): Promise<{ tags: Map<number, TagRef[]>, snippets: Map<number, string> }> {
  const columns = excerptColumns({ title: sql`title`, summary: sql`summary`, search: sql`search` })
  const { rows } = await executePrepared<Omit<ExcerptHeads, 'tags'> & { tagIds: number[], tagsVersion: number } & Record<string, unknown>>(db, sql`
    SELECT id, ${columns.titleExcerpt} AS "titleExcerpt", ${columns.summaryExcerpt} AS "summaryExcerpt", ${columns.bodyHits} AS "bodyHits",
      coalesce(shown_tags.tags, '{}') AS "tagIds", ${TAG_REFS_VERSION} AS "tagsVersion"
    FROM articles ${columns.titleHead} LEFT JOIN (${shownTagIds(sql`at.article_id = ANY(${sql.placeholder('ids')}::int[])`)}) AS shown_tags ON shown_tags.article_id = articles.id
    WHERE articles.id = ANY(${sql.placeholder('ids')}::int[])`, { ...excerptValues(plan), ids })
  if (rows.length === 0) return await searchSnippets(db, plan, ids, [])
  const named = await namedTagsPg(db, tagRefsOf(db), rows[0]!.tagsVersion, new Map(rows.map((r) => [r.id, r.tagIds])))
  return await searchSnippets(db, plan, ids, rows.map((r) => ({ ...r, tags: named.get(r.id)! })))
}

/**
 * Each shown article's best excerpt (./search-index.ts's snippetReader): title, summary or body, whichever
 * has the most matches (the first of them on a tie), matched words in <mark>, the rest HTML-escaped; for an
 * article found by a tag name alone, its tag names with the matching ones marked. `heads` come from
 * excerptColumns, with their tags (shownTagIds, named from the dictionary: ../tags/tag-refs.pg.ts).
 *
 * As on SQLite, the body's excerpt is asked for only where it could have more marks than the title's and
 * the summary's: ts_headline re-parses the 2–8 KB body (about 0.9 ms an article, 16 ms of a page of 18
 * on the bench's copy, against 3 ms for both heads). A mark is one occurrence of a query word, so the body
 * can have no more marks than its positions (weight C in the search document) of the query's words, which
 * bodyHits counts from the document without reading the text. The answer is the one all three excerpts
 * would give, but for a query word inside what PostgreSQL's parser reads as an HTML tag in the body
 * (`<harbour>`): the document does not hold it, the body's excerpt would mark it, and it is not counted.
 * (The summary's gate looks for a `<`, which costs little in a short summary; a body's look would read
 * the whole body out of TOAST.)
 */
export async function searchSnippets (db: PgDb, plan: SearchPlan, ids: number[], heads: ExcerptHeads[]): Promise<{ tags: Map<number, TagRef[]>, snippets: Map<number, string> }> {
  const tags = new Map<number, TagRef[]>(ids.map((id) => [id, []]))
  const best = new Map(heads.map((r) => {
    tags.set(r.id, r.tags)
    const head = marks(r.summaryExcerpt) > marks(r.titleExcerpt) ? r.summaryExcerpt : r.titleExcerpt
    return [r.id, { text: head, marks: marks(head), bodyMay: r.bodyHits > marks(head) }]
  }))
  const needBody = [...best].filter(([, b]) => b.bodyMay).map(([id]) => id)
  if (needBody.length > 0) {
    const { rows: bodies } = await executePrepared<{ id: number, body: string | null }>(db, sql`
      SELECT id, ${headline(sql`body`, sql`${sql.placeholder('fts')}`)} AS body FROM articles WHERE id = ANY(${sql.placeholder('ids')}::int[])`, { fts: plan.fts, ids: needBody })
    for (const r of bodies) {
      const b = best.get(r.id)!
      if (marks(r.body) > b.marks) best.set(r.id, { text: r.body, marks: marks(r.body), bodyMay: true })
    }
  }
  const snippets = new Map([...best].map(([id, b]) => {
    if (b.marks > 0) return [id, markSnippet(angles(b.text ?? ''))]
    const names = (tags.get(id) ?? []).map((t) => plan.tagSlugs.has(t.slug) ? `<mark>${escapeHtml(t.name)}</mark>` : escapeHtml(t.name))
    return [id, names.length > 0 ? names.join(' ') : markSnippet(angles(b.text ?? ''))]
  }))
  return { tags, snippets }
}
