// Random ids and tokens come from a pooled block of CSPRNG bytes (src/lib/random.ts): each byte handed out
// once, across refills of the block, in the size and encoding asked for.
import t from 'tap'
import { randomString } from '../../src/lib/random.js'

t.test('each call gives fresh bytes of the size asked for, across refills of the pool', async (t) => {
  const seen = new Set<string>()
  // 32 × 1,000 bytes: the 4,096-byte pool is refilled several times, once mid-way through a call's size.
  for (let i = 0; i < 1000; i++) {
    const token = randomString(32, 'base64url')
    t.equal(Buffer.from(token, 'base64url').length, 32)
    seen.add(token)
  }
  t.equal(seen.size, 1000, 'no token handed out twice')
  const hex = randomString(16, 'hex')
  t.match(hex, /^[0-9a-f]{32}$/)
  t.not(randomString(16, 'hex'), hex)
})

t.test('bytes come from the whole pool, not a repeated slice', async (t) => {
  // 4,096 bytes one at a time: a full pool's worth. Random bytes take about 256 values; a pool that
  // repeated one slice, or handed out zeroed bytes, would show a handful.
  const values = new Set<string>()
  for (let i = 0; i < 4096; i++) values.add(randomString(1, 'hex'))
  t.ok(values.size > 200, `${values.size} distinct byte values`)
})

t.test('more than the pool at once is refused', async (t) => {
  t.throws(() => randomString(4097, 'hex'), RangeError)
})
