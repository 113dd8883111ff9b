// The full-text index as the list queries see it: the FTS5 table, its ranking, how search terms become an
// FTS5 expression (and what that expression will cost, before it runs), snippets as safe HTML, and the one
// re-index of an article that the tag writer asks for.
//
// What a search costs is known up front from search_terms (how many articles contain each token, kept by
// triggers): a word costs what its articles cost; a prefix is expanded into the whole words it means, which
// FTS5 then reads lazily, instead of FTS5 merging every matching word's list in memory first (a second or
// more at a million articles for `min*`, during which nothing could interrupt it); a phrase costs what its
// rarest word costs, since FTS5 checks word positions in every article holding all its words, again without
// a chance to interrupt. So a search that would hold the server is refused before it runs (422), and the
// rest are bounded; the query budget (src/plugins/query-budget.ts) catches anything else.
// Raw SQL on purpose (CONTRIBUTING.md, the data layer): FTS5 (MATCH, its rank function, the index itself) has no Drizzle form.
import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { integer, sqliteTable } from 'drizzle-orm/sqlite-core'
import type { Db } from '../db/connection.js'
import type { SearchTerm } from './search.js'

// The FTS5 index that migrations/0001_search.sql creates (drizzle-kit cannot describe virtual tables, so
// it is declared here for queries only, not in src/db/schema.ts). Columns: title, summary, tags, body; the
// tags column holds one token per tag id (`t17`, migrations/0009_bounded_counts_search.sql).
export const articleSearch = sqliteTable('article_search', { rowid: integer('rowid').notNull() })

/**
 * Relevance, lower is better: gazette_rank (native/gazette.c) is bm25's formula with column weights (title,
 * summary, tags, body) and without statistics of the whole index (an average article of AVERAGE_TOKENS
 * tokens, no inverse document frequency). An article's rank depends on the article and the query alone, so
 * drafts and scheduled articles never move the public's ranks, order or cursors.
 */
const AVERAGE_TOKENS = 600
export const RANK = sql<number>`gazette_rank(${articleSearch}, ${sql.raw(String(AVERAGE_TOKENS))}, 10.0, 4.0, 4.0, 1.0)`

/**
 * Most matches a search ranks by relevance; a broader one is refused: ranking costs per match, more when a
 * word is in most articles (each match is sought in its long list). Measured: bench/README.md#ranking-cost.
 */
export const RANK_LIMIT = 20_000
/** Most articles holding every word of a phrase: FTS5 checks positions in each, uninterruptibly. */
export const PHRASE_LIMIT = 200_000
/** Most whole words a prefix is expanded into; a prefix meaning more needs more letters. */
export const PREFIX_WORDS = 64
/** A prefix whose words are in at most this many articles in all may be left to FTS5 to merge. */
const PREFIX_MERGE = 20_000
/** Most tags a word may name (each adds its articles to the search). */
export const TAG_MATCHES = 500

/** A search ready to run: its FTS5 expression and an upper bound on how many articles it matches. */
export interface SearchPlan {
  fts: string
  /** Upper bound of the matches, from the counts per token (drafts included): the basis for every plan choice. */
  estimate: number
  /** Lower bound of the matches (a single word's count is exact; several terms together: 0, unknown). */
  least: number
  /** Slugs of the tags the terms matched by name (a snippet marks them when the text itself does not match). */
  tagSlugs: Set<string>
}

/** Why a search is refused before it runs: a message for `/q`. */
export class SearchRefused extends Error {}

