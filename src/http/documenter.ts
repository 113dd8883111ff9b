// What every operation of the OpenAPI document gets, in one pass over the generated document
// (@fastify/swagger's transformObject, src/plugins/openapi.ts), so that every route has it, including
// routes added later, without a line of its own:
// - a response that never has a body (204, 304, a redirect) declares no content;
// - the headers the server sends are declared where it sends them, by the rules of `headersOf`, which
//   follow the code that sets them (src/http/conditional.ts, pagination.ts, errors.ts, src/plugins/idempotency.ts,
//   src/plugins/limits.ts). The shared ones are components (`#/components/headers/ETag`); a route's own
//   wording of one (the `Location` of a comment) stays as the description of its reference. Header
//   names are spelt once, in their usual case;
// - a parameter whose schema is a reference (a named enum) is described by the referenced schema, since
//   @fastify/swagger drops anything written beside a $ref.
// test/contract.ts holds every response the test suite receives to this: a sent header that is not
// declared, or a required one that is missing, fails the test that made it.

/** The shared response headers, as components. `required` ones are sent on every response that declares them. */
export const RESPONSE_HEADERS = {
  'X-Request-Id': {
    description: 'This request\'s id: the client\'s own `X-Request-Id` when it sent a usable one (1–128 letters, digits or `_.:@-`), else a new UUID. The server\'s log lines carry it, and a 500\'s problem names it.',
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: 128 }
  },
  ETag: {
    description: 'The strong validator of this representation. A compressed body\'s ETag carries the coding inside the quotes (`"…+gzip"`, `"…+br"`); either form works as a validator. Send it in `If-None-Match` to revalidate (304), or in `If-Match` to write only if nobody changed the resource since (else 412).',
    required: true,
    schema: { type: 'string', pattern: '^"[\\x21\\x23-\\x7e\\x80-\\xff]*"$' }
  },
  Location: {
    description: 'The URL (a path on this API) of the new resource (201), or where the resource now lives (301).',
    required: true,
    schema: { type: 'string', format: 'uri-reference' }
  },
  Link: {
    description: 'The next page, while there is one: `<{url}>; rel="next"`, the URL relative to this API. The same cursor is in `page.nextCursor`.',
    required: false,
    schema: { type: 'string' }
  },
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    required: false,
    schema: { type: 'integer', minimum: 0 }
  },
  'Idempotent-Replayed': {
    description: 'Present on the stored answer to an earlier request with the same `Idempotency-Key`, replayed instead of acting twice.',
    required: false,
    schema: { type: 'string', enum: ['true'] }
  },
  'Surrogate-Key': {
    description: 'What this public answer was read from, as space-separated dependency keys (`article:12`, `comments:12`, `tag:world`, `list:articles`, `list:tags`, `public-clock`, `openapi`), for a CDN that purges by key (Fastly surrogate keys, Varnish xkey). Gazette drops its own cached copy when a write touches one of them; a CDN purges the same keys after the same writes (README.md, "Behind a CDN", says which write touches which). Sent on the answers of cacheable public GETs to callers without a token.',
    required: false,
    schema: { type: 'string', examples: ['article:12 tag:world tag:desk'] }
  },
  'WWW-Authenticate': {
    description: 'The authentication scheme to use: `Bearer realm="gazette"`.',
    required: true,
    schema: { type: 'string' }
  }
} as const

export type ResponseHeaderName = keyof typeof RESPONSE_HEADERS

/** Statuses whose responses never carry a body. */
export const bodiless = (status: number): boolean =>
  status === 204 || status === 304 || (status >= 100 && status < 200) || [301, 302, 303, 307, 308].includes(status)

interface Parameter { in?: string, name?: string, description?: string, schema?: { $ref?: string } }
interface Operation {
  parameters?: Parameter[]
  responses?: Record<string, Response>
}
interface Response {
  description?: string
  content?: unknown
  headers?: Record<string, Header>
}
interface Header { $ref?: string, description?: string, required?: boolean, schema?: unknown }
interface Document {
  paths?: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, { description?: string }>, headers?: unknown }
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const

