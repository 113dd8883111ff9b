// The error table (src/http/problem-rules.ts): a synthetic error per row → its status, type and log level,
// first match winning. test/http/errors.test.ts covers the same answers over HTTP.
import t from 'tap'
import type { FastifyError } from 'fastify'
import { HttpProblem } from '../../src/http/errors.js'
import { ERROR_RULES, FRAMEWORK_PROBLEMS, ruleFor } from '../../src/http/problem-rules.js'

const error = (message: string, props: Record<string, unknown> = {}): FastifyError =>
  Object.assign(new Error(message), props) as unknown as FastifyError

const cases: Array<{ rule: string, error: FastifyError, status: number, type: string, log?: 'warn' | 'error' }> = [
  { rule: 'http-problem', error: new HttpProblem(409, 'conflict', 'Conflict', 'Taken.') as unknown as FastifyError, status: 409, type: '/problems/conflict' },
  {
    rule: 'validation',
    error: error('body/title must be string', {
      statusCode: 400,
      validationContext: 'body',
      validation: [{ instancePath: '', keyword: 'required', params: { missingProperty: 'title' }, message: 'must have required property' }]
    }),
    status: 422,
    type: '/problems/validation'
  },
  { rule: 'framework', error: error('Unsupported Media Type', { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }), status: 415, type: '/problems/unsupported-media-type' },
  { rule: 'framework', error: error('Too large', { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }), status: 413, type: '/problems/payload-too-large' },
  { rule: 'malformed', error: new SyntaxError('Unexpected token') as unknown as FastifyError, status: 400, type: '/problems/malformed-request' },
  { rule: 'malformed', error: error('Bad', { statusCode: 400 }), status: 400, type: '/problems/malformed-request' },
  { rule: 'rate-limited', error: error('Rate limit exceeded, retry in 1 minute', { statusCode: 429 }), status: 429, type: '/problems/rate-limited' },
  { rule: 'client-error', error: error('Gone', { statusCode: 410 }), status: 410, type: '/problems/bad-request' },
  { rule: 'query-timeout', error: error('interrupted', { code: 'SQLITE_INTERRUPT' }), status: 503, type: '/problems/query-timeout', log: 'warn' },
  { rule: 'query-timeout', error: error('wrapped', { cause: { code: 'SQLITE_INTERRUPT' } }), status: 503, type: '/problems/query-timeout', log: 'warn' },
  { rule: 'internal', error: error('boom'), status: 500, type: '/problems/internal', log: 'error' },
  { rule: 'internal', error: error('server side', { statusCode: 502 }), status: 500, type: '/problems/internal', log: 'error' }
]

t.test('each error takes its row', async (t) => {
  for (const c of cases) {
    const rule = ruleFor(c.error)
    t.equal(rule.name, c.rule, `${c.error.message} → ${c.rule}`)
    const outcome = rule.problem(c.error, 'req-1')
    t.equal(outcome.status, c.status)
    t.equal(outcome.type, c.type)
    t.type(outcome.title, 'string')
    t.type(outcome.detail, 'string')
    t.equal(rule.log?.level, c.log, `${c.rule} logs ${c.log ?? 'nothing'}`)
  }
  t.same(new Set(cases.map((c) => c.rule)), new Set(ERROR_RULES.map((r) => r.name)), 'every row has a case')
})

t.test('first match wins: an HttpProblem with status 429 takes its own row', async (t) => {
  const limited = new HttpProblem(429, 'search-rate-limited', 'Too Many Requests', 'Slow down.', undefined, { 'retry-after': '3' })
  const rule = ruleFor(limited as unknown as FastifyError)
  t.equal(rule.name, 'http-problem')
  t.same(rule.problem(limited as unknown as FastifyError, 'r'), {
    status: 429, type: '/problems/search-rate-limited', title: 'Too Many Requests', detail: 'Slow down.', errors: undefined, headers: { 'retry-after': '3' }
  })
})

t.test('the details', async (t) => {
  const validation = ruleFor(cases[1]!.error).problem(cases[1]!.error, 'r')
  t.equal(validation.detail, 'body/title is required')
  t.same(validation.errors, [{ in: 'body', pointer: '/title', message: 'is required' }])
  const timeout = ruleFor(cases[8]!.error).problem(cases[8]!.error, 'req-42')
  t.match(timeout.detail, /request id req-42/)
  t.same(timeout.headers, { 'retry-after': '1' })
  t.match(ruleFor(cases[10]!.error).problem(cases[10]!.error, 'req-43').detail, /request id req-43/)
  for (const [code, [status]] of Object.entries(FRAMEWORK_PROBLEMS)) {
    t.equal(ruleFor(error('x', { code })).problem(error('x', { code }), 'r').status, status, code)
  }
})
