// The bench and the process tests ask for ports before their children bind them (bench/run.ts asks for the
// webhook receiver's and then the server's). The kernel may hand the same port to two binds in a row once
// the first is closed: a CI run's bench sent its POSTs to its own receiver, which answered 204. Here 2,000
// ports asked for back to back, none bound, must all differ (about one in eight repeated without the fix).
import t from 'tap'
import { freePort } from '../../scripts/harness.js'

t.test('freePort never hands out a port twice in one process', async (t) => {
  const ports: number[] = []
  for (let i = 0; i < 2000; i++) ports.push(await freePort())
  t.equal(new Set(ports).size, ports.length, 'every port differs')
  t.ok(ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536), 'and each is a port')
})
