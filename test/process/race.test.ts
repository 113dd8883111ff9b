// Lost updates across processes (issue 13, item 2; issue 16 on PostgreSQL): two server processes on one
// database, as a deployment with several workers runs, receive writes made with the same If-Match at the
// same moment. The precondition and the write are one atomic step, so in every round exactly one write
// succeeds and the other is refused (412, or 404 when the winner deleted the resource). Every race runs on
// a SQLite file and on a PostgreSQL database (test/pg/cluster.ts).
//
// `npm test` runs a short version; `npm run race` runs RACE_ROUNDS (default 300) rounds of each.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { cleanEnv, freePort, startServer } from '../../scripts/harness.js'
import { testDatabase } from '../pg/cluster.js'

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 40)
const ADMIN = 'gz_race-admin-secret-0123456789abcdef'
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }

type Engine = 'sqlite' | 'postgres'

async function twoServers (t: Test, engine: Engine): Promise<[string, string]> {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-race-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const url = engine === 'postgres' ? (await testDatabase(t)).url : undefined
  // On PostgreSQL each process also has a SQLite file of its own, so nothing they share goes through one.
  const database = (name: string): Record<string, string> => url === undefined
    ? { DATABASE_PATH: join(dir, 'gazette.db') }
    : { DATABASE_URL: url, DATABASE_PATH: join(dir, `${name}.db`) }
  const bases: string[] = []
  for (const name of ['one', 'two']) {
    // One after the other: the first migrates a new SQLite file. The response cache is off so that every
    // read goes to the database, and COMMENT_MODERATION=none makes comments approved at once. On a loaded
    // machine the query budget may stop a write that waited too long for the other's lock (a 503 that
    // changes nothing, test/plugins/query-budget.test.ts); here it is lifted, as this test is about If-Match.
    const server = await startServer(cleanEnv({
      PORT: String(await freePort()),
      ...database(name),
      ADMIN_TOKEN: ADMIN,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'error',
      RESPONSE_CACHE_MB: '0',
      COMMENT_MODERATION: 'none',
      COMMENT_RATE_LIMIT: '100000',
      MAX_EVENT_LOOP_DELAY: '0',
      QUERY_BUDGET_MS: '10000',
      // The webhooks raced below point at a local port.
      WEBHOOK_ALLOW_PRIVATE: 'true'
    }))
    t.teardown(async () => {
      server.child.kill('SIGTERM')
      await server.exited
    })
    bases.push(server.base)
  }
  return [bases[0]!, bases[1]!]
}

async function call (url: string, method: string, ifMatch: string, body?: object): Promise<number> {
  const headers: Record<string, string> = { authorization: auth.authorization, 'if-match': ifMatch }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  await res.arrayBuffer()
  return res.status
}

