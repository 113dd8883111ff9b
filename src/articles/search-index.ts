// The full-text index as the list queries see it: the FTS5 table, its ranking, how search terms become
// an FTS5 expression, and how snippets become safe HTML.
import { randomBytes } from 'node:crypto'
import { and, inArray, sql } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { integer, sqliteTable } from 'drizzle-orm/sqlite-core'
import type { SearchTerm } from './search.js'

// The FTS5 index that migrations/0001_search.sql creates (drizzle-kit cannot describe virtual tables, so
// it is declared here for queries only, not in src/db/schema.ts).
export const articleSearch = sqliteTable('article_search', { rowid: integer('rowid').notNull() })
/** bm25 with weights per column (title, summary, tags, body): lower is more relevant. */
export const RANK = sql<number>`bm25(${articleSearch}, 10.0, 4.0, 4.0, 1.0)`

/** Terms as an FTS5 expression: every term quoted (so nothing is syntax), implicitly ANDed. */
export function ftsQuery (terms: SearchTerm[]): string {
  return terms.map((t) => `"${t.text.replace(/"/g, '""')}"${t.prefix ? '*' : ''}`).join(' ')
}

// Sentinels for snippet(): unguessable per process, so text in an article can never pose as one.
const OPEN = `\u0002${randomBytes(8).toString('hex')}\u0003`
const CLOSE = `\u0003${randomBytes(8).toString('hex')}\u0002`
const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => HTML[c]!)
export const markSnippet = (raw: string): string =>
  escapeHtml(raw).replaceAll(OPEN, '<mark>').replaceAll(CLOSE, '</mark>')

/** Each article's best excerpt for the search, matched terms in <mark>, the rest HTML-escaped. */
export function snippetsOf (db: Db, fts: string, ids: number[]): Map<number, string> {
  const rows = db.select({ id: articleSearch.rowid, snippet: sql<string | null>`snippet(${articleSearch}, -1, ${OPEN}, ${CLOSE}, '…', 32)` })
    .from(articleSearch).where(and(sql`${articleSearch} MATCH ${fts}`, inArray(articleSearch.rowid, ids))).all()
  return new Map(rows.map((r) => [r.id, markSnippet(r.snippet ?? '')]))
}
