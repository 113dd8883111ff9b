// Background work in slices: each slice is one step under the query budget (QUERY_BUDGET_MS; on PostgreSQL
// the pool's statement_timeout), so a backlog of any size never holds the event loop, the write lock or a
// statement for long. A slice the budget interrupts is rolled back and tried again at once with half the
// rows, down to a floor; a slice that passes lets the next grow back. After each slice the loop rests as
// long as the slice took, so requests get at least half of the event loop while it runs. Used by upkeep
// (src/plugins/upkeep.ts) and the retention job (src/privacy/retention.ts).
import { setTimeout as rest } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { isInterrupted } from '../db/native.js'

export interface SliceOptions {
  /** The rows a slice starts with and grows back to. */
  rows: number
  /** The fewest rows a slice shrinks to; interrupted at this size, the loop gives up until its next run. */
  min: number
  /** Asked before each slice: the server is closing. */
  closing: () => boolean
  /** What the loop does, for the warning an interrupted slice logs. */
  what: string
}

/** How a loop ended: its work is done, the server is closing, or a slice of `min` rows was interrupted. */
export type SliceEnd = 'done' | 'closing' | 'interrupted'

/**
 * Runs `step(rows)` until it answers false (nothing is left), each call under the query budget.
 * An error other than the budget's interruption ends the loop and is thrown.
 */
export async function inSlices (app: FastifyInstance, opts: SliceOptions, step: (rows: number) => Promise<boolean>): Promise<SliceEnd> {
  const owner = {}
  let rows = opts.rows
  while (!opts.closing()) {
    const started = performance.now()
    if (app.config.queryBudgetMs > 0) app.queryBudget.arm(owner, app.config.queryBudgetMs)
    let more: boolean | undefined
    try {
      more = await step(rows)
    } catch (err) {
      if (!isInterrupted(err)) throw err
      app.log.warn({ err, rows }, `${opts.what}: a slice was interrupted by the query budget`)
    } finally {
      app.queryBudget.release(owner)
    }
    if (more === undefined) {
      if (rows === opts.min) return 'interrupted'
      rows = Math.max(opts.min, Math.floor(rows / 2))
    } else if (!more) {
      return 'done'
    } else {
      rows = Math.min(opts.rows, rows * 2)
    }
    await rest(Math.max(1, performance.now() - started))
  }
  return 'closing'
}
