// Background work in slices (src/plugins/slices.ts): a slice the query budget interrupts is tried again
// with half the rows, down to the floor, where the loop gives up until its next run; a slice that passes
// lets the next grow back. Steps here are the test's own, run by the real app's loop and budget.
import t from 'tap'
import { inSlices } from '../../src/plugins/slices.js'
import { build } from '../helper.js'

const interrupted = () => Object.assign(new Error('interrupted'), { code: 'SQLITE_INTERRUPT' })
const options = { rows: 400, min: 25, closing: () => false, what: 'a test' }

t.test('an interrupted slice halves, a passing one doubles back, up to the start', async (t) => {
  const a = await build(t)
  const asked: number[] = []
  // Too big above 60 rows the first three times, then anything passes; done after nine slices.
  let refusals = 0
  const end = await inSlices(a.app, options, async (rows) => {
    asked.push(rows)
    if (rows > 60 && refusals < 3) { refusals++; throw interrupted() }
    return asked.length < 9
  })
  t.equal(end, 'done')
  t.same(asked, [400, 200, 100, 50, 100, 200, 400, 400, 400])
})

t.test('interrupted at the floor, the loop stops and says so; other errors are thrown', async (t) => {
  const a = await build(t)
  const asked: number[] = []
  t.equal(await inSlices(a.app, options, async (rows) => { asked.push(rows); throw interrupted() }), 'interrupted')
  t.same(asked, [400, 200, 100, 50, 25])
  await t.rejects(inSlices(a.app, options, async () => { throw new Error('disk full') }), /disk full/)
  t.equal(await inSlices(a.app, { ...options, closing: () => true }, async () => true), 'closing')
})
