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
  // A body written to end the values early for a reader that stops at what looks like a stack frame.
  const body = 'First line\n    at dawn, the second: other.reader@example.org'
  // As node-postgres reports a unique violation, under Drizzle's error as it wraps it (a batch binds arrays).
  const cause = Object.assign(new Error('duplicate key value violates unique constraint "readers_email_key"'),
    { code: '23505', detail: `Key (email)=(${email}) already exists.` })
  const failed = new DrizzleQueryError('insert into "comments" ("author_email", "body") select * from unnest($1::text[], $2::text[])', [[email, 'b@example.org'], [body, 'x']], cause)
  t.match(failed.message, email, 'the error itself carries the values (so the log must not)')

  logger.log.error({ err: failed }, 'a statement failed')
  logger.log.child({ reqId: 'r1' }).error({ err: failed }, 'in a request')
  logger.log.error(failed)
  logger.log.error({ err: new Error('the batch failed', { cause: failed }) }, 'wrapped')

  t.equal(lines.length, 4)
  for (const logged of lines) {
    t.notOk(logged.includes('reader@example.org'), 'no email in the log line')
    t.notOk(logged.includes('at dawn'), 'no body in the log line')
    t.notOk(logged.includes('b@example.org'), 'no other value')
  }
  const [line, child, bare, wrapped] = lines.map((l) => JSON.parse(l) as { msg: string, err: { type: string, message: string, stack: string, params?: unknown } })
  t.equal(line!.err.type, 'DrizzleQueryError')
  t.match(line!.err.message, /^Failed query: insert into "comments"[^\n]*\nparams: \[redacted\]/, 'the statement is named')
  t.match(line!.err.stack, /params: \[redacted\]\n {4}at /, 'the stack stays')
  t.match(line!.err.stack, /caused by: Error: duplicate key value/, 'and what PostgreSQL said')
  t.equal(line!.err.params, '[redacted]')
  t.same(child!.err, line!.err, 'a request\'s logger too')
  t.match(bare!.msg, /^Failed query: insert into "comments"[^\n]*\nparams: \[redacted\]/, 'an error logged alone: its message is the line\'s')
  t.match(wrapped!.err.stack, /caused by: Error: Failed query: [^\n]*\nparams: \[redacted\]/, 'an error that wraps one: its cause too')
  t.match(failed.message, email, 'the error itself is left as it was')
})