async function etagOf (url: string): Promise<string> {
  const res = await fetch(url, { headers: auth })
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`)
  await res.arrayBuffer()
  return res.headers.get('etag')!
}

/** Runs `rounds` races; each sends two writes at once, one to each process, and must end as `expected`. */
async function race (t: Test, name: string, rounds: number, round: (i: number) => Promise<number[]>, expected: (statuses: number[]) => boolean) {
  const outcomes = new Map<string, number>()
  let bad = 0
  for (let i = 0; i < rounds; i++) {
    const statuses = await round(i)
    const key = statuses.join('/')
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
    if (!expected(statuses)) bad++
  }
  t.comment(`${name}: ${[...outcomes].map(([k, n]) => `${k} ×${n}`).join(', ')}`)
  t.equal(bad, 0, `${name}: as expected in each of ${rounds} rounds`)
}

/** Exactly one of the writes succeeded (one of `winners`) and the other was refused (one of `losers`). */
const oneWins = (winners: number[], losers: number[]) => (statuses: number[]) =>
  statuses.filter((s) => winners.includes(s)).length === 1 && statuses.filter((s) => losers.includes(s)).length === statuses.length - 1

for (const engine of ['sqlite', 'postgres'] as const) {
  t.test(`${engine}: PATCH article vs PATCH article with one If-Match`, async (t) => {
    const [one, two] = await twoServers(t, engine)
    const created = await fetch(`${one}/v1/articles`, { method: 'POST', headers: auth, body: JSON.stringify({ title: 'Contested', status: 'published' }) })
    t.equal(created.status, 201)
    const url = (base: string) => `${base}/v1/articles/contested`
    await race(t, 'articles', ROUNDS, async (i) => {
      const etag = await etagOf(url(one))
      return Promise.all([
        call(url(one), 'PATCH', etag, { body: `one ${i}` }),
        call(url(two), 'PATCH', etag, { body: `two ${i}`, summary: `two ${i}` })
      ])
    }, oneWins([200], [412]))
    const final = await (await fetch(url(two), { headers: auth })).json() as { revision: number }
    t.equal(final.revision, ROUNDS + 1, 'one new revision per round: no write was lost')
  })

  t.test(`${engine}: DELETE vs PATCH article, tags, comments, tokens and webhooks with one If-Match`, async (t) => {
    const [one, two] = await twoServers(t, engine)
    const rounds = Math.max(5, Math.ceil(ROUNDS / 4))

    await race(t, 'article DELETE vs PATCH', rounds, async (i) => {
      const res = await fetch(`${one}/v1/articles`, { method: 'POST', headers: auth, body: JSON.stringify({ title: `Doomed ${i}`, slug: `doomed-${i}` }) })
      const etag = res.headers.get('etag')!
      await res.arrayBuffer()
      const url = (base: string) => `${base}/v1/articles/doomed-${i}`
      return Promise.all([call(url(one), 'DELETE', etag), call(url(two), 'PATCH', etag, { title: `Saved ${i}` })])
    }, oneWins([200, 204], [404, 412]))

    await fetch(`${one}/v1/tags`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'Contested tag', slug: 'contested' }) })
    await race(t, 'tags', rounds, async (i) => {
      const etag = await etagOf(`${one}/v1/tags/contested`)
      return Promise.all([
        call(`${one}/v1/tags/contested`, 'PATCH', etag, { description: `one ${i}` }),
        call(`${two}/v1/tags/contested`, 'PATCH', etag, { description: `two ${i}` })
      ])
    }, oneWins([200], [412]))

    await fetch(`${one}/v1/articles`, { method: 'POST', headers: auth, body: JSON.stringify({ title: 'Discussed', status: 'published' }) })
    const comment = await (await fetch(`${one}/v1/articles/discussed/comments`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ authorName: 'R', authorEmail: 'r@example.com', body: 'First.' })
    })).json() as { id: number }
    await race(t, 'comments', rounds, async (i) => {
      const etag = await etagOf(`${one}/v1/comments/${comment.id}`)
      return Promise.all([
        call(`${one}/v1/comments/${comment.id}`, 'PATCH', etag, { body: `one ${i}` }),
        // Both change something: a PATCH that changes nothing is a 200 without a write.
        call(`${two}/v1/comments/${comment.id}`, 'PATCH', etag, { body: `two ${i}`, status: i % 2 === 0 ? 'pending' : 'approved' })
      ])
    }, oneWins([200], [412]))

    // Check-then-write on slugs: a slug free when checked may be taken before the insert.
    await race(t, 'POST with one chosen slug', rounds, async (i) => Promise.all([one, two].map(async (base) => {
      const res = await fetch(`${base}/v1/articles`, { method: 'POST', headers: auth, body: JSON.stringify({ title: `Chosen ${i}`, slug: `chosen-${i}` }) })
      await res.arrayBuffer()
      return res.status
    })), oneWins([201], [409]))
    const derived: string[] = []
    // Both are created: the later one derives the next free slug.
    await race(t, 'POST deriving one slug', rounds, async (i) => Promise.all([one, two].map(async (base) => {
      const res = await fetch(`${base}/v1/articles`, { method: 'POST', headers: auth, body: JSON.stringify({ title: `Derived ${i}` }) })
      if (res.status === 201) derived.push(((await res.json()) as { slug: string }).slug)
      return res.status
    })), (statuses) => statuses.every((s) => s === 201))
    t.equal(new Set(derived).size, 2 * rounds, 'every derived slug is different')

    await race(t, 'tokens', rounds, async (i) => {
      const res = await fetch(`${one}/v1/tokens`, { method: 'POST', headers: auth, body: JSON.stringify({ name: `temp ${i}`, role: 'moderator' }) })
      const token = await res.json() as { id: number }
      const etag = res.headers.get('etag')!
      return Promise.all([call(`${one}/v1/tokens/${token.id}`, 'DELETE', etag), call(`${two}/v1/tokens/${token.id}`, 'DELETE', etag)])
    }, oneWins([204], [404]))

    // Subscribed to an event this test never causes, so no delivery failure changes the webhook meanwhile.
    const hook = await (await fetch(`${one}/v1/webhooks`, {
      method: 'POST', headers: auth, body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['tag.deleted'] })
    })).json() as { id: number }
    const hookUrl = (base: string) => `${base}/v1/webhooks/${hook.id}`
    await race(t, 'webhooks PATCH vs PATCH', rounds, async (i) => {
      const etag = await etagOf(hookUrl(one))
      return Promise.all([
        call(hookUrl(one), 'PATCH', etag, { description: `one ${i}` }),
        call(hookUrl(two), 'PATCH', etag, { description: `two ${i}` })
      ])
    }, oneWins([200], [412]))
    await race(t, 'webhooks rotate-secret vs PATCH', rounds, async (i) => {
      const etag = await etagOf(hookUrl(one))
      return Promise.all([
        call(`${hookUrl(one)}/rotate-secret`, 'POST', etag),
        call(hookUrl(two), 'PATCH', etag, { description: `rotated ${i}` })
      ])
    }, oneWins([200], [412]))
    await race(t, 'webhooks DELETE vs PATCH', rounds, async (i) => {
      const res = await fetch(`${one}/v1/webhooks`, { method: 'POST', headers: auth, body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['tag.deleted'] }) })
      const created = await res.json() as { id: number }
      const etag = res.headers.get('etag')!
      const url = (base: string) => `${base}/v1/webhooks/${created.id}`
      return Promise.all([call(url(one), 'DELETE', etag), call(url(two), 'PATCH', etag, { description: `saved ${i}` })])
    }, oneWins([200, 204], [404, 412]))
  })
}
