// The Vary header, merged: names added once each whatever their case, in their usual spelling. Used by the
// Cache-Control plugin (src/plugins/cache-control.ts) and by compression (src/plugins/compression.ts).
import type { FastifyReply } from 'fastify'

const CANONICAL: Record<string, string> = {
  authorization: 'Authorization',
  'accept-encoding': 'Accept-Encoding',
  origin: 'Origin',
  'access-control-request-headers': 'Access-Control-Request-Headers'
}

/** Adds names to the Vary header, once each whatever their case, in their usual spelling. */
export function mergeVary (reply: FastifyReply, ...names: string[]): void {
  const current = reply.getHeader('vary')
  const all = [...(current === undefined ? [] : String(current).split(',')), ...names]
    .map((n) => n.trim()).filter(Boolean)
  if (all.includes('*')) {
    reply.header('vary', '*')
    return
  }
  const seen = new Map<string, string>()
  for (const name of all) {
    const lower = name.toLowerCase()
    if (!seen.has(lower)) seen.set(lower, CANONICAL[lower] ?? name)
  }
  if (seen.size > 0) reply.header('vary', [...seen.values()].join(', '))
}
