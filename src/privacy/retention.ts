// COMMENT_PRIVATE_DAYS: a comment's IP and user agent serve flood control and moderation while it is
// fresh, and are cleared once it is older than that, by a job that runs when the server starts and then
// every hour (so a value is kept at most an hour past its term). Every process runs it; it is
// idempotent and, through a partial index, reads only the comments that still hold such values.
import fp from 'fastify-plugin'

export const RETENTION_INTERVAL_MS = 60 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000

declare module 'fastify' {
  interface FastifyInstance {
    retention: { run: () => Promise<{ comments: number, reports: number }> }
  }
}

export default fp(async (app) => {
  const run = async () => {
    const cleared = await app.privacy.clearOrigins(app.clock() - app.config.commentPrivateDays * DAY_MS)
    if (cleared.comments > 0 || cleared.reports > 0) app.log.info(cleared, 'cleared comment IPs and user agents past COMMENT_PRIVATE_DAYS')
    return cleared
  }
  app.decorate('retention', { run })

  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    await run()
    timer = setInterval(() => {
      run().catch((err: unknown) => app.log.error({ err }, 'the retention job failed; it runs again in an hour'))
    }, RETENTION_INTERVAL_MS)
    timer.unref()
  })
  app.addHook('onClose', async () => { clearInterval(timer) })
}, { name: 'retention', dependencies: ['repositories'] })
