// How an error becomes a problem (RFC 9457): ERROR_RULES, in order, first match wins; the last matches
// everything. src/plugins/problems.ts finds the rule, logs what it says, and sends the problem.
// A new problem type is an HttpProblem (src/http/errors.ts, rule 1); a library's error that deserves its own
// answer gets a row here.
import type { FastifyError } from 'fastify'
import { isInterrupted } from '../db/native.js'
import { HttpProblem, type FieldError } from './errors.js'
import { EMAIL_PATTERN, EMAIL_RULE } from './schemas.js'
import { HEADER_RULES } from './headers.js'
import { TIMESTAMP_RULE } from './time.js'

const contexts: Record<string, FieldError['in']> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' }

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** A property name as one JSON Pointer token (RFC 6901): `~` is `~0`, `/` is `~1`. */
const escapePointer = (name: string) => name.replace(/~/g, '~0').replace(/\//g, '~1')

/** A validation error's field errors, one per location, with Gazette's wording of its rules. */
export function fieldErrors (error: FastifyError): FieldError[] {
  const where = contexts[error.validationContext ?? 'body'] ?? 'body'
  const seen = new Set<string>()
  // One error per location: the first is the most specific (for a nullable field, the branch that
  // failed on the value rather than "must be null" and "must match a schema in anyOf").
  return (error.validation as unknown as AjvError[]).map((e) => {
    let pointer = e.instancePath
    let message = e.message ?? 'is invalid'
    if (e.keyword === 'required') {
      pointer += `/${escapePointer(String(e.params.missingProperty))}`
      message = 'is required'
    } else if (e.keyword === 'format' && e.params.format === 'date-time') {
      message = TIMESTAMP_RULE
    } else if ((e.keyword === 'pattern' && e.params.pattern === EMAIL_PATTERN) || (e.keyword === 'format' && e.params.format === 'email')) {
      message = EMAIL_RULE
    } else if (e.keyword === 'pattern' && HEADER_RULES[String(e.params.pattern)] !== undefined) {
      message = HEADER_RULES[String(e.params.pattern)]!
    } else if (e.keyword === 'additionalProperties') {
      pointer += `/${escapePointer(String(e.params.additionalProperty))}`
      message = where === 'query' ? 'is not a known query parameter' : 'is not a known field'
    }
    return { in: where, pointer, message }
  }).filter((e) => !seen.has(e.pointer) && seen.add(e.pointer))
}

/** Fastify's own 4xx errors (and @fastify/compress's, decoding a request body), by code: status, problem, title. */
export const FRAMEWORK_PROBLEMS: Record<string, [number, string, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported-media-type', 'Unsupported Media Type'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload-too-large', 'Payload Too Large'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'malformed-request', 'Malformed Request'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'malformed-request', 'Malformed Request'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'malformed-request', 'Malformed Request'],
  // src/plugins/compression.ts
  FST_CP_ERR_INVALID_CONTENT_ENCODING: [415, 'unsupported-media-type', 'Unsupported Media Type'],
  FST_CP_ERR_INVALID_CONTENT: [400, 'malformed-request', 'Malformed Request']
}

/** What a rule makes of an error; the handler adds the request's `instance`. */
export interface ProblemOutcome {
  status: number
  type: string
  title: string
  detail: string
  errors?: FieldError[]
  headers?: Record<string, string>
}

export interface ErrorRule {
  name: string
  matches (error: FastifyError): boolean
  problem (error: FastifyError, requestId: string): ProblemOutcome
  /** Logged with the error; problems the client caused are not logged. */
  log?: { level: 'warn' | 'error', message: string }
}

const frameworkProblem = (error: FastifyError) => error.code ? FRAMEWORK_PROBLEMS[error.code] : undefined

export const ERROR_RULES: readonly ErrorRule[] = [
  {
    name: 'http-problem',
    matches: (error) => error instanceof HttpProblem,
    problem: (error) => {
      const p = error as unknown as HttpProblem
      return { status: p.status, type: `/problems/${p.problem}`, title: p.title, detail: p.message, errors: p.errors, headers: p.headers }
    }
  },
  {
    name: 'validation',
    matches: (error) => Boolean(error.validation),
    problem: (error) => {
      const errors = fieldErrors(error)
      const first = errors[0]
      return {
        status: 422,
        type: '/problems/validation',
        title: 'Validation Failed',
        detail: first ? `${first.in}${first.pointer} ${first.message}` : 'The request does not match the schema.',
        errors
      }
    }
  },
  {
    name: 'framework',
    matches: (error) => frameworkProblem(error) !== undefined,
    problem: (error) => {
      const [status, problem, title] = frameworkProblem(error)!
      return { status, type: `/problems/${problem}`, title, detail: error.message }
    }
  },
  {
    name: 'malformed',
    matches: (error) => error instanceof SyntaxError || error.statusCode === 400,
    problem: () => ({ status: 400, type: '/problems/malformed-request', title: 'Malformed Request', detail: 'The request could not be parsed.' })
  },
  {
    name: 'rate-limited',
    matches: (error) => error.statusCode === 429,
    problem: (error) => ({ status: 429, type: '/problems/rate-limited', title: 'Too Many Requests', detail: error.message })
  },
  {
    name: 'client-error',
    matches: (error) => error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500,
    problem: (error) => ({ status: error.statusCode!, type: '/problems/bad-request', title: 'Bad Request', detail: error.message })
  },
  {
    // A statement stopped by the query budget (src/plugins/query-budget.ts): the server is fine, this
    // request took too long; routes whose input is the problem answer 422 themselves.
    name: 'query-timeout',
    matches: (error) => isInterrupted(error),
    problem: (_error, requestId) => ({
      status: 503,
      type: '/problems/query-timeout',
      title: 'Service Unavailable',
      detail: `A query of this request ran longer than the server allows one to run (QUERY_BUDGET_MS). Retry in a moment; quote request id ${requestId} if it persists.`,
      headers: { 'retry-after': '1' }
    }),
    log: { level: 'warn', message: 'query budget exceeded' }
  },
  {
    name: 'internal',
    matches: () => true,
    problem: (_error, requestId) => ({
      status: 500,
      type: '/problems/internal',
      title: 'Internal Server Error',
      detail: `Something went wrong on our side. Quote request id ${requestId} when reporting it.`
    }),
    log: { level: 'error', message: 'unhandled error' }
  }
]

/** The first rule that matches the error (the last one matches everything). */
export const ruleFor = (error: FastifyError): ErrorRule => ERROR_RULES.find((rule) => rule.matches(error))!
