// Keyset pagination. A cursor is the sort key of the last item on a page plus a fingerprint of the
// query that made it, so a cursor reused with other filters or another sort is refused (422) instead of
// silently yielding a wrong page. Cursors are opaque to clients: base64url of a small JSON array.
import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { invalid } from './errors.js'

export type KeyPart = string | number | null
export type CursorKey = KeyPart[]

const PAGE_PARAMS = new Set(['cursor', 'limit', 'include'])

/** A short hash of every query parameter that shapes the result set (not cursor, limit or include). */
export function queryFingerprint (route: string, query: object): string {
  const entries = Object.entries(query)
    .filter(([name, value]) => !PAGE_PARAMS.has(name) && value !== undefined)
    .map(([name, value]) => [name, Array.isArray(value) ? [...value].map(String).sort() : String(value)])
    .sort(([a], [b]) => String(a).localeCompare(String(b)))
  return createHash('sha256').update(JSON.stringify([route, entries])).digest('base64url').slice(0, 12)
}

export function encodeCursor (fingerprint: string, key: CursorKey): string {
  return Buffer.from(JSON.stringify([fingerprint, ...key])).toString('base64url')
}

/**
 * The key a cursor carries; 422 when it is malformed or was made for another query. `where` is the part
 * of the request it came in: the query string, or the body of a POST that pages (privacy export).
 */
export function decodeCursor (cursor: string, fingerprint: string, arity: number, where: 'query' | 'body' = 'query'): CursorKey {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalid(where, '/cursor', 'is not a cursor this API made')
  }
  if (!Array.isArray(parsed) || parsed.length !== arity + 1 ||
      !parsed.every((p) => p === null || typeof p === 'string' || (typeof p === 'number' && Number.isSafeInteger(p)))) {
    throw invalid(where, '/cursor', 'is not a cursor this API made')
  }
  if (parsed[0] !== fingerprint) {
    throw invalid(where, '/cursor', 'was made for another query: keep the same filters and sort while paging')
  }
  return parsed.slice(1) as CursorKey
}

export interface Page<T> {
  data: T[]
  page: { limit: number, nextCursor: string | null, total?: number }
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only tells that a next page exists.
 * Sets the `Link: <…>; rel="next"` header when it does, unless `link` is false (a page asked for by a
 * POST body has no URL to link to).
 */
export function toPage<Row, T> (
  request: FastifyRequest,
  reply: FastifyReply,
  rows: Row[],
  opts: { limit: number, fingerprint: string, keyOf: (row: Row) => CursorKey, map: (row: Row) => T, total?: number, link?: boolean }
): Page<T> {
  const more = rows.length > opts.limit
  const shown = more ? rows.slice(0, opts.limit) : rows
  const last = shown[shown.length - 1]
  const nextCursor = more && last !== undefined ? encodeCursor(opts.fingerprint, opts.keyOf(last)) : null
  if (nextCursor !== null && opts.link !== false) reply.header('link', `<${nextUrl(request.url, nextCursor)}>; rel="next"`)
  const page: Page<T>['page'] = { limit: opts.limit, nextCursor }
  if (opts.total !== undefined) page.total = opts.total
  return { data: shown.map(opts.map), page }
}

function nextUrl (url: string, cursor: string): string {
  const [path, search = ''] = url.split('?', 2)
  const params = new URLSearchParams(search)
  params.set('cursor', cursor)
  return `${path}?${params.toString()}`
}
