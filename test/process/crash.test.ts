// A small run of `npm run crash-test`: SIGKILL under concurrent writes loses no acknowledged write, no
// event, and makes no event up; the webhook receiver gets every event, in order, after the restart. On a
// SQLite file, and on PostgreSQL (`npm run crash-test -- --postgres`), where Gazette is killed and the
// database keeps running.
import t, { type Test } from 'tap'
import { crashTest, type CrashFigures } from '../../scripts/crash-test.js'
import { testDatabase } from '../pg/cluster.js'

function check (t: Test, figures: CrashFigures): void {
  t.comment(JSON.stringify(figures))
  t.ok(figures.acknowledged > 0, `${figures.acknowledged} writes were acknowledged before the kill`)
  t.equal(figures.found, figures.acknowledged, 'every acknowledged write is there after the restart')
  t.equal(figures.lost, 0)
  const e = figures.events
  t.ok(e.recorded >= figures.acknowledged, `${e.recorded} events for ${figures.acknowledged} acknowledged writes`)
  t.equal(e.missing, 0, 'every write in the database has its events')
  t.equal(e.unexpected, 0, 'no event for a write that is not there, none twice')
  t.equal(e.delivered, e.recorded, 'the receiver got every event after the restart')
  t.equal(e.outOfOrder, 0, 'in the order of the log')
  t.equal(e.badSignatures, 0, 'each signature verifies')
}

t.test('SIGKILL mid-load loses no acknowledged write and leaves the database intact', async (t) => {
  const figures = await crashTest({ rounds: 1, writers: 6, killAfterMs: 800, log: (line) => t.comment(line) })
  check(t, figures)
  t.equal(figures.integrity, 'ok')
})

t.test('on PostgreSQL, SIGKILL of Gazette mid-load loses no acknowledged write', async (t) => {
  const { url } = await testDatabase(t, { migrate: false })
  const figures = await crashTest({ rounds: 2, writers: 6, killAfterMs: 1200, databaseUrl: url, log: (line) => t.comment(line) })
  check(t, figures)
  t.equal(figures.integrity, null, 'no integrity_check: PostgreSQL was not the process killed')
})
