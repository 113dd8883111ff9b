// Background upkeep, in bounded steps under the query budget: settles the stored article counts past the
// articles that fell due (src/articles/counts.ts: the counts are exact without it, it only keeps the range
// a reader adds small), and removes deleted tags from their articles (src/tags/sweeper.ts). Both run at
// start (a previous process may have stopped half way) and every UPKEEP_INTERVAL_MS; a tag delete wakes
// the sweeper at once.
import { setTimeout as rest } from 'node:timers/promises'
import fp from 'fastify-plugin'
import { articleCounts } from '../articles/counts.js'
import { articleCountsPg } from '../articles/counts.pg.js'
import { isInterrupted } from '../db/native.js'
import { SLICE, tagSweeper } from '../tags/sweeper.js'
import { tagSweeperPg } from '../tags/sweeper.pg.js'
import { purgeRateLimits } from '../db/pg/rate-limits.js'

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
  const budget = app.queryBudget
  const state = { closing: false }
  let sweeping: Promise<void> | undefined

  /** Runs one step under the budget; an interrupted step is simply retried next time. */
  async function bounded<T> (owner: object, step: () => Promise<T>, otherwise: T): Promise<T> {
    if (app.config.queryBudgetMs > 0) budget.arm(owner, app.config.queryBudgetMs)
    try {
      return await step()
    } catch (err) {
      if (!isInterrupted(err)) throw err
      app.log.warn({ err }, 'upkeep step interrupted by the query budget')
      return otherwise
    } finally {
      budget.release(owner)
    }
  }

  const settle = async (): Promise<void> => {
    const owner = {}
    await bounded(owner, async () => counts.settle(app.clock()), false)
  }

  // A slice the budget interrupts (a busy machine, pages not cached) is rolled back and tried again at once
  // with half the rows, down to MIN_SLICE; a slice that passes lets the next one grow back to SLICE. After
  // each slice the sweeper rests as long as the slice took, so requests get at least half of the event
  // loop while it runs (a request that needs several turns of the loop would otherwise meet a slice at each).
  const sweep = (): Promise<void> => {
    sweeping ??= (async () => {
      const owner = {}
      let rows = SLICE
      try {
        while (!state.closing) {
          const started = performance.now()
          const done = await bounded(owner, async () => ({ more: await sweeper.step(rows) }), undefined)
          if (done === undefined) {
            if (rows === MIN_SLICE) break
            rows = Math.max(MIN_SLICE, Math.floor(rows / 2))
          } else if (!done.more) {
            break
          } else {
            rows = Math.min(SLICE, rows * 2)
          }
          await rest(Math.max(1, performance.now() - started))
        }
      } finally {
        sweeping = undefined
      }
    })()
    return sweeping
  }

  // Articles without a stored representation (a database from before them, a bulk load, a write by a
  // process of an older version): one pass over the ids at start, in slices that shrink when the budget
  // interrupts them, resting as long as each slice took. Reads assemble those articles afresh meanwhile.
  let filling: Promise<void> | undefined
  const fillRepresentations = (): Promise<void> => {
    filling ??= (async () => {
      const owner = {}
      let rows = SLICE
      let after = 0
      try {
        while (!state.closing) {
          const started = performance.now()
          const last = await bounded(owner, async () => app.articles.backfill(after, rows), undefined)
          if (last === null) break
          if (last === undefined) {
            if (rows === MIN_SLICE) break
            rows = Math.max(MIN_SLICE, Math.floor(rows / 2))
          } else {
            after = last
            rows = Math.min(SLICE, rows * 2)
          }
          await rest(Math.max(1, performance.now() - started))
        }
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
  })
  // After the current request's answer: the sweeping is not its cost.
  const wake = (): void => {
    setImmediate(() => { sweep().catch((err: unknown) => app.log.error({ err }, 'removing deleted tags failed')) })
  }
  app.decorate('upkeep', { settle, sweep, wake, fillRepresentations, purgeRateLimits: purgeLimits })
}, { name: 'upkeep', dependencies: ['db', 'query-budget'] })
