// A search on PostgreSQL (./search-index.ts is SQLite's): the terms as a tsquery over the articles' `search`
// document (title A, summary B, tags `#<id>` B, body C; migrations/pg/0002_triggers.sql), priced before it
// runs from search_terms with SQLite's limits (so both engines refuse the same searches, up to the
// stemmers' differences), ranked by ts_rank, and snippets from ts_headline escaped as on SQLite.
//
// The reader's text never reaches a query parser: each term's words become lexemes through to_tsvector
// (the `gazette` configuration: unaccented, stemmed), and the tsquery is assembled from quoted lexemes, so
// no character of the input can act as a tsquery operator.
import { inArray, sql, type SQL } from 'drizzle-orm'
import { articles } from '../db/pg/schema.js'
import type { PgDb } from '../db/pg/connection.js'
import type { SearchTerm } from './search.js'
import { CLOSE, escapeHtml, markSnippet, marks, OPEN, PHRASE_LIMIT, PREFIX_WORDS, SearchRefused, TAG_MATCHES, type SearchPlan } from './search-index.js'

/** ts_rank's weights {D, C, B, A}: body 0.1, summary and tags 0.4, title 1.0 (SQLite's 10 : 4 : 4 : 1). */
const WEIGHTS = '{0.1, 0.1, 0.4, 1.0}'

/** As ./search-index.ts: a prefix whose words are in more articles than this may mean at most PREFIX_WORDS words. */
const PREFIX_MERGE = 20_000

