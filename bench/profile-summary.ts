// Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof DIR`): where the server's time went,
// by function (self time) and by package or source file.
//
//   node --import tsx bench/profile-summary.ts bench/results/profiles/CPU.*.cpuprofile [--top 30] [--from SECONDS]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface Node {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}
interface Profile { nodes: Node[], samples: number[], timeDeltas: number[] }

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' }, from: { type: 'string', default: '0' } } })
const top = Number(values.top)
/** Seconds of the profile to skip: start-up (schema compilation, module loading) is not the hot path. */
const from = Number(values.from) * 1e6

/** "fastify", "drizzle-orm", "src/articles/repository.ts", "node:internal"… */
function owner (url: string): string {
  if (url === '') return '(native / V8)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]!
  const own = /\/((?:src|dist|bench)\/.+)$/.exec(url)
  if (own) return own[1]!
  return url.startsWith('node:') ? 'node:internal' : url
}

/**
 * What a self-time frame is spent on, for "where do the microseconds go". A JS frame that calls into
 * better-sqlite3 holds the native statement's time as its own (V8 charges a C++ callback to its caller),
 * so the Drizzle session's get/all/values and the tag reader's statement count as SQLite.
 */
function category (functionName: string, url: string): string {
  const u = url
  if (functionName === '(garbage collector)') return 'GC'
  if (u.includes('better-sqlite3') || u.includes('/db/native.') || u.includes('/tags/store.')) return 'SQLite statements (run, step, prepare)'
  if (u.includes('drizzle-orm')) return 'Drizzle: building queries, mapping rows'
  if (u.includes('fast-json-stringify') || (u === '' && /^anonymous\d*$/.test(functionName))) return 'serialisation (fast-json-stringify)'
  if (u.includes('/ajv') || (u === '' && /^validate\d+$/.test(functionName))) return 'validation (ajv)'
  if (u.includes('find-my-way')) return 'routing (find-my-way)'
  if (u.startsWith('node:internal/crypto') || u === 'node:crypto') return 'hashing (ETag sha256, HMAC, random ids)'
  if (u.includes('markdown-it') || u.includes('/lib/markdown.')) return 'markdown'
  if (u.includes('pino') || u.includes('@pinojs')) return 'logging (pino: child logger per request)'
  if (u.includes('/observability/') || u.includes('prom-client') || u.includes('opentelemetry')) return 'metrics, tracing'
  if (u.includes('zlib') || u.includes('@fastify/compress') || u.includes('/plugins/compression.')) return 'compression'
  if (u.includes('/http/response-cache.')) return 'response cache'
  if (u.includes('@fastify/') || u.includes('/plugins/') || u.includes('/http/caching.') || u.includes('/app.')) return 'other hooks and plugins (CORS, caching headers, budget, security headers, limits)'
  if (/\/(src|dist)\//.test(u) && !u.includes('node_modules')) return 'Gazette: routes, row mapping, pagination, ETag/send'
  if (u.includes('node_modules/fastify/') || u.includes('avvio')) return 'fastify core (hooks, reply)'
  if (u.startsWith('node:') || u === '') return 'Node: HTTP, sockets (writev), streams, timers, V8 builtins'
  return owner(u)
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  if (from > 0) {
    let at = 0
    const keep = profile.timeDeltas.map((d) => (at += d) >= from)
    profile.samples = profile.samples.filter((_, i) => keep[i])
    profile.timeDeltas = profile.timeDeltas.filter((_, i) => keep[i])
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const idle = [...self].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id)!.callFrame.functionName))
    .reduce((a, [, t]) => a + t, 0)
  const fn = new Map<string, number>()
  const mod = new Map<string, number>()
  const cat = new Map<string, number>()
  for (const [id, t] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    if (['(idle)', '(program)'].includes(functionName)) continue
    const key = `${functionName || '(anonymous)'}  ${owner(url)}${url ? `:${lineNumber + 1}` : ''}`
    fn.set(key, (fn.get(key) ?? 0) + t)
    mod.set(owner(url), (mod.get(owner(url)) ?? 0) + t)
    const c = category(functionName, url)
    cat.set(c, (cat.get(c) ?? 0) + t)
  }
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const inclusive = new Map<string, number>()
  // And per package or file: a sample counts once for each owner on its stack (fastify's hooks include
  // the routes they call, so these overlap; read each as "this and everything it called").
  const modInclusive = new Map<string, number>()
  profile.samples.forEach((leaf, i) => {
    const seen = new Set<string>()
    const owners = new Set<string>()
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const { functionName, url, lineNumber } = byId.get(id)!.callFrame
      if (['(idle)', '(program)', '(root)'].includes(functionName)) continue
      owners.add(owner(url))
      if (!/\/(src|dist)\//.test(url) || url.includes('node_modules')) continue
      seen.add(`${functionName || '(anonymous)'}  ${owner(url)}:${lineNumber + 1}`)
    }
    for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0))
    for (const k of owners) modInclusive.set(k, (modInclusive.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const busy = total - idle
  const pct = (t: number): string => `${((t / busy) * 100).toFixed(1).padStart(5)}%`
  console.log(`${file}\n  ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages are of busy time)\n`)
  console.log('  by what it is spent on (self time):')
  for (const [k, t] of [...cat].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(t)}  ${k}`)
  console.log('\n  by package or file (self time):')
  for (const [k, t] of [...mod].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(t)}  ${k}`)
  console.log('\n  by package or file (inclusive: it and what it called):')
  for (const [k, t] of [...modInclusive].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(t)}  ${k}`)
  console.log(`\n  top ${top} functions (self time):`)
  for (const [k, t] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(t)}  ${k}`)
  console.log('\n  Gazette\'s own functions, inclusive time (with everything they call):')
  for (const [k, t] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(t)}  ${k}`)
  console.log()
}
