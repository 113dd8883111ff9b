// QUERY_BUDGET_MS: no request holds the event loop on the database for longer. better-sqlite3 runs every
// statement on the event loop and cannot stop one; Gazette's SQLite extension (native/gazette.c) has a
// watchdog thread per connection that interrupts whatever statement is running once the deadline armed
// here passes. The statement then fails with SQLITE_INTERRUPT (a transaction it was in rolls back), the
// error handler answers 503 with Retry-After (src/http/problem-handler.ts), or the route 422 when the
// query itself is the problem (a search or a count, src/articles/listing.ts), and the server goes on
// answering the others.
//
// | hook        | what                                                                               |
// | ----------- | ---------------------------------------------------------------------------------- |
// | preHandler  | arm the budget for this request (after the body has arrived and is valid)          |
// | onSend      | disarm it, unless a later request armed it since (the last arm wins): the answer,  |
// |             | an error included, is made; what follows (the idempotency record) is bookkeeping   |
// | onResponse  | the same, for a response that skipped onSend                                       |
//
// Once the deadline has passed, every statement of the request is interrupted as it starts, not only the
// one running at the deadline.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { queryBudget, type QueryBudget } from '../db/native.js'

declare module 'fastify' {
  interface FastifyInstance {
    queryBudget: QueryBudget
  }
}

export default fp(async (app) => {
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
