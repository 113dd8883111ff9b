// Flood control across processes on PostgreSQL (src/db/pg/rate-limits.ts, issue 16: "flood control counts
// across processes"): two apps on one database share each client's allowances (COMMENT_RATE_LIMIT for
// comment writes, the same number for reports, SEARCH_RATE_LIMIT), concurrent requests through both are
// counted exactly, each allowance keeps its own counters, a window that ended starts afresh, and what the
// table keeps of a client is a keyed hash, gone once upkeep passes the window's end.
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { assertProblem, build, createArticle, type TestApp } from '../helper.js'

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 5)

async function twoProcesses (t: Test, config: Record<string, unknown>): Promise<[TestApp, TestApp]> {
  const a = await build(t, config, { engine: 'postgres' })
  const b = await build(t, { ...config, postgres: { url: a.pg!.url, poolSize: 4 } }, { engine: 'postgres' })
  return [a, b]
}

const post = (a: TestApp, from: string, body: string): Promise<LightMyRequestResponse> =>
  a.inject({ method: 'POST', url: '/v1/articles/harbour/comments', payload: { authorName: 'Flood', authorEmail: 'flood@example.org', body }, remoteAddress: from })

const search = (a: TestApp, from: string): Promise<LightMyRequestResponse> =>
  a.inject({ method: 'GET', url: '/v1/articles?q=harbour', remoteAddress: from })

const rows = async (a: TestApp): Promise<Record<string, unknown>[]> =>
  (await a.pg!.db.execute(sql`SELECT scope, client, hits, expires_at - window_start AS span FROM rate_limits ORDER BY scope, client`)).rows

t.test('two processes share one allowance per client', async (t) => {
  const [a, b] = await twoProcesses(t, { commentModeration: 'none', commentRateLimit: 4, searchRateLimit: 3 })
  await createArticle(a, { title: 'Harbour', status: 'published' })

  // Alternating processes, one address: the allowance goes down by one each time, whichever answers.
  const answers: LightMyRequestResponse[] = []
  for (let i = 0; i < 4; i++) answers.push(await post(i % 2 === 0 ? a : b, '198.51.100.7', `Post ${i}`))
  t.same(answers.map((r) => r.statusCode), [201, 201, 201, 201])
  t.same(answers.map((r) => r.headers['ratelimit-remaining']), ['3', '2', '1', '0'], 'counted by both processes together')
  for (const app of [a, b]) {
    const refused = await post(app, '198.51.100.7', 'One too many')
    assertProblem(t, refused, 429, 'rate-limited')
    t.ok(Number(refused.headers['retry-after']) > 0 && Number(refused.headers['retry-after']) <= 60, 'Retry-After within the window')
  }
  t.equal((await post(b, '198.51.100.8', 'Another reader')).statusCode, 201, 'another address has its own allowance')

  // Reports have their own allowance: the comment writes above used none of it.
  const comment = answers[0]!.json() as { id: number }
  const report = await b.inject({ method: 'POST', url: `/v1/comments/${comment.id}/reports`, payload: { reason: 'spam' }, remoteAddress: '198.51.100.7' })
  t.equal(report.statusCode, 202)
  t.equal(report.headers['ratelimit-remaining'], '3', 'reports count apart from comment writes')

  // Searches too, and apart from both.
  const searches = [await search(a, '198.51.100.7'), await search(b, '198.51.100.7'), await search(a, '198.51.100.7')]
  t.same(searches.map((r) => [r.statusCode, r.headers['ratelimit-remaining']]), [[200, '2'], [200, '1'], [200, '0']])
  assertProblem(t, await search(b, '198.51.100.7'), 429, 'rate-limited')

  // What is kept of a client: a keyed hash, one row per allowance and client, never the address.
  const kept = await rows(a)
  // Refused requests count too (as in memory): 4 + 2 comment writes, 3 + 1 searches.
  t.same(kept.map((r) => [r.scope, Number(r.hits), Number(r.span)]).sort((x, y) => String(x[0]).localeCompare(String(y[0])) || Number(y[1]) - Number(x[1])), [
    ['comments', 6, 60_000], ['comments', 1, 60_000], ['reports', 1, 60_000], ['searches', 4, 60_000]
  ], 'the counters')
  const everything = JSON.stringify((await a.pg!.db.execute(sql`SELECT * FROM rate_limits`)).rows)
  t.notOk(everything.includes('198.51.100'), 'no address in the table')
  t.match(kept[0]!.client, /^[\w-]{43}$/, 'an HMAC-SHA-256, base64url')
})

