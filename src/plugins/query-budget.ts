// QUERY_BUDGET_MS: no statement holds the event loop for longer. better-sqlite3 runs every statement on
// the event loop and cannot stop one; Gazette's SQLite extension (native/gazette.c) times each statement
// from its own start while the budget is held, and a watchdog thread per connection interrupts one that runs
// past it. The statement then fails with SQLITE_INTERRUPT (a transaction it was in rolls back), the error
// handler answers 503 with Retry-After (src/http/problem-rules.ts), or the route 422 when the query
// itself is the problem (a search or a count, src/articles/listing/), and the server goes on answering
// the others. Time between statements is nobody's: requests in flight together do not spend each other's
// budget, and a request waiting for something else loses nothing by waiting.
//
// | hook           | what                                                                            |
// | -------------- | ------------------------------------------------------------------------------- |
// | preHandler     | hold the budget for this request (after the body has arrived and is valid)      |
// | onSend         | let go of it: the answer, an error included, is made; what follows (the         |
// |                | idempotency record) is bookkeeping. The budget is off once no request holds it. |
// | onResponse     | the same, for a response that skipped onSend                                    |
// | onRequestAbort | the same, for a client that went away                                           |
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { queryBudget, type QueryBudget } from '../db/native.js'

declare module 'fastify' {
  interface FastifyInstance {
    queryBudget: QueryBudget
  }
}

// On PostgreSQL the server keeps the budget itself: the pool's statement_timeout (src/db/plugin.ts) cancels
// any statement that runs past it, background steps' included, so there is nothing to arm here.
const kept: QueryBudget = {
  arm () {},
  release () {},
  interrupts: () => { throw new Error('on PostgreSQL the query budget is its statement_timeout, counted by the server') }
}

export default fp(async (app) => {
  if (app.storage.engine === 'postgres') {
    app.decorate('queryBudget', kept)
    return
  }
  const budget = queryBudget(app.db.$client)
  app.decorate('queryBudget', budget)
  const ms = app.config.queryBudgetMs
  app.addHook('onClose', async () => { budget.release(budget) })
  if (ms === 0) return

  app.addHook('preHandler', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    budget.arm(request, ms)
    done()
  })
  app.addHook('onSend', (request: FastifyRequest, _reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => {
    budget.release(request)
    done(null, payload)
  })
  app.addHook('onResponse', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    budget.release(request)
    done()
  })
  app.addHook('onRequestAbort', (request: FastifyRequest, done: () => void) => {
    budget.release(request)
    done()
  })
}, { name: 'query-budget', dependencies: ['db'] })