/** A lexeme as a tsquery operand: quoted, with its quotes and backslashes escaped. */
const operand = (lexeme: string): string => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`

/** The tsquery of a plan as SQL (a bound parameter cast to tsquery). */
export const tsquery = (plan: SearchPlan): SQL => sql`${plan.fts}::tsquery`

/** Relevance, higher is better; float8 so that a cursor's decimal string compares exactly. */
export const rankOf = (search: SQL, plan: SearchPlan): SQL<number> => sql<number>`ts_rank(${WEIGHTS}::float4[], ${search}, ${tsquery(plan)})::float8`

export function searchPlannerPg (db: PgDb) {
  /**
   * Each text's lexemes, in the order of its words (a repeated word repeats), and how many articles each is
   * in (search_terms; 0 when none): one statement for every term of a search. A text without a lexeme is
   * left out.
   */
  async function lexemesOf (texts: string[]): Promise<Map<number, { lexemes: string[], docs: number[] }>> {
    const { rows } = await db.execute<{ i: number, lexemes: string[], docs: number[] }>(sql`
      SELECT l.i::int AS i, array_agg(l.lexeme ORDER BY l.p, l.lexeme) AS lexemes, array_agg(coalesce(st.docs, 0)::int ORDER BY l.p, l.lexeme) AS docs
      FROM (SELECT t.i, w.lexeme, unnest(w.positions) AS p
            FROM unnest(${sql.param(texts)}::text[]) WITH ORDINALITY AS t(text, i), unnest(to_tsvector('gazette', t.text)) AS w) AS l
        LEFT JOIN search_terms st ON st.term = l.lexeme
      GROUP BY l.i`)
    return new Map(rows.map((r) => [r.i - 1, r]))
  }

  /**
   * The text part of one term as tsquery text, and the most and the fewest articles it can match; a
   * refusal (not thrown: the caller throws the first of a search's, in the order of its terms).
   */
  async function textPart (term: SearchTerm, read: { lexemes: string[], docs: number[] } | undefined): Promise<{ query: string, estimate: number, least: number } | SearchRefused | undefined> {
    if (read === undefined) return undefined
    const words = read.lexemes
    const fixed = term.prefix ? words.slice(0, -1) : words
    const fixedDocs = fixed.length === 0 ? Infinity : Math.min(...read.docs.slice(0, fixed.length))
    if (fixed.length > 1 && fixedDocs > PHRASE_LIMIT) {
      return new SearchRefused(`the phrase "${term.text}" is made of words that are each in more than ${PHRASE_LIMIT.toLocaleString('en')} articles; add a less common word to it, or search for the words without quotes`)
    }
    const phrase = (last: string[]) => `(${[...fixed.map(operand), ...last].join(' <-> ')})`
    if (!term.prefix) return { query: phrase([]), estimate: fixedDocs, least: fixed.length === 1 ? fixedDocs : 0 }
    const start = words.at(-1)!
    const { rows: [size] } = await db.execute<{ words: number, docs: number | null }>(sql`
      SELECT count(*) AS words, sum(docs) AS docs FROM search_terms WHERE term >= ${start} AND term < ${`${start}\u{10FFFF}`} AND docs > 0`)
    const prefixDocs = size?.docs ?? 0
    if (prefixDocs > PREFIX_MERGE && (size?.words ?? 0) > PREFIX_WORDS) {
      return new SearchRefused(`"${term.text}*" starts more than ${PREFIX_WORDS} different words in many articles; type more of the word`)
    }
    if (fixed.length > 0 && Math.min(fixedDocs, prefixDocs) > PHRASE_LIMIT) {
      return new SearchRefused(`the phrase "${term.text}*" is made of words that are each in more than ${PHRASE_LIMIT.toLocaleString('en')} articles; add a less common word to it`)
    }
    return { query: phrase([`${operand(start)}:*`]), estimate: Math.min(fixedDocs, prefixDocs), least: 0 }
  }

  /** The tags whose names each query matches (at most TAG_MATCHES + 1 each), by the query's index in `queries`: one statement. */
  async function tagsNamed (queries: string[]): Promise<Map<number, { id: number, slug: string, n: number }[]>> {
    const named = new Map<number, { id: number, slug: string, n: number }[]>()
    if (queries.length === 0) return named
    const { rows } = await db.execute<{ i: number, id: number, slug: string, n: number }>(sql`
      SELECT q.i::int AS i, m.id, m.slug, m.n
      FROM unnest(${sql.param(queries)}::text[]) WITH ORDINALITY AS q(query, i)
        CROSS JOIN LATERAL (SELECT id, slug, article_count AS n FROM tags
          WHERE deleted_at IS NULL AND to_tsvector('gazette'::regconfig, name) @@ q.query::tsquery LIMIT ${TAG_MATCHES + 1}) AS m`)
    for (const r of rows) named.set(r.i - 1, [...named.get(r.i - 1) ?? [], r])
    return named
  }

  return {
    /**
     * The tsquery of a search: each term must match in the title, summary or body, or through a tag whose
     * name it matches (`'#17' | '#42'`). Throws SearchRefused for a search too costly to run: the first
     * refusal in the order of the terms, each term's own before its tags'.
     *
     * Two statements whatever the number of terms, and one more for each prefix term (the words it
     * starts): every term's lexemes with their counts, then the tags every term's query names.
     */
    async plan (terms: SearchTerm[]): Promise<SearchPlan> {
      const read = await lexemesOf(terms.map((term) => term.text))
      // The terms up to the first refused, and the tags of those before it: the terms after it are never
      // priced (a prefix's statement) nor looked up among the tags.
      const parts: Array<Awaited<ReturnType<typeof textPart>>> = []
      for (const [i, term] of terms.entries()) {
        const part = await textPart(term, read.get(i))
        parts.push(part)
        if (part instanceof SearchRefused) break
      }
      const asked = parts.flatMap((part, i) => part === undefined || part instanceof SearchRefused ? [] : [{ i, query: part.query }])
      const named = await tagsNamed(asked.map((x) => x.query))
      const namedOf = new Map(asked.map((x, k) => [x.i, named.get(k) ?? []]))
      const groups: string[] = []
      const tagSlugs = new Set<string>()
      let estimate = Infinity
      let least = 0
      for (const [i, term] of terms.entries()) {
        const text = parts[i]
        if (text instanceof SearchRefused) throw text
        const tags = namedOf.get(i) ?? []
        if (tags.length > TAG_MATCHES) throw new SearchRefused(`"${term.text}${term.prefix ? '*' : ''}" names more than ${TAG_MATCHES} tags; type more of it`)
        if (text === undefined) continue
        for (const t of tags) tagSlugs.add(t.slug)
        groups.push(`(${[text.query, ...tags.map((t) => operand(`#${t.id}`))].join(' | ')})`)
        estimate = Math.min(estimate, text.estimate + tags.reduce((n, t) => n + t.n, 0))
        least = groups.length === 1 ? Math.max(text.least, ...tags.map((t) => t.n)) : 0
      }
      // Terms with no lexeme match nothing: a tsquery no document holds (`#` never starts a word's lexeme).
      if (groups.length === 0) return { fts: operand('#none'), estimate: 0, least: 0, tagSlugs }
      return { fts: groups.join(' & '), estimate: Number.isFinite(estimate) ? estimate : 0, least, tagSlugs }
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

