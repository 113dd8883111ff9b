// Many processes, one database (API.md section 12, issue 16): two real server processes on one PostgreSQL
// database behave as one server. Each part runs RACE_ROUNDS rounds with the two processes taking turns:
// - an Idempotency-Key sent to both at once writes once, a retry on the other process replays the first
//   answer, and another body with the key is refused;
// - a write on one process is visible on the other within 100 ms with the response cache on (the other's
//   cache holds the old answer when the write is made: the notification must empty it);
// - flood control counts a client's comments on both processes together;
// - a scheduled publication is announced once though both schedulers wake for it;
// - a webhook receiver gets each event once, in the order of the log, though both dispatchers run.
// The If-Match races of the SQLite file are run on PostgreSQL by test/process/race.test.ts.
//
// `npm test` runs a short version; `npm run race` runs RACE_ROUNDS (default 300) rounds.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { cleanEnv, freePort, startServer } from '../../scripts/harness.js'
import { startReceiver } from '../../scripts/webhook-receiver.js'
import { testDatabase } from '../pg/cluster.js'

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 20)
/** COMMENT_RATE_LIMIT: comments a client may post a minute, on both processes together. */
const FLOOD = 5
const ADMIN = 'gz_cluster-admin-secret-0123456789abcdef'
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }

const dir = mkdtempSync(join(tmpdir(), 'gazette-cluster-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const { url } = await testDatabase(t)
// Both at once: testDatabase has migrated the database. Each process has a SQLite file of its own, so
// that nothing the two share can go through SQLite unseen. TRUST_PROXY lets each round be a client of its
// own (X-Forwarded-For), so flood control counts only what a round sends.
const [one, two] = await Promise.all(['one', 'two'].map(async (name) => {
  const server = await startServer(cleanEnv({
    PORT: String(await freePort()),
    DATABASE_URL: url,
    DATABASE_PATH: join(dir, `${name}.db`),
    PG_POOL_SIZE: '6',
    ADMIN_TOKEN: ADMIN,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'error',
    METRICS: 'true',
    TRUST_PROXY: 'loopback',
    COMMENT_MODERATION: 'none',
    COMMENT_RATE_LIMIT: String(FLOOD),
    // The machine is shared: no load shedding, and a statement may wait for the other's row lock.
    MAX_EVENT_LOOP_DELAY: '0',
    QUERY_BUDGET_MS: '10000',
    WEBHOOK_ALLOW_PRIVATE: 'true'
  }))
  t.teardown(async () => {
    server.child.kill('SIGTERM')
    await server.exited
  })
  return server.base
})) as [string, string]
const both = [one, two] as const
/** The round's pair: the processes swap roles every round. */
const pair = (i: number): [string, string] => i % 2 === 0 ? [one, two] : [two, one]
/** A client address of its own for the n-th poster (10.0.0.0/8, trusted through the loopback proxy). */
const client = (n: number) => ({ 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` })
let clients = 0

async function send (base: string, method: string, path: string, body?: object, headers: Record<string, string> = auth) {
  // A request without a body says no content type (DELETE with an empty JSON body is a 400).
  const { 'content-type': type, ...rest } = headers
  const res = await fetch(`${base}${path}`, body === undefined ? { method, headers: rest } : { method, headers: { ...rest, 'content-type': type ?? 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b)
  return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, slowest ${sorted.at(-1)!.toFixed(1)} ms (${sorted.length} writes)`
}

t.test('an Idempotency-Key holds across the processes', async (t) => {
  const replayed = ['content-type', 'location', 'etag']
  let bad = 0
  const outcomes = new Map<string, number>()
  for (let i = 0; i < ROUNDS; i++) {
    const [first, second] = pair(i)
    const headers = { ...auth, 'idempotency-key': `cluster-${i}` }
    const body = { title: `Once ${i}`, status: 'published' }
    const [a, b] = await Promise.all([first, second].map((base) => send(base, 'POST', '/v1/articles', body, headers)))
    const isOriginal = (r: typeof a) => r!.status === 201 && r!.headers.get('idempotent-replayed') === null
    // A retry after both answered, on the other process from the one that wrote.
    const retry = await send(isOriginal(a) ? second : first, 'POST', '/v1/articles', body, headers)
    const reused = await send(second, 'POST', '/v1/articles', { ...body, title: `Twice ${i}` }, headers)
    const twice = await send(first, 'GET', `/v1/articles/once-${i}-2`)
    const answers = [a!, b!].map((r) => `${r.status}${r.headers.get('idempotent-replayed') === 'true' ? 'r' : ''}`).sort()
    outcomes.set(answers.join('/'), (outcomes.get(answers.join('/')) ?? 0) + 1)
    const original = [a!, b!].filter(isOriginal)
    const others = [a!, b!].filter((r) => !original.includes(r))
    const ok = original.length === 1 &&
      // The other one came second: the first answer replayed, or told the first is still running.
      others.every((r) => (r.status === 201 && r.text === original[0]!.text) || (r.status === 409 && r.text.includes('idempotency-key-in-use'))) &&
      retry.status === 201 && retry.headers.get('idempotent-replayed') === 'true' && retry.text === original[0]!.text &&
      replayed.every((name) => retry.headers.get(name) === original[0]!.headers.get(name)) &&
      reused.status === 422 && JSON.parse(reused.text).type === '/problems/idempotency-key-reused' &&
      twice.status === 404
    if (!ok) {
      bad++
      t.comment(`round ${i}: ${answers.join('/')}, retry ${retry.status}, other body ${reused.status}, a second article ${twice.status}`)
    }
  }
  t.comment(`concurrent pair: ${[...outcomes].map(([k, n]) => `${k} ×${n}`).join(', ')}`)
  t.equal(bad, 0, `one write, the same answer replayed on the other process, another body refused: in each of ${ROUNDS} rounds`)
  const list = await send(two, 'GET', '/v1/articles?include=total&limit=1')
  t.equal(JSON.parse(list.text).page.total, ROUNDS, 'one article per key')
})

/** The response cache's hits so far, from the process's metrics. */
async function cacheHits (base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  return Number(/^gazette_response_cache_requests_total\{result="hit"\} (\d+)/m.exec(text)?.[1] ?? 0)
}

/** Reads `path` on `base` until an answer comes from memory: the cache holds it. */
async function warm (base: string, path: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await send(base, 'GET', path, undefined, {})
    const before = await cacheHits(base)
    await send(base, 'GET', path, undefined, {})
    if (await cacheHits(base) > before) return
  }
  throw new Error(`${path} never came from ${base}'s memory`)
}

/**
 * Reads `path` on `base` (as the public, through its cache), one read after another, until `seen`. How
 * old the write was when the first read that showed it was sent (the delay the contract bounds: a read
 * made that long after the write sees it), and when its answer arrived (that, plus the read's own time on
 * a loaded machine); Infinity past 2 s.
 */
async function seenAfter (base: string, path: string, seen: (res: { status: number, text: string }) => boolean): Promise<{ sent: number, answered: number }> {
  const start = performance.now()
  while (performance.now() - start < 2000) {
    const sent = performance.now() - start
    if (seen(await send(base, 'GET', path, undefined, {}))) return { sent, answered: performance.now() - start }
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  return { sent: Infinity, answered: Infinity }
}

t.test('a write on one process is seen on the other within 100 ms, its response cache included', async (t) => {
  t.equal((await send(one, 'POST', '/v1/articles', { title: 'Story', status: 'published' })).status, 201)
  const thread = '/v1/articles/story/comments?include=total&limit=1'
  const delays = { edit: [] as number[], comment: [] as number[], delete: [] as number[] }
  const answered: number[] = []
  const record = (kind: keyof typeof delays, seen: { sent: number, answered: number }) => {
    delays[kind].push(seen.sent)
    answered.push(seen.answered)
  }
  for (let i = 0; i < ROUNDS; i++) {
    const [writer, other] = pair(i)
    await warm(other, '/v1/articles/story')
    const title = `Story, round ${i}`
    t.equal((await send(writer, 'PATCH', '/v1/articles/story', { title })).status, 200)
    record('edit', await seenAfter(other, '/v1/articles/story', (r) => JSON.parse(r.text).title === title))

    await warm(other, thread)
    const posted = await send(writer, 'POST', '/v1/articles/story/comments',
      { authorName: 'Ann', authorEmail: 'ann@example.com', body: `Round ${i}` }, { 'content-type': 'application/json', ...client(++clients) })
    t.equal(posted.status, 201)
    record('comment', await seenAfter(other, thread, (r) => JSON.parse(r.text).page.total === i + 1))

    t.equal((await send(writer, 'POST', '/v1/articles', { title: `Gone ${i}`, status: 'published' })).status, 201)
    await warm(other, `/v1/articles/gone-${i}`)
    t.equal((await send(writer, 'DELETE', `/v1/articles/gone-${i}`)).status, 204)
    record('delete', await seenAfter(other, `/v1/articles/gone-${i}`, (r) => r.status === 404))
  }
  for (const [kind, ms] of Object.entries(delays)) {
    t.comment(`${kind} seen by a read sent after: ${stats(ms)}`)
    t.ok(Math.max(...ms) <= 100, `every ${kind} seen on the other process by a read made within 100 ms`)
  }
  t.comment(`all writes: seen by a read sent after ${stats(Object.values(delays).flat())}; its answer arrived after ${stats(answered)}`)
})

t.test('flood control counts a client across both processes', async (t) => {
  t.equal((await send(one, 'POST', '/v1/articles', { title: 'Flood', status: 'published' })).status, 201)
  let bad = 0
  for (let i = 0; i < ROUNDS; i++) {
    const from = { 'content-type': 'application/json', ...client(++clients) }
    const answers = await Promise.all(Array.from({ length: 2 * FLOOD }, (_, n) => send(both[(i + n) % 2]!, 'POST', '/v1/articles/flood/comments',
      { authorName: 'Bob', authorEmail: 'bob@example.com', body: `Round ${i}, comment ${n}` }, from)))
    const accepted = answers.filter((r) => r.status === 201).length
    const limited = answers.filter((r) => r.status === 429 && r.headers.get('retry-after') !== null).length
    if (accepted !== FLOOD || limited !== FLOOD) {
      bad++
      t.comment(`round ${i}: ${accepted} accepted, ${limited} refused with Retry-After`)
    }
  }
  t.equal(bad, 0, `${FLOOD} of ${2 * FLOOD} comments accepted, the rest 429, in each of ${ROUNDS} rounds`)
  const total = await send(two, 'GET', '/v1/articles/flood/comments?include=total&limit=1')
  t.equal(JSON.parse(total.text).page.total, FLOOD * ROUNDS, 'and only those were stored')
})

interface LoggedEvent { id: string, type: string, data: { slug?: string } }

async function readLog (base: string): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = []
  let cursor: string | null = null
  do {
    const page = JSON.parse((await send(base, 'GET', `/v1/events?limit=100${cursor === null ? '' : `&cursor=${cursor}`}`)).text) as
      { data: LoggedEvent[], page: { nextCursor: string | null } }
    out.push(...page.data)
    cursor = page.page.nextCursor
  } while (cursor !== null)
  return out
}

t.test('scheduled publications are announced once and each event is delivered once, in order', async (t: Test) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const since = (await readLog(one)).length
  const types = JSON.parse((await send(one, 'GET', '/openapi.json')).text).components.schemas.EventType.enum as string[]
  const hook = await send(two, 'POST', '/v1/webhooks', { url: receiver.url, events: types })
  t.equal(hook.status, 201)
  receiver.secret = JSON.parse(hook.text).secret

  // One due time per round, 25 ms apart, after every article is created (both processes schedule).
  const lead = 3000 + 40 * ROUNDS
  const start = Date.now()
  const due = (i: number) => new Date(start + lead + 25 * i).toISOString()
  const created: number[] = []
  for (let i = 0; i < ROUNDS; i += 8) {
    created.push(...await Promise.all(Array.from({ length: Math.min(8, ROUNDS - i) }, async (_, k) =>
      (await send(pair(i + k)[0], 'POST', '/v1/articles', { title: `Embargo ${i + k}`, status: 'published', publishedAt: due(i + k) })).status)))
  }
  t.ok(created.every((s) => s === 201), `${ROUNDS} articles scheduled`)
  t.ok(Date.now() < start + lead, 'all before the first was due')
  const embargoes = (log: LoggedEvent[]) => log.filter((e) => e.type === 'article.published' && e.data.slug?.startsWith('embargo-') === true)
  t.equal(embargoes(await readLog(two)).length, 0, 'none announced before its time')

  // Each round also writes on one process: events the dispatchers of both processes race to deliver.
  t.equal((await send(one, 'POST', '/v1/articles', { title: 'Delivered', status: 'published' })).status, 201)
  const updated: number[] = []
  for (let i = 0; i < ROUNDS; i++) updated.push((await send(pair(i)[0], 'PATCH', '/v1/articles/delivered', { summary: `Round ${i}` })).status)
  t.ok(updated.every((s) => s === 200), `${ROUNDS} edits`)
  const announced = async () => embargoes(await readLog(one)).length >= ROUNDS
  for (const until = Date.now() + lead + 25 * ROUNDS + 30_000; !await announced() && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 200))
  const expected = (await readLog(one)).slice(since)
  await receiver.waitUntil(() => new Set(receiver.received.map((r) => r.id)).size >= expected.length, 60_000).catch(() => {})
  // Both schedulers and dispatchers have had another turn (they look every second) to do anything twice.
  await new Promise((resolve) => setTimeout(resolve, 2500))
  const log = (await readLog(two)).slice(since)

  const perSlug = new Map<string, number>()
  for (const e of embargoes(log)) perSlug.set(e.data.slug!, (perSlug.get(e.data.slug!) ?? 0) + 1)
  t.equal(perSlug.size, ROUNDS, 'every scheduled article announced')
  t.same([...perSlug.values()].filter((n) => n !== 1), [], 'each exactly once')
  t.equal(log.filter((e) => e.type === 'article.updated').length, ROUNDS, 'one article.updated per edit')
  t.equal(receiver.received.length, log.length, `${log.length} events, each delivered once`)
  t.same(receiver.received.map((r) => r.id), log.map((e) => e.id), 'in the order of the log')
  t.ok(receiver.received.every((r) => r.verified === true), 'signed with the secret one process made and both decrypt')
})