const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`

export function searchPlanner (db: Db) {
  const sqlite = db.$client
  const tokensOf = sqlite.prepare('SELECT gazette_tokens(?, 0)').pluck()
  const docsOf = sqlite.prepare('SELECT docs FROM search_terms WHERE term = ?').pluck()
  const prefixSize = sqlite.prepare<[string, string], { words: number, docs: number | null }>(
    'SELECT count(*) AS words, sum(docs) AS docs FROM search_terms WHERE term >= ? AND term < ? AND docs > 0')
  const prefixWords = sqlite.prepare<[string, string], { term: string, docs: number }>(
    'SELECT term, docs FROM search_terms WHERE term >= ? AND term < ? AND docs > 0')
  const tagMatches = sqlite.prepare<[string, number], { id: number, slug: string, n: number }>(
    'SELECT t.id AS id, t.slug AS slug, t.article_count AS n FROM tag_search s JOIN tags t ON t.id = s.rowid WHERE tag_search MATCH ? LIMIT ?')
  const capped = sqlite.prepare('SELECT count(*) FROM (SELECT 1 FROM article_search WHERE article_search MATCH ? LIMIT ?)').pluck()

  const tokens = (text: string): string[] => JSON.parse(tokensOf.get(text) as string) as string[]
  const docs = (token: string): number => (docsOf.get(token) as number | undefined) ?? 0

  /** The text columns' part of one term, and the most and the fewest articles it can match. */
  function textPart (term: SearchTerm): { fts: string, estimate: number, least: number } | undefined {
    const words = tokens(term.text)
    if (words.length === 0) return undefined
    const fixed = term.prefix ? words.slice(0, -1) : words
    const fixedDocs = fixed.length === 0 ? Infinity : Math.min(...fixed.map(docs))
    if (fixed.length > 1 && fixedDocs > PHRASE_LIMIT) {
      throw new SearchRefused(`the phrase "${term.text}" is made of words that are each in more than ${PHRASE_LIMIT.toLocaleString('en')} articles; add a less common word to it, or search for the words without quotes`)
    }
    if (!term.prefix) return { fts: quote(term.text), estimate: fixedDocs, least: fixed.length === 1 ? fixedDocs : 0 }
    // A prefix: the whole words it means (tokens, as the index holds them: `minis*` means "minist").
    const start = words[words.length - 1]!
    const end = `${start}\u{10FFFF}`
    const size = prefixSize.get(start, end)!
    const native = `${quote(term.text)}*`
    if ((size.docs ?? 0) <= PREFIX_MERGE) return { fts: native, estimate: Math.min(fixedDocs, size.docs ?? 0), least: 0 }
    if (size.words > PREFIX_WORDS) {
      throw new SearchRefused(`"${term.text}*" starts more than ${PREFIX_WORDS} different words in many articles; type more of the word`)
    }
    const expanded = prefixWords.all(start, end)
    if (fixed.length > 0 && Math.min(fixedDocs, expanded.reduce((n, w) => n + w.docs, 0)) > PHRASE_LIMIT) {
      throw new SearchRefused(`the phrase "${term.text}*" is made of words that are each in more than ${PHRASE_LIMIT.toLocaleString('en')} articles; add a less common word to it`)
    }
    // Each whole word is handed to FTS5 as a query word, which it tokenizes again: a word the tokenizer
    // would change (rare for stems) cannot be written that way, and the prefix is left to FTS5 whole.
    const least = fixed.length === 0 ? Math.max(0, ...expanded.map((w) => w.docs)) : 0
    if (expanded.some((w) => { const again = tokens(w.term); return again.length !== 1 || again[0] !== w.term })) {
      return { fts: native, estimate: Math.min(fixedDocs, size.docs ?? 0), least }
    }
    const lead = fixed.length === 0 ? '' : `${fixed.join(' ')} `
    return {
      fts: `(${expanded.map((w) => quote(lead + w.term)).join(' OR ')})`,
      estimate: Math.min(fixedDocs, expanded.reduce((n, w) => n + w.docs, 0)),
      least
    }
  }

  return {
    /**
     * The FTS5 expression of a search: each term must match, in the title, summary or body (`{title summary
     * body} : …`), or through a tag whose name it matches (`tags : (t17 OR t42)`). Throws SearchRefused for a
     * search too costly to run (a phrase of very common words, a short prefix of very many words).
     */
    plan (terms: SearchTerm[]): SearchPlan {
      const groups: string[] = []
      const tagSlugs = new Set<string>()
      let estimate = Infinity
      let least = 0
      for (const term of terms) {
        const text = textPart(term)
        const named = tagMatches.all(`${quote(term.text)}${term.prefix ? '*' : ''}`, TAG_MATCHES + 1)
        if (named.length > TAG_MATCHES) throw new SearchRefused(`"${term.text}${term.prefix ? '*' : ''}" names more than ${TAG_MATCHES} tags; type more of it`)
        if (text === undefined && named.length === 0) continue
        for (const t of named) tagSlugs.add(t.slug)
        const parts = [
          ...(text === undefined ? [] : [`{title summary body} : ${text.fts}`]),
          ...(named.length === 0 ? [] : [`tags : (${named.map((t) => `t${t.id}`).join(' OR ')})`])
        ]
        groups.push(parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`)
        estimate = Math.min(estimate, (text?.estimate ?? 0) + named.reduce((n, t) => n + t.n, 0))
        least = groups.length === 1 ? Math.max(text?.least ?? 0, ...named.map((t) => t.n)) : 0
      }
      // Terms with no token and no tag (only characters the index drops) match nothing.
      if (groups.length === 0) return { fts: '"" NOT ""', estimate: 0, least: 0, tagSlugs }
      return { fts: groups.join(' AND '), estimate: Number.isFinite(estimate) ? estimate : 0, least, tagSlugs }
    },

    /** How many articles match, counting at most `limit` + 1 (FTS5 reads the lists lazily: cheap). */
    matchesUpTo (fts: string, limit: number): number {
      return capped.get(fts, limit + 1) as number
    },

    /** EXPLAIN QUERY PLAN of each statement the planner runs (for test/articles/search-plan.test.ts). */
    explain (): { name: string, plan: string[] }[] {
      const statements: [string, { source: string }, unknown[]][] = [
        ['a word\'s count', docsOf, ['harbour']],
        ['a prefix\'s size', prefixSize, ['min', 'min\u{10FFFF}']],
        ['a prefix\'s words', prefixWords, ['min', 'min\u{10FFFF}']],
        ['the tags a word names', tagMatches, ['"harbour"', TAG_MATCHES + 1]],
        ['the matches, counted up to a limit', capped, ['"harbour"', RANK_LIMIT + 1]]
      ]
      return statements.map(([name, statement, params]) => ({
        name,
        plan: (sqlite.prepare(`EXPLAIN QUERY PLAN ${statement.source}`).all(...params) as { detail: string }[]).map((r) => r.detail)
      }))
    }
  }
}