/**
 * Each article's best excerpt (./search-index.ts's snippetReader): title, summary or body, whichever has
 * the most matches (the first of them on a tie), matched words in <mark>, the rest HTML-escaped; for an
 * article found by a tag name alone, its tag names with the matching ones marked.
 *
 * As on SQLite, the body's excerpt is asked for only where it could have more marks than the title's and
 * the summary's: ts_headline re-parses the 2–8 KB body (about 0.9 ms an article, 16 ms of a page of 18
 * on the bench's copy, against 3 ms for both heads). A mark is one occurrence of a query word, so the body
 * can have no more marks than its positions (weight C in the search document) of the query's words, which
 * the first statement counts from the document without reading the text. The answer is the one all three
 * excerpts would give.
 */
export async function snippetsOfPg (db: PgDb, plan: SearchPlan, ids: number[], tagsOf: Map<number, { slug: string, name: string }[]>): Promise<Map<number, string>> {
  const options = `StartSel="${OPEN}", StopSel="${CLOSE}", MaxWords=32, MinWords=16, ShortWord=0, HighlightAll=false`
  // ts_headline leaves out what its parser reads as an HTML tag (`<script>`), where FTS5's snippet shows it
  // (escaped): `<` and `>` go in as private-use characters, which the parser reads as blanks, and come back
  // before the snippet is escaped.
  const headline = (column: SQL) => sql<string | null>`ts_headline('gazette', translate(${column}, '<>', ${ANGLES}), ${tsquery(plan)}, ${options})`
  const { exact, prefixes } = operandsOf(plan.fts)
  // Whether the body holds any of the words: each operand restricted to the body's weight (C), any of them.
  // Only then are its hits counted: unnesting a document (every lexeme and position) was most of this
  // statement's time, and most matches are in the title and summary alone (bench/README.md, "PostgreSQL:
  // list pages built once per shape").
  const inBody = [...exact.map((l) => `${operand(l)}:C`), ...prefixes.map((l) => `${operand(l)}:*C`)].join(' | ')
  // Positions at 16383 are where a long body's later words all land (tsvector's limit): counted as many.
  const { rows: heads } = await db.execute<{ id: number, title: string | null, summary: string | null, bodyHits: number }>(sql`
    SELECT id, ${headline(sql`title`)} AS title, ${headline(sql`summary`)} AS summary,
      CASE WHEN ${inBody === '' ? sql`false` : sql`search @@ ${inBody}::tsquery`} THEN (SELECT CASE WHEN bool_or(p.at = 16383) THEN 1000000 ELSE count(*) END
        FROM unnest(search) AS u, unnest(u.positions, u.weights) AS p(at, weight)
        WHERE p.weight = 'C' AND (u.lexeme = ANY(${sql.param(exact)}::text[])
          OR EXISTS (SELECT 1 FROM unnest(${sql.param(prefixes)}::text[]) AS x(prefix) WHERE starts_with(u.lexeme, x.prefix)))) ELSE 0 END AS "bodyHits"
    FROM articles WHERE ${inArray(articles.id, ids)}`)
  const best = new Map(heads.map((r) => {
    const head = marks(r.summary) > marks(r.title) ? r.summary : r.title
    return [r.id, { text: head, marks: marks(head), bodyMay: r.bodyHits > marks(head) }]
  }))
  const needBody = [...best].filter(([, b]) => b.bodyMay).map(([id]) => id)
  if (needBody.length > 0) {
    const { rows: bodies } = await db.execute<{ id: number, body: string | null }>(sql`
      SELECT id, ${headline(sql`body`)} AS body FROM articles WHERE ${inArray(articles.id, needBody)}`)
    for (const r of bodies) {
      const b = best.get(r.id)!
      if (marks(r.body) > b.marks) best.set(r.id, { text: r.body, marks: marks(r.body), bodyMay: true })
    }
  }
  return new Map([...best].map(([id, b]) => {
    if (b.marks > 0) return [id, markSnippet(angles(b.text ?? ''))]
    const names = (tagsOf.get(id) ?? []).map((t) => plan.tagSlugs.has(t.slug) ? `<mark>${escapeHtml(t.name)}</mark>` : escapeHtml(t.name))
    return [id, names.length > 0 ? names.join(' ') : markSnippet(angles(b.text ?? ''))]
  }))
}
