// Background upkeep, in bounded steps under the query budget: settles the stored article counts past the
// articles that fell due (src/articles/counts.ts: the counts are exact without it, it only keeps the range
// a reader adds small), and removes deleted tags from their articles (src/tags/sweeper.ts). Both run at
// start (a previous process may have stopped half way) and every UPKEEP_INTERVAL_MS; a tag delete wakes
// the sweeper at once.
import fp from 'fastify-plugin'
import { articleCounts } from '../articles/counts.js'
import { articleCountsPg } from '../articles/counts.pg.js'
import { SLICE, tagSweeper } from '../tags/sweeper.js'
import { tagSweeperPg } from '../tags/sweeper.pg.js'
import { purgeRateLimits } from '../db/pg/rate-limits.js'
import { inSlices } from './slices.js'

export const UPKEEP_INTERVAL_MS = 30_000
/** The fewest rows a sweep slice shrinks to when the query budget interrupts it. */
const MIN_SLICE = 50

declare module 'fastify' {
  interface FastifyInstance {
    upkeep: {
      /** Folds the articles that fell due into the stored counts (tests call it to cross a due time). */
      settle: () => Promise<void>
      /** Starts removing deleted tags from their articles, unless already under way; resolves when done. */
      sweep: () => Promise<void>
      /** The same, in the background: for a route that has just deleted a tag. */
      wake: () => void
      /** Stores the articles' representations that are missing (src/articles/stored.ts); runs at start. */
      fillRepresentations: () => Promise<void>
      /** Removes the flood-control counters whose window ended (PostgreSQL's shared ones; none on SQLite). */
      purgeRateLimits: () => Promise<number>
    }
  }
}

export default fp(async (app) => {
  // The counts of the engine the articles are on (issue 16: PostgreSQL's adapter, src/articles/counts.pg.ts).
  const counts = app.storage.engine === 'postgres' ? articleCountsPg(app.storage.db) : articleCounts(app.db)
  const sweeper = app.storage.engine === 'postgres' ? tagSweeperPg(app.storage.db) : tagSweeper(app.db)
  const state = { closing: false }
  const closing = (): boolean => state.closing
  let sweeping: Promise<void> | undefined

  // One step; when the budget interrupts it, it is simply tried again at the next tick.
  const settle = async (): Promise<void> => {
    await inSlices(app, { rows: 1, min: 1, closing, what: 'settling the article counts' }, async () => {
      await counts.settle(app.clock())
      return false
    })
  }

  // Slices of SLICE article_tags rows, halved down to MIN_SLICE when the budget interrupts one (src/plugins/slices.ts).
  const sweep = (): Promise<void> => {
    sweeping ??= (async () => {
      try {
        await inSlices(app, { rows: SLICE, min: MIN_SLICE, closing, what: 'removing deleted tags' }, async (rows) => await sweeper.step(rows))
      } finally {
        sweeping = undefined
      }
    })()
    return sweeping
  }

  // Articles without a stored representation (a database from before them, a bulk load, a write by a
  // process of an older version): one pass over the ids at start, in slices. Reads assemble those articles
  // afresh meanwhile.
  //
  // A caller gets a pass that starts after its call: one already running may have gone past an article the
  // caller has just changed. Joining it instead, a test that dropped a form and asked for the backfill
  // found the form still missing when the pass that began at start ran late on a loaded machine (CI,
  // test/articles/stored-representation.test.ts on PostgreSQL).
  let filling: Promise<void> | undefined
  let queued: Promise<void> | undefined
  const fillRepresentations = (): Promise<void> => {
    if (filling !== undefined) {
      const again = (): Promise<void> => { queued = undefined; return fillRepresentations() }
      return (queued ??= filling.then(again, again))
    }
    filling = (async () => {
      let after = 0
      try {
        await inSlices(app, { rows: SLICE, min: MIN_SLICE, closing, what: 'storing the articles\' representations' }, async (rows) => {
          const last = await app.articles.backfill(after, rows)
          if (last === null) return false
          after = last
          return true
        })
      } finally {
        filling = undefined
      }
    })()
    return filling
  }

  // A window's counters hold keyed hashes of client addresses: gone within an upkeep interval of its end.
  const purgeLimits = async (): Promise<number> => app.storage.engine === 'postgres' ? await purgeRateLimits(app.storage.db) : 0

  const tick = (): void => {
    settle().catch((err: unknown) => app.log.error({ err }, 'settling the article counts failed'))
    purgeLimits().catch((err: unknown) => app.log.error({ err }, 'removing ended rate-limit windows failed'))
    wake()
  }
  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    fillRepresentations().catch((err: unknown) => app.log.error({ err }, 'storing the articles\' representations failed'))
    tick()
    timer = setInterval(tick, UPKEEP_INTERVAL_MS)
    timer.unref()
  })
  app.addHook('preClose', async () => {
    state.closing = true
    if (timer !== undefined) clearInterval(timer)
    await sweeping
    await filling
    await queued
  })
  // After the current request's answer: the sweeping is not its cost.
  const wake = (): void => {
    setImmediate(() => { sweep().catch((err: unknown) => app.log.error({ err }, 'removing deleted tags failed')) })
  }
  app.decorate('upkeep', { settle, sweep, wake, fillRepresentations, purgeRateLimits: purgeLimits })
}, { name: 'upkeep', dependencies: ['db', 'query-budget'] })