/** Statuses a POST can be replayed with: anything answered after its key was claimed, below 500 (src/plugins/idempotency.ts). */
const replayable = (status: number) => (status >= 200 && status < 400) || [404, 409, 412, 422].includes(status)

/** The shared headers a response of `operation` (by `method`) with `status` carries, by the rules the code follows. */
export function headersOf (method: string, operation: Operation, status: number, hasBody: boolean): ResponseHeaderName[] {
  const responses = operation.responses ?? {}
  // A conditional operation (it answers 304, or takes If-Match) sends its representation with its ETag.
  const conditional = '304' in responses || '412' in responses
  const paginated = (operation.parameters ?? []).some((p) => p.in === 'query' && p.name === 'cursor')
  const names: ResponseHeaderName[] = ['X-Request-Id']
  if (status === 304 || status === 201 || (status >= 200 && status < 300 && hasBody && conditional)) names.push('ETag')
  if (status === 201 || (status >= 300 && status < 400 && status !== 304)) names.push('Location')
  if (paginated && method === 'get' && status === 200) names.push('Link')
  if (status === 429 || status === 503 || (method === 'post' && status === 409)) names.push('Retry-After')
  if (method === 'post' && replayable(status)) names.push('Idempotent-Replayed')
  if (status === 401) names.push('WWW-Authenticate')
  return names
}

const CANONICAL = new Map<string, string>([
  ...Object.keys(RESPONSE_HEADERS).map((name) => [name.toLowerCase(), name] as [string, string]),
  ['ratelimit-limit', 'RateLimit-Limit'], ['ratelimit-remaining', 'RateLimit-Remaining'], ['ratelimit-reset', 'RateLimit-Reset']
])

/** A header name in its usual spelling: `etag` → `ETag`, `last-modified` → `Last-Modified`. */
export const canonicalHeader = (name: string): string =>
  CANONICAL.get(name.toLowerCase()) ?? name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())

function documentResponse (method: string, operation: Operation, status: number, response: Response): void {
  if (bodiless(status)) delete response.content
  const declared: Record<string, Header> = {}
  for (const [name, header] of Object.entries(response.headers ?? {})) declared[canonicalHeader(name)] = header
  for (const name of headersOf(method, operation, status, response.content !== undefined)) declared[name] ??= {}
  const headers: Record<string, Header> = {}
  for (const [name, header] of Object.entries(declared)) {
    if (!(name in RESPONSE_HEADERS)) {
      headers[name] = header
      continue
    }
    // A route's own wording is kept as the description of the reference (OpenAPI 3.1 allows it).
    const shared = RESPONSE_HEADERS[name as ResponseHeaderName]
    const own = header.description !== undefined && header.description !== shared.description ? { description: header.description } : {}
    headers[name] = { $ref: `#/components/headers/${name}`, ...own }
  }
  response.headers = headers
}

/** A parameter without a description of its own takes that of the schema it references. */
function describeParameter (parameter: Parameter, schemas: Record<string, { description?: string }>): void {
  const name = parameter.schema?.$ref?.replace('#/components/schemas/', '')
  const description = name === undefined ? undefined : schemas[name]?.description
  if (parameter.description === undefined && description !== undefined) parameter.description = description
}

/** The document with every operation documented as above; it is changed in place and returned. */
export function documentHttp<T extends object> (document: T): T {
  const doc = document as Document
  for (const item of Object.values(doc.paths ?? {})) {
    // GET routes serve HEAD too (src/plugins/route-pipeline.ts); the document's info says so once,
    // instead of a second operation per GET.
    delete (item as Record<string, unknown>).head
    for (const method of METHODS) {
      const operation = item[method]
      if (operation === undefined) continue
      for (const parameter of operation.parameters ?? []) describeParameter(parameter, doc.components?.schemas ?? {})
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (/^\d{3}$/.test(status)) documentResponse(method, operation, Number(status), response)
      }
    }
  }
  doc.components = { ...doc.components, headers: structuredClone(RESPONSE_HEADERS) }
  return document
}
