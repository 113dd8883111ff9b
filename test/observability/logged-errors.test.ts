// A failed statement's error, logged (src/observability/logging.ts). On PostgreSQL Drizzle throws a
// DrizzleQueryError (drizzle-orm/pg-core/session.js) that carries the statement's bound values in its
// message and stack as well as in `params`, over PostgreSQL's own error, whose `detail` may name a value;
// a comment's values are its author's email, address and body. The log keeps the statement's text and the
// error, not the values.
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { DrizzleQueryError } from 'drizzle-orm'
import t from 'tap'
import { loggerOptions } from '../../src/observability/logging.js'

t.test('a failed statement is logged without its values', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } })
  const options = loggerOptions({ logLevel: 'info', logFormat: 'json' }, false) as object
  const logger = Fastify({ logger: { ...options, stream } })
  t.teardown(() => logger.close())

  const email = 'private.reader@example.org'
  // As node-postgres reports a unique violation, under Drizzle's error as it wraps it.
  const cause = Object.assign(new Error('duplicate key value violates unique constraint "readers_email_key"'),
    { code: '23505', detail: `Key (email)=(${email}) already exists.` })
  const failed = new DrizzleQueryError('insert into "comments" ("author_email", "body") values ($1, $2)', [email, 'A secret body'], cause)
  t.match(failed.message, email, 'the error itself carries the value (so the log must not)')
  logger.log.error({ err: failed }, 'a statement failed')

  const logged = lines.join('')
  const line = JSON.parse(logged) as { err: { message: string, stack: string, params?: unknown, cause?: { detail?: unknown } } }
  t.notOk(logged.includes(email), 'no email in the log line')
  t.notOk(logged.includes('A secret body'), 'no body in the log line')
  t.match(line.err.message, /Failed query: insert into "comments"/, 'the statement is named')
  t.match(line.err.message, /params: \[redacted\]/)
  t.match(line.err.stack, /params: \[redacted\]/)
  t.match(line.err.stack, /\n {4}at /, 'the stack stays')
  t.match(line.err.stack, /caused by: Error: duplicate key value/, 'and what PostgreSQL said')
})