export type SearchPlanner = ReturnType<typeof searchPlanner>

/**
 * Up to this many matches, a page's snippets run the search once and keep the page's rows; beyond, they
 * run it once per row. Measured on the 10,000-article database, 20 rows (bench/README.md, "Search
 * excerpts"): 94 matches 34 µs against 249; 625: 60 against 282; 2,121: 190 against 573; 10,384: 817
 * against 237. The scan costs about 0.08 µs a match, the seeks 10–30 µs a row.
 */
export const SCAN_MATCHES = 2_000

// Sentinels for snippet(): unguessable per process, so text in an article can never pose as one.
export const OPEN = `\u0002${randomBytes(8).toString('hex')}\u0003`
export const CLOSE = `\u0003${randomBytes(8).toString('hex')}\u0002`
const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => HTML[c]!)
export const markSnippet = (raw: string): string =>
  escapeHtml(raw).replaceAll(OPEN, '<mark>').replaceAll(CLOSE, '</mark>')
export const marks = (raw: string | null): number => raw === null ? 0 : raw.split(OPEN).length - 1

/**
 * Each article's best excerpt for a search, matched terms in <mark>, the rest HTML-escaped: from the
 * title, summary or body, whichever has the most marks (the first of them on a tie; the tags column holds
 * tag ids, never shown); for an article found by a tag name alone, its tag names with the matching ones
 * marked. Its statements are prepared once.
 *
 * A body's snippet re-reads and re-tokenizes 2–8 KB of text, a third of a search's time when asked for
 * every hit; so the title's and summary's snippets come first, with how many of the query's phrases the
 * body holds (gazette_hits, native/gazette.c: from the position lists, without reading the text), and the
 * body's snippet is asked for only for the rows where it could have more marks than both: a snippet marks
 * at most the phrases its column holds. The answer is the same as asking for all three.
 */