t.test('a window that has ended starts afresh, and upkeep removes ended windows', async (t) => {
  const [a, b] = await twoProcesses(t, { commentModeration: 'none', commentRateLimit: 2 })
  await createArticle(a, { title: 'Harbour', status: 'published' })
  t.same([(await post(a, '192.0.2.1', 'One')).statusCode, (await post(b, '192.0.2.1', 'Two')).statusCode, (await post(a, '192.0.2.1', 'Three')).statusCode], [201, 201, 429])
  t.equal((await post(a, '192.0.2.2', 'Other')).statusCode, 201)
  t.equal(await a.app.upkeep.purgeRateLimits(), 0, 'nothing ended yet')

  // The first address's window ends (as a minute passing would end it, on the database's clock).
  await a.pg!.db.execute(sql`UPDATE rate_limits SET expires_at = window_start - 1, window_start = window_start - 60001 WHERE hits = 3`)
  const again = await post(b, '192.0.2.1', 'A new minute')
  t.equal(again.statusCode, 201, 'allowed again')
  t.equal(again.headers['ratelimit-remaining'], '1', 'counted from one')

  await a.pg!.db.execute(sql`UPDATE rate_limits SET expires_at = window_start - 1`)
  t.equal(await b.app.upkeep.purgeRateLimits(), 2, 'both ended windows removed')
  t.same(await rows(a), [], 'nothing of those clients is left')
})

t.test('concurrent writes through both processes are counted exactly', async (t) => {
  const limit = 6
  const [a, b] = await twoProcesses(t, { commentModeration: 'none', commentRateLimit: limit })
  await createArticle(a, { title: 'Harbour', status: 'published' })
  for (let round = 0; round < ROUNDS; round++) {
    // Twice the allowance at once, half through each process, from one new address per round.
    const from = `203.0.113.${(round % 250) + 1}`
    if (round >= 250) await a.pg!.db.execute(sql`DELETE FROM rate_limits`)
    const answers = await Promise.all(Array.from({ length: 2 * limit }, (_, i) => post(i % 2 === 0 ? a : b, from, `Round ${round}, post ${i}`)))
    const codes = answers.map((r) => r.statusCode)
    t.equal(codes.filter((c) => c === 201).length, limit, `round ${round}: exactly the allowance accepted`)
    t.equal(codes.filter((c) => c === 429).length, limit, `round ${round}: the rest refused`)
    t.same(answers.filter((r) => r.statusCode === 201).map((r) => Number(r.headers['ratelimit-remaining'])).sort((x, y) => x - y),
      Array.from({ length: limit }, (_, i) => i), `round ${round}: each count handed out once`)
  }
})

t.test('requests counted together: each client and allowance apart, each count handed out once', async (t) => {
  const limit = 3
  const a = await build(t, { commentModeration: 'none', commentRateLimit: limit, searchRateLimit: limit }, { engine: 'postgres' })
  await createArticle(a, { title: 'Harbour', status: 'published' })
  // How many counting statements the store sends (it sends them through the app's pool's query).
  const pool = (a.app.storage.db as { $client: object }).$client as { query: (...args: unknown[]) => unknown }
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown
  let counts = 0
  pool.query = (...args: unknown[]) => {
    if ((args[0] as { name?: string } | undefined)?.name === 'rate_limit_count') counts++
    return query(...args)
  }
  for (let round = 0; round < ROUNDS; round++) {
    await a.pg!.db.execute(sql`DELETE FROM rate_limits`)
    counts = 0
    // At once, from one process: while the first request's count runs, the others wait and are counted
    // together, several of them from one client, in two allowances.
    const addresses = ['192.0.2.10', '192.0.2.11', '192.0.2.12']
    const asked = addresses.flatMap((from) => Array.from({ length: limit + 1 }, (_, i) => ({ from, kind: 'comment', go: () => post(a, from, `Round ${round}, ${from}, ${i}`) })))
    asked.push(...Array.from({ length: limit + 1 }, () => ({ from: addresses[0]!, kind: 'search', go: () => search(a, addresses[0]!) })))
    const answers = await Promise.all(asked.map(async (x) => ({ ...x, res: await x.go() })))
    for (const from of addresses) {
      for (const kind of ['comment', 'search']) {
        const mine = answers.filter((x) => x.from === from && x.kind === kind)
        if (mine.length === 0) continue
        t.same(mine.map((x) => x.res.statusCode).sort(), [...Array(limit).fill(kind === 'comment' ? 201 : 200), 429], `round ${round}: ${from}'s ${kind}s: the allowance, then one refused`)
        t.same(mine.filter((x) => x.res.statusCode !== 429).map((x) => Number(x.res.headers['ratelimit-remaining'])).sort(), [0, 1, 2], `round ${round}: ${from}'s ${kind}s: each count once`)
      }
    }
    t.ok(counts < asked.length, `round ${round}: ${asked.length} requests counted in ${counts} statements`)
    const kept = (await rows(a)).map((r) => [r.scope, Number(r.hits)]).sort()
    t.same(kept, [['comments', limit + 1], ['comments', limit + 1], ['comments', limit + 1], ['searches', limit + 1]], `round ${round}: the counters`)
  }
})
