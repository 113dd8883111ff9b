// Random ids and tokens, drawn from the operating system's CSPRNG in blocks: `crypto.randomBytes` per id
// cost a comment 4% of its CPU (two calls: the edit token and the event id; bench/README.md, session 18),
// where a slice of a pooled block costs about a tenth of one call. The bytes are as random either way;
// each is handed out once, and zeroed in the pool as it is, so no token lingers there after it is made.
import { randomFillSync } from 'node:crypto'

const pool = Buffer.alloc(4096)
let offset = pool.length

/** `bytes` fresh random bytes (at most 4,096), encoded. */
export function randomString (bytes: number, encoding: 'hex' | 'base64url'): string {
  if (bytes > pool.length) throw new RangeError(`at most ${pool.length} random bytes at a time`)
  if (offset + bytes > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const text = pool.toString(encoding, offset, offset + bytes)
  pool.fill(0, offset, offset + bytes)
  offset += bytes
  return text
}