export function snippetReader (db: Pick<Db, '$client'>, scanUpTo = SCAN_MATCHES) {
  const snippet = (column: number) => `snippet(article_search, ${column}, @open, @close, '…', 32)`
  // Two ways to reach the page's rows: `rowid IN (…)` hands each id to FTS5, which runs the match once per
  // id; `+rowid IN (…)` (not a constraint FTS5 sees) runs it once and filters its rows. See SCAN_MATCHES.
  const prepared = (rowid: string) => {
    const where = `WHERE article_search MATCH @fts AND ${rowid} IN (SELECT value FROM json_each(@ids))`
    return {
      heads: db.$client.prepare<[{ fts: string, ids: string, open: string, close: string }], { id: number, title: string | null, summary: string | null, bodyHits: number }>(
        `SELECT rowid AS id, ${snippet(0)} AS title, ${snippet(1)} AS summary, gazette_hits(article_search, 3) AS bodyHits FROM article_search ${where}`),
      bodies: db.$client.prepare<[{ fts: string, ids: string, open: string, close: string }], { id: number, body: string | null }>(
        `SELECT rowid AS id, ${snippet(3)} AS body FROM article_search ${where}`)
    }
  }
  const byId = prepared('rowid')
  const byScan = prepared('+rowid')

  /**
   * `matches`: how many articles the search matches, as its plan priced it (a bound when not exact, which
   * only moves the choice of path, never the snippets).
   * `tagsOf` is asked only for the articles with no mark in their text (found by a tag name).
   */
  return (plan: SearchPlan, matches: number, ids: number[], tagsOf: (ids: number[]) => Map<number, { slug: string, name: string }[]>): Map<number, string> => {
    const { heads, bodies } = matches <= scanUpTo ? byScan : byId
    const rows = heads.all({ fts: plan.fts, ids: JSON.stringify(ids), open: OPEN, close: CLOSE })
    const ofText = rows.map((r) => {
      const title = marks(r.title)
      const summary = marks(r.summary)
      const head = summary > title ? { text: r.summary, marks: summary } : { text: r.title, marks: title }
      return { id: r.id, head, bodyMay: r.bodyHits > head.marks }
    })
    const needBody = ofText.filter((r) => r.bodyMay).map((r) => r.id)
    const body = needBody.length === 0
      ? new Map<number, string | null>()
      : new Map(bodies.all({ fts: plan.fts, ids: JSON.stringify(needBody), open: OPEN, close: CLOSE }).map((r) => [r.id, r.body]))
    const best = new Map(ofText.map((r) => {
      const b = body.get(r.id) ?? null
      return [r.id, marks(b) > r.head.marks ? { text: b, marks: marks(b) } : r.head]
    }))
    const unmarked = [...best].filter(([, b]) => b.marks === 0).map(([id]) => id)
    const tags = unmarked.length === 0 ? new Map<number, { slug: string, name: string }[]>() : tagsOf(unmarked)
    return new Map([...best].map(([id, b]) => {
      if (b.marks > 0) return [id, markSnippet(b.text ?? '')]
      const names = (tags.get(id) ?? []).map((t) => plan.tagSlugs.has(t.slug) ? `<mark>${escapeHtml(t.name)}</mark>` : escapeHtml(t.name))
      return [id, names.length > 0 ? names.join(' ') : markSnippet(b.text ?? '')]
    }))
  }
}

type Runner = Pick<Db, 'run'>

/**
 * Re-indexes one article: removes it with the tag tokens it was indexed with (the snapshot in
 * article_search_tags), refreshes the snapshot from article_tags, adds it again. The article_tags triggers do
 * the same per row; src/tags/article-tags.ts defers them and calls this once when it replaces an article's tags.
 */
export function reindexArticle (tx: Runner, articleId: number): void {
  tx.run(sql`INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
    SELECT 'delete', id, title, summary, tags, body FROM article_search_source WHERE id = ${articleId}`)
  tx.run(sql`DELETE FROM article_search_tags WHERE article_id = ${articleId}`)
  tx.run(sql`INSERT INTO article_search_tags (article_id, names)
    SELECT article_id, group_concat('t' || tag_id, ' ' ORDER BY position) FROM article_tags WHERE article_id = ${articleId} GROUP BY article_id`)
  tx.run(sql`INSERT INTO article_search (rowid, title, summary, tags, body)
    SELECT id, title, summary, tags, body FROM article_search_source WHERE id = ${articleId}`)
}

/**
 * The search tokens counted again from the index: its 'row' view counts the articles a token is in, in any
 * column, and the tags column holds only tag tokens `t<id>`, in as many articles as the tag has; so a word's
 * count is the index's, and a `t<id>` token's is the index's less its tag's articles (exact unless an
 * article has that very token in its text and that tag). For a database written without the triggers
 * (bench/generate.ts), and for tests that compare the triggers' counts with a fresh one.
 */
export function recountSearchTerms (db: Pick<Db, '$client'>): void {
  const sqlite = db.$client
  sqlite.transaction(() => {
    sqlite.exec(`CREATE VIRTUAL TABLE temp.article_search_vocab USING fts5vocab(main, article_search, 'row');
      DELETE FROM search_terms;
      INSERT INTO search_terms (term, docs) ${TERMS_FROM_VOCAB};
      DROP TABLE temp.article_search_vocab;`)
  })()
}

/** The SELECT that migrations/0009_bounded_counts_search.sql runs too (keep them alike). */
const TERMS_FROM_VOCAB = `SELECT term, docs FROM (
  SELECT v.term AS term, v.doc - CASE WHEN v.term GLOB 't[1-9]*' AND v.term NOT GLOB 't*[^0-9]*'
    THEN coalesce((SELECT count(*) FROM article_tags WHERE tag_id = CAST(substr(v.term, 2) AS INTEGER)), 0) ELSE 0 END AS docs
  FROM temp.article_search_vocab v) WHERE docs > 0`
