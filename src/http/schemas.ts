// Shared schema pieces. Entity schemas carry an $id and are registered once (src/components.ts),
// so the OpenAPI document names them as components instead of inlining copies.
import { Type, type Static, type TSchema } from 'typebox'

/**
 * A $ref to a registered schema that keeps the referenced type for inference. (@fastify/swagger drops
 * anything beside a $ref: describe the referenced schema itself.)
 */
export const ref = <T extends TSchema>(schema: T) =>
  Type.Unsafe<Static<T>>(Type.Ref((schema as { $id?: string }).$id!))

export const SLUG_PATTERN = '^[a-z0-9]+(-[a-z0-9]+)*$'

export const Slug = Type.String({
  pattern: SLUG_PATTERN,
  minLength: 1,
  maxLength: 80,
  description: 'Lowercase ASCII words joined by hyphens.',
  examples: ['pacific-fleet-returns-to-vladivostok']
})

export const Timestamp = Type.String({
  format: 'date-time',
  description: 'RFC 3339 timestamp. Sent as UTC with milliseconds; accepted with an offset too, when it names an instant stored exactly: a year from 0001 to 9999 in UTC, no leap second (`:60`), at most millisecond precision (else 422).',
  examples: ['2026-07-08T09:15:00.000Z']
})

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** An absolute http or https URL (any other scheme is refused). */
export const HttpUrl = (description: string, examples?: string[]) => Type.String({
  format: 'uri',
  maxLength: 2000,
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\s]',
  description,
  ...(examples === undefined ? {} : { examples })
})

/**
 * The email addresses Gazette accepts (it is the `email` format of the validator too, src/http/validation.ts):
 * a dot-atom local part, `@`, and a domain name of two labels or more. An address at a bare host name
 * (`ivan@localhost`), an IP literal, a quoted local part or a non-ASCII address is refused: a reader's
 * address is one a mail system on the Internet could deliver to, and the rule catches `ivan@gmailcom`.
 */
export const EMAIL_PATTERN = "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"

export const EMAIL_RULE = 'must be an email address at a domain name with a dot, such as ivan@example.com'

/** An email address as Gazette accepts it (`EMAIL_PATTERN`). */
export const EmailAddress = (description: string) => Type.String({
  format: 'email',
  pattern: EMAIL_PATTERN,
  maxLength: 254,
  description: `${description} An address such as \`ivan@example.com\`: dot-separated words of letters, digits and \`\`!#$%&'*+/=?^_\`{|}~-\`\`, \`@\`, and a domain name with at least one dot; at most 254 characters. A bare host (\`ivan@localhost\`), an IP literal, a quoted local part or a non-ASCII address is a 422.`,
  examples: ['ivan@example.com']
})

export const FieldErrorSchema = Type.Object({
  in: StringEnum(['body', 'query', 'path', 'header'], { description: 'The part of the request the value is in.' }),
  pointer: Type.String({ description: 'JSON Pointer to the offending value within its part of the request.' }),
  message: Type.String()
}, { additionalProperties: false })

export const Problem = Type.Object({
  type: Type.String({ description: 'A relative URI naming the problem: /problems/<name>.', examples: ['/problems/validation'] }),
  title: Type.String({ examples: ['Validation Failed'] }),
  status: Type.Integer({ minimum: 400, maximum: 599, examples: [422] }),
  detail: Type.Optional(Type.String({ examples: ['body/title must NOT have fewer than 1 characters'] })),
  instance: Type.Optional(Type.String({ description: 'The path of the failing request, without its query string. (A 500\'s `detail` names the request id, as the `X-Request-Id` header of every response does.)', examples: ['/v1/articles/no-such-story'] })),
  errors: Type.Optional(Type.Array(FieldErrorSchema))
}, {
  $id: 'Problem',
  title: 'Problem',
  description: 'RFC 9457 problem details. Sent with Content-Type application/problem+json.',
  additionalProperties: false,
  examples: [{
    type: '/problems/validation',
    title: 'Validation Failed',
    status: 422,
    detail: 'body/title must NOT have fewer than 1 characters',
    instance: '/v1/articles',
    errors: [{ in: 'body', pointer: '/title', message: 'must NOT have fewer than 1 characters' }]
  }]
})
export type ProblemBody = Static<typeof Problem>

const problemDescriptions: Record<number, string> = {
  400: 'Malformed request: the body is not parseable JSON (or nested too deep, or does not decode with its Content-Encoding), or the URL has a broken escape.',
  414: 'The request target (URL) is longer than the limit.',
  401: 'No valid bearer token (`WWW-Authenticate: Bearer`).',
  403: 'The token\'s role does not allow this.',
  404: 'No such resource, or the caller may not see it.',
  409: 'Conflict with the current state (a slug that is taken, comments closed, an Idempotency-Key still in use, a resource that kept changing while a write was applied).',
  412: 'If-Match does not match the current ETag.',
  413: 'Body larger than the limit (counted after decoding its Content-Encoding).',
  415: 'Body is not application/json, or its Content-Encoding is not gzip, deflate or br.',
  422: 'Validation failed, or an Idempotency-Key reused with another request.',
  429: 'Too many requests (`Retry-After`).',
  503: 'Overloaded (`/problems/overloaded`), the request\'s queries ran past `QUERY_BUDGET_MS` (`/problems/query-timeout`), or the database does not answer; sends `Retry-After` when shedding load or past the budget.',
  500: 'A defect on our side; the body names only the request id.'
}

/** Response declarations for the problem statuses a route can send. */
export function problems (...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {}
  for (const status of [...statuses, 500]) {
    out[status] = Type.Unsafe({
      description: problemDescriptions[status] ?? 'Problem',
      content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
    })
  }
  return out
}

export const PageInfo = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100 }),
  nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` to get the next page; null on the last page.' })),
  total: Type.Optional(Type.Integer({ minimum: 0, description: 'All matching items; only with `include=total`.' }))
}, { $id: 'PageInfo', title: 'PageInfo', additionalProperties: false })

/**
 * The largest id or revision number a client may send: PostgreSQL keeps them in 32-bit integer columns
 * (src/db/pg/schema.ts), so none can be larger there, and SQLite, whose integers are 64-bit, is held to the
 * same answers. A larger number is refused as invalid (422) before any statement is made; a statement given
 * one on PostgreSQL failed (a 500).
 */
export const ROW_ID_MAX = 2_147_483_647

/** An id or revision number a client sends to name a stored row: 1 to ROW_ID_MAX. */
export const RowId = (description: string, examples?: number[]) =>
  Type.Integer({ minimum: 1, maximum: ROW_ID_MAX, description, ...(examples === undefined ? {} : { examples }) })

export const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Items per page.' })
export const Cursor = Type.String({ minLength: 1, maxLength: 512, description: 'Opaque cursor from a previous page\'s `nextCursor`.' })
export const IncludeTotal = StringEnum(['total'], {
  $id: 'IncludeTotal',
  title: 'IncludeTotal',
  description: '`total` adds `page.total`, the count of all matching items.'
})

/** A response with no body (204, 301, 304). */
export const Empty = (description: string) => Type.Unsafe<undefined>({ description })

export const NoContent = Empty('No content.')

export const NotModified = Empty('Not modified: the `If-None-Match` ETag is still current.')

/**
 * A string enum as code generators read it best, `{ type: 'string', enum: [...] }`, typed as the union of
 * its values. Give it an `$id` (and register it) to make it a named component.
 */
export function StringEnum<const T extends readonly string[]> (values: T, options: Record<string, unknown> = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}
