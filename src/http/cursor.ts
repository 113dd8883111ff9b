// Cursors of keyset pagination. A cursor is the sort key of the last item on a page plus a fingerprint of
// the query that made it (src/http/pagination.ts, queryFingerprint), so a cursor reused with other filters
// or another sort is refused (422) instead of silently yielding a wrong page. Cursors are opaque to clients:
// base64url of a small JSON array. They are not signed: the fingerprint is a hash anyone can compute, so a
// client can forge a cursor that matches its query. Every list therefore states the types of its key
// (`cursorKey`'s shape), and a key of another type is the same 422 as any cursor this API did not make:
// it never reaches SQL, and it never silently starts the list again from the first page.
import { invalid } from './errors.js'
import { ROW_ID_MAX } from './schemas.js'

import type { CursorKey, KeyPart } from '../db/keyset.js'

export type { CursorKey, KeyPart }

/**
 * A key part's type: `row` an id, revision number or count kept in a 32-bit column on PostgreSQL, 0 to
 * ROW_ID_MAX (a forged larger one failed the page's statement there: a 500); `int` a safe integer
 * (milliseconds, and the 64-bit sequence numbers of events and deliveries); `int?` one or null (a date that
 * drafts lack); `text` a string (a name); `decimal` a finite number written as a string (a relevance rank,
 * fractional, which JSON numbers in cursors are not allowed to be).
 */
export type KeyType = 'row' | 'int' | 'int?' | 'text' | 'decimal'
type PartOf<T extends KeyType> = T extends 'row' | 'int' ? number : T extends 'int?' ? number | null : string
/** The decoded key of a cursor of shape `S`. */
export type KeyTuple<S extends readonly KeyType[]> = { -readonly [I in keyof S]: PartOf<S[I]> }

const NOT_OURS = 'is not a cursor this API made'

export function encodeCursor (fingerprint: string, key: CursorKey): string {
  return Buffer.from(JSON.stringify([fingerprint, ...key])).toString('base64url')
}

const fits = (type: KeyType, part: unknown): boolean => {
  switch (type) {
    case 'row': return typeof part === 'number' && Number.isInteger(part) && part >= 0 && part <= ROW_ID_MAX
    case 'int': return typeof part === 'number' && Number.isSafeInteger(part)
    case 'int?': return part === null || (typeof part === 'number' && Number.isSafeInteger(part))
    case 'text': return typeof part === 'string'
    case 'decimal': return typeof part === 'string' && part.trim() !== '' && Number.isFinite(Number(part))
  }
}

/**
 * The key a cursor carries, checked against the list's `shape`; undefined without a cursor. 422 at
 * `/cursor` when it is malformed, was made for another query, or has a part of the wrong type or the wrong
 * number of parts. `where` is the part of the request it came in: the query string, or the body of a POST
 * that pages (privacy export).
 */
export function cursorKey<const S extends readonly KeyType[]> (
  cursor: string | undefined, fingerprint: string, shape: S, where: 'query' | 'body' = 'query'
): KeyTuple<S> | undefined {
  if (cursor === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalid(where, '/cursor', NOT_OURS)
  }
  if (!Array.isArray(parsed) || parsed.length !== shape.length + 1 ||
      !parsed.every((p) => p === null || typeof p === 'string' || (typeof p === 'number' && Number.isSafeInteger(p)))) {
    throw invalid(where, '/cursor', NOT_OURS)
  }
  if (parsed[0] !== fingerprint) {
    throw invalid(where, '/cursor', 'was made for another query: keep the same filters and sort while paging')
  }
  const key = parsed.slice(1)
  if (!shape.every((type, i) => fits(type, key[i]))) throw invalid(where, '/cursor', NOT_OURS)
  return key as KeyTuple<S>
}
