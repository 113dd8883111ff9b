// Response validation for tests: every response the suite receives through test/helper.ts must match
// what the OpenAPI document declares for its route, status and content type. It runs in tests only;
// production serialises through the same schemas but does not validate.
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import type { LightMyRequestResponse } from 'fastify'

interface Operation { responses?: Record<string, { content?: Record<string, { schema?: object }> }> }
type Document = { paths: Record<string, Record<string, Operation>> } & Record<string, unknown>

export interface ContractChecker {
  /** Problems with this response, or an empty list when it matches the document. */
  check: (method: string, url: string, res: LightMyRequestResponse) => string[]
}

/** The body as text, undoing gzip or brotli content coding. */
function decodedBody (res: LightMyRequestResponse): string {
  const coding = res.headers['content-encoding']
  if (coding === 'gzip') return gunzipSync(res.rawPayload).toString('utf8')
  if (coding === 'br') return brotliDecompressSync(res.rawPayload).toString('utf8')
  return res.body
}

export function contractChecker (doc: Document): ContractChecker {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true })
  addFormats.default(ajv)
  ajv.addSchema(doc as object, 'doc')
  const routes = Object.keys(doc.paths).map((template) => ({
    template,
    params: (template.match(/\{/g) ?? []).length,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]*')}$`)
  })).sort((a, b) => a.params - b.params)
  const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')

  return {
    check (method, url, res) {
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
      if (method.toUpperCase() === 'HEAD' || res.body === '') return []
      const type = String(res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? ''
      const media = declared.content?.[type]
      if (!media) return [`${method} ${route.template} ${status} sent ${type}, which is not documented`]
      // Only JSON bodies are checked against their schema: YAML and XML (feeds, sitemaps) are strings.
      if (!media.schema || !/(^|\+)json$|\/json$/.test(type)) return []
      const ref = `doc#/${pointer('paths', route.template, verb, 'responses', status, 'content', type, 'schema')}`
      const validate = ajv.getSchema(ref)
      if (!validate) return [`cannot compile ${ref}`]
      // JSON bodies are parsed; a text one (the Prometheus exposition of /metrics) is checked as a string.
      if (validate(type.endsWith('json') ? JSON.parse(decodedBody(res)) : decodedBody(res))) return []
      return (validate.errors ?? []).map((e) => `${method} ${route.template} ${status}: ${e.instancePath} ${e.message ?? ''}`)
    }
  }
}
