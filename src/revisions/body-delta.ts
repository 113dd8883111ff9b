// How an old revision's body is stored: as a reverse delta, the few edits that turn the next revision's
// body back into this one, or (every KEYFRAME_EVERY revisions, and whenever the delta would not be
// smaller) as the whole body, compressed. bench/README.md (Revisions) has the figures behind the choice.
//
// A delta is a flat JSON array [at, removed, inserted, at, removed, inserted, …]: at `at` (a UTF-16
// offset in the newer body, ascending), remove `removed` characters and insert the string `inserted`.
// It is computed line by line with jsdiff (fast, whatever the body's size), then each changed block is
// trimmed to the characters that differ, so a typo fixed in a long paragraph (Markdown keeps a
// paragraph on one line) costs a few bytes, not the paragraph twice.
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'
import { diffLines } from 'diff'

/** Every this many revisions the whole body is kept, so reading an old one applies at most this many deltas. */
export const KEYFRAME_EVERY = 100

/** A line diff that takes longer than this gives up, and the whole body is stored instead. */
const DIFF_TIMEOUT_MS = 100

type Delta = (number | string)[]

function commonPrefix (a: string, b: string, from = 0): number {
  const max = Math.min(a.length, b.length)
  let i = from
  while (i < max && a.charCodeAt(i) === b.charCodeAt(i)) i++
  return i - from
}

function commonSuffix (a: string, b: string, limit: number): number {
  let i = 0
  while (i < limit && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++
  return i
}

/** Appends the edit replacing `removed` (at `at` in newer) by `inserted`, trimmed to what differs. */
function pushEdit (out: Delta, at: number, removed: string, inserted: string): void {
  const head = commonPrefix(removed, inserted)
  const tail = commonSuffix(removed, inserted, Math.min(removed.length, inserted.length) - head)
  const length = removed.length - head - tail
  const text = inserted.slice(head, inserted.length - tail)
  if (length > 0 || text !== '') out.push(at + head, length, text)
}

/** The edits turning `newer` into `older`, or undefined when they cannot be found in time. */
export function reverseDelta (newer: string, older: string, timeoutMs = DIFF_TIMEOUT_MS): Delta | undefined {
  const head = commonPrefix(newer, older)
  const tail = commonSuffix(newer, older, Math.min(newer.length, older.length) - head)
  const a = newer.slice(head, newer.length - tail)
  const b = older.slice(head, older.length - tail)
  const out: Delta = []
  if (a === '' || b === '') {
    pushEdit(out, head, a, b)
    return out
  }
  const changes = diffLines(a, b, { timeout: timeoutMs })
  if (changes === undefined) return undefined
  let at = head
  let removed = ''
  let inserted = ''
  const flush = () => {
    if (removed !== '' || inserted !== '') pushEdit(out, at, removed, inserted)
    at += removed.length
    removed = ''
    inserted = ''
  }
  for (const change of changes) {
    if (change.removed) removed += change.value
    else if (change.added) inserted += change.value
    else {
      flush()
      at += change.value.length
    }
  }
  flush()
  return out
}

/** Applies a reverse delta to the newer body. */
export function applyDelta (newer: string, delta: Delta): string {
  let out = ''
  let from = 0
  for (let i = 0; i < delta.length; i += 3) {
    const at = delta[i] as number
    out += newer.slice(from, at) + (delta[i + 2] as string)
    from = at + (delta[i + 1] as number)
  }
  return out + newer.slice(from)
}

/** The whole body, compressed (brotli at quality 5: bench/README.md, Revisions, says why 5). */
export const compressBody = (text: string): Buffer => brotliCompressSync(text, {
  params: {
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    [constants.BROTLI_PARAM_QUALITY]: 5,
    [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(text)
  }
})

export const decompressBody = (data: Buffer): string => brotliDecompressSync(data).toString('utf8')

/**
 * The reverse delta that stores `older`, the body of a revision that is no longer current, given
 * `newer`, the body of the revision after it: null when the body did not change, undefined when the
 * whole body should be kept instead (no delta found in time, or a delta larger than the compressed body).
 */
export function encodeDelta (newer: string, older: string): Buffer | null | undefined {
  if (newer === older) return null
  const delta = reverseDelta(newer, older)
  if (delta === undefined) return undefined
  const data = Buffer.from(JSON.stringify(delta))
  // Most edits cost a few dozen bytes; only a large delta is worth comparing with the compressed body.
  return data.length <= 256 || data.length <= compressBody(older).length ? data : undefined
}

/** The older body from the newer one and the stored delta (null: unchanged). */
export function decodeDelta (newer: string, data: Buffer | null): string {
  return data === null ? newer : applyDelta(newer, JSON.parse(data.toString('utf8')) as Delta)
}
