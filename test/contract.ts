// Response validation for tests: every response the suite receives through test/helper.ts must match
// what the OpenAPI document declares for its route and status: the status, the content type and body
// (against its schema), and the headers the document manages (src/http/documenter.ts): one that
// is sent must be declared, one declared as required must be sent, and its value must match its schema.
// It runs in tests only; production serialises through the same schemas but does not validate.
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import type { LightMyRequestResponse } from 'fastify'

interface Header { $ref?: string, required?: boolean, schema?: object }
interface Operation { responses?: Record<string, { content?: Record<string, { schema?: object }>, headers?: Record<string, Header> }> }
type Document = { paths: Record<string, Record<string, Operation>>, components?: { headers?: Record<string, Header> } } & Record<string, unknown>

/** A response as the checker sees it: the body already decoded from its content coding. */
export interface CheckedResponse {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

export interface ContractChecker {
  /** Problems with this response, or an empty list when it matches the document. */
  check: (method: string, url: string, res: LightMyRequestResponse) => string[]
  /** The same, for a response whose body is already decoded (from fetch). */
  checkDecoded: (method: string, url: string, res: CheckedResponse) => string[]
}

/** Headers the document must declare wherever they are sent (src/http/documenter.ts). */
export const CHECKED_HEADERS = ['etag', 'location', 'link', 'retry-after', 'idempotent-replayed', 'x-request-id', 'www-authenticate', 'last-modified']

/** The body as text, undoing gzip or brotli content coding. */
function decodedBody (res: LightMyRequestResponse): string {
  const coding = res.headers['content-encoding']
  if (coding === 'gzip') return gunzipSync(res.rawPayload).toString('utf8')
  if (coding === 'br') return brotliDecompressSync(res.rawPayload).toString('utf8')
  return res.body
}

// One checker per document for the whole test process: Ajv compiles each response schema the first time it
// checks one, and most test apps make the same document (a configuration can change it: then the key does).
const checkers = new Map<string, ContractChecker>()

export function contractChecker (doc: Document): ContractChecker {
  const key = JSON.stringify(doc)
  let checker = checkers.get(key)
  if (checker === undefined) {
    checker = newChecker(doc)
    checkers.set(key, checker)
  }
  return checker
}

function newChecker (doc: Document): ContractChecker {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true })
  addFormats.default(ajv)
  ajv.addSchema(doc as object, 'doc')
  // Header values are text: an integer header is checked as one.
  const headerAjv = new Ajv2020({ strict: false, coerceTypes: true })
  addFormats.default(headerAjv)
  const routes = Object.keys(doc.paths).map((template) => ({
    template,
    params: (template.match(/\{/g) ?? []).length,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]*')}$`)
  })).sort((a, b) => a.params - b.params)
  const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')
  const resolve = (header: Header): Header => {
    const name = header.$ref?.replace('#/components/headers/', '')
    return name === undefined ? header : { ...doc.components?.headers?.[name], ...header }
  }

  function headerProblems (where: string, declared: Record<string, Header>, res: CheckedResponse): string[] {
    const byName = new Map(Object.entries(declared).map(([name, header]) => [name.toLowerCase(), resolve(header)]))
    const out: string[] = []
    for (const name of CHECKED_HEADERS) {
      const value = res.headers[name]
      const header = byName.get(name)
      if (value !== undefined && header === undefined) out.push(`${where} sent ${name}, which is not declared`)
      if (value === undefined && header?.required === true) out.push(`${where} did not send ${name}, which is declared as required`)
      if (value !== undefined && header?.schema !== undefined && !headerAjv.validate(header.schema, String(value))) {
        out.push(`${where} sent ${name}: ${String(value)}, which does not match its schema`)
      }
    }
    return out
  }

  function checkDecoded (method: string, url: string, res: CheckedResponse): string[] {
    const path = url.split('?')[0] ?? url
    if (path === '/docs' || path.startsWith('/docs/')) return [] // Swagger UI's own pages
    if (method.toUpperCase() === 'OPTIONS') return [] // CORS preflights: HTTP plumbing, not operations
    const route = routes.find((r) => r.pattern.test(path))
    if (!route) return [401, 404, 405].includes(res.statusCode) ? [] : [`no documented path for ${path}`]
    const verb = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase()
    const operation = doc.paths[route.template]?.[verb]
    if (!operation) return [405, 414].includes(res.statusCode) ? [] : [`${method} ${route.template} is not documented`]
    const status = String(res.statusCode)
    const declared = operation.responses?.[status]
    if (!declared) return [`${method} ${route.template} answered ${status}, which is not documented`]
    const headers = headerProblems(`${method} ${route.template} ${status}`, declared.headers ?? {}, res)
    if (method.toUpperCase() === 'HEAD' || res.body === '') return headers
    const type = String(res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? ''
    const media = declared.content?.[type]
    if (!media) return [...headers, `${method} ${route.template} ${status} sent ${type}, which is not documented`]
    // Only JSON bodies are checked against their schema: YAML and XML (feeds, sitemaps) are strings.
    if (!media.schema || !/(^|\+)json$|\/json$/.test(type)) return headers
    const ref = `doc#/${pointer('paths', route.template, verb, 'responses', status, 'content', type, 'schema')}`
    const validate = ajv.getSchema(ref)
    if (!validate) return [...headers, `cannot compile ${ref}`]
    // JSON bodies are parsed; a text one (the Prometheus exposition of /metrics) is checked as a string.
    if (validate(type.endsWith('json') ? JSON.parse(res.body) : res.body)) return headers
    return [...headers, ...(validate.errors ?? []).map((e) => `${method} ${route.template} ${status}: ${e.instancePath} ${e.message ?? ''}`)]
  }

  return {
    checkDecoded,
    check: (method, url, res) => checkDecoded(method, url, { statusCode: res.statusCode, headers: res.headers, body: res.body === '' ? '' : decodedBody(res) })
  }
}
