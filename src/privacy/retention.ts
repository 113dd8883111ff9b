// COMMENT_PRIVATE_DAYS: a comment's IP and user agent serve flood control and moderation while it is
// fresh, and are cleared once it is older than that, by a job that runs when the server starts and then
// every hour (so a value is kept at most an hour past its term). Every process runs it; it is
// idempotent and, through a partial index, reads only the comments that still hold such values.
//
// The job works in slices under the query budget (src/plugins/slices.ts) and in the background: a
// database that has not run it for a long time (a copy, an old backup, a first start after an upgrade)
// may hold millions of comments to clear, and the server answers from its start while the job goes on.
import fp from 'fastify-plugin'
import { RETENTION_BATCH } from './repository.js'
import { inSlices, type SliceEnd } from '../plugins/slices.js'

export const RETENTION_INTERVAL_MS = 60 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000
/** The fewest rows a slice shrinks to when the query budget interrupts it. */
const MIN_ROWS = 25

export interface RetentionRun {
  /** Comments whose IP and user agent were cleared. */
  comments: number
  /** Reports removed. */
  reports: number
  /** Whether everything due is cleared, or the run stopped: the server is closing, or the budget interrupted its smallest slice. */
  ended: SliceEnd
}

declare module 'fastify' {
  interface FastifyInstance {
    retention: {
      /** One pass over what is due; a call while a pass is under way joins it. */
      run: () => Promise<RetentionRun>
      /** The pass under way (the one the server started with, until it ends), if any. */
      running: () => Promise<RetentionRun> | undefined
    }
  }
}

export default fp(async (app) => {
  const state = { closing: false }
  let running: Promise<RetentionRun> | undefined

  const pass = async (): Promise<RetentionRun> => {
    const before = app.clock() - app.config.commentPrivateDays * DAY_MS
    const cleared = { comments: 0, reports: 0 }
    const ended = await inSlices(app, { rows: RETENTION_BATCH, min: MIN_ROWS, closing: () => state.closing, what: 'clearing comment IPs and user agents' }, async (rows) => {
      const slice = await app.privacy.clearOrigins(before, rows)
      cleared.comments += slice.comments
      cleared.reports += slice.reports
      return slice.comments === rows || slice.reports === rows
    })
    if (cleared.comments > 0 || cleared.reports > 0) app.log.info(cleared, 'cleared comment IPs and user agents past COMMENT_PRIVATE_DAYS')
    if (ended === 'interrupted') app.log.warn(cleared, 'the retention job stopped on the query budget; it runs again in an hour')
    return { ...cleared, ended }
  }

  const run = (): Promise<RetentionRun> => {
    running ??= pass().finally(() => { running = undefined })
    return running
  }
  app.decorate('retention', { run, running: () => running })

  const background = (): void => {
    run().catch((err: unknown) => app.log.error({ err }, 'the retention job failed; it runs again in an hour'))
  }
  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    background()
    timer = setInterval(background, RETENTION_INTERVAL_MS)
    timer.unref()
  })
  app.addHook('preClose', async () => {
    state.closing = true
    clearInterval(timer)
    await running?.catch(() => {})
  })
}, { name: 'retention', dependencies: ['repositories', 'query-budget'] })
