// The baseline: a bare Fastify server that answers each captured read with the very bytes and headers the
// real server sent for it, from memory. It is what "Fastify's own limit" means for these responses on this
// machine: routing, HTTP parsing and writing, and nothing else.
//
// The body is kept as the string the real server serialised and sent with `reply.send(string)`, and the
// headers (content type, ETag, Link, the security and CORS headers, Cache-Control, Vary, even the request
// id) as one object set with `reply.headers()`: the same bytes on the wire, with none of the work that made
// them. Only what Node writes for every response itself (Date, Connection, Keep-Alive, Content-Length) is
// left to Node, on both sides.
//
//   node --import tsx bench/baseline.ts --captures captures.json --port 4001
//
// It runs in its own process, like the real server, so it never shares an event loop with autocannon.
import { readFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'

/** One response of the real server, keyed by the request URL (path and query). */
export interface Capture {
  url: string
  /** The response headers, lower-case names, without the ones Node writes itself (see `replayedHeaders`). */
  headers: Record<string, string>
  /** The body as text (every captured read is JSON or XML, UTF-8). */
  body: string
}

/** Headers Node's HTTP server writes for every response: the baseline leaves them to Node too. */
const perConnection = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

/** The headers of a real answer that the baseline sends again, as they came. */
export function replayedHeaders (headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !perConnection.has(name)) out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

export function buildBaseline (captures: Capture[]): FastifyInstance {
  const app = Fastify({ logger: false })
  const byUrl = new Map(captures.map((c) => [c.url, c]))
  // One route for every captured URL: several scenarios share a path and differ only in the query.
  app.get('/*', (request, reply) => {
    const hit = byUrl.get(request.url)
    if (hit === undefined) return reply.code(404).send()
    return reply.headers(hit.headers).send(hit.body)
  })
  return app
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { captures: { type: 'string' }, port: { type: 'string', default: '0' } } })
  if (values.captures === undefined) throw new Error('--captures is required')
  const app = buildBaseline(JSON.parse(readFileSync(values.captures, 'utf8')) as Capture[])
  const address = await app.listen({ host: '127.0.0.1', port: Number(values.port) })
  console.log(`baseline listening on ${address}`)
  process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
