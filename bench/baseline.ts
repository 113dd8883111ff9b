// The baseline: a bare Fastify server that answers each captured read with the very bytes (and
// content-type) the real server sent for it, from memory. It is what "Fastify's own limit" means for
// these responses on this machine: routing, HTTP parsing and writing, and nothing else.
//
//   node --import tsx bench/baseline.ts --captures captures.json --port 4001
//
// It runs in its own process, like the real server, so it never shares an event loop with autocannon.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'

/** One response of the real server, keyed by the request URL (path and query). */
export interface Capture {
  url: string
  contentType: string
  /** The body bytes, base64. */
  body: string
}

export function buildBaseline (captures: Capture[]): FastifyInstance {
  const app = Fastify({ logger: false })
  const byUrl = new Map(captures.map((c) => [c.url, { type: c.contentType, body: Buffer.from(c.body, 'base64') }]))
  // One route for every captured URL: several scenarios share a path and differ only in the query.
  app.get('/*', (request, reply) => {
    const hit = byUrl.get(request.url)
    if (hit === undefined) return reply.code(404).send()
    return reply.type(hit.type).send(hit.body)
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
