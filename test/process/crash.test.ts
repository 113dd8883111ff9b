// A small run of `npm run crash-test`: SIGKILL under concurrent writes loses no acknowledged write.
import t from 'tap'
import { crashTest } from '../../scripts/crash-test.js'

t.test('SIGKILL mid-load loses no acknowledged write and leaves the database intact', async (t) => {
  const figures = await crashTest({ rounds: 1, writers: 6, killAfterMs: 800, log: (line) => t.comment(line) })
  t.comment(JSON.stringify(figures))
  t.ok(figures.acknowledged > 0, `${figures.acknowledged} writes were acknowledged before the kill`)
  t.equal(figures.found, figures.acknowledged, 'every acknowledged write is there after the restart')
  t.equal(figures.lost, 0)
  t.equal(figures.integrity, 'ok')
})
