// Idempotency-Key on both engines (src/idempotency/repository.ts and repository.pg.ts): the same HTTP
// story answers the same on SQLite and on PostgreSQL, and on PostgreSQL two processes (two apps, each with
// its own pool, on one database) honour a key together: a retry landing on the other process replays, and
// retries racing on both write once. RACE_ROUNDS=300 runs the races over hundreds of rounds
// (`npm run race:pg`); the default keeps `npm test` short.
import t, { type Test } from 'tap'
import { asc, eq } from 'drizzle-orm'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import * as pgSchema from '../../src/db/pg/schema.js'
import { ABANDONED_CLAIM_MS } from '../../src/idempotency/repository.js'
import { assertProblem, build, sameOnBothEngines, type Engine, type TestApp } from '../helper.js'

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 20)
const HOUR = 60 * 60 * 1000

const withSecret = (a: TestApp, secret: string, opts: InjectOptions) => a.inject({ ...opts, headers: { ...opts.headers, authorization: `Bearer ${secret}` } })
const postToken = (a: TestApp, key: string | undefined, payload: Record<string, unknown>, secret = a.tokens.admin) =>
  withSecret(a, secret, { method: 'POST', url: '/v1/tokens', payload, headers: key === undefined ? {} : { 'idempotency-key': key } })
/** Tokens in the database, asked over HTTP (GET /v1/tokens' total), whichever engine keeps them. */
const tokenCount = async (a: TestApp): Promise<number> => (await a.as('admin', { method: 'GET', url: '/v1/tokens?include=total&limit=1' })).json().page.total

/** The stored keys, straight from the engine's table. */
async function storedKeys (a: TestApp): Promise<string[]> {
  if (a.pg) return (await a.pg.db.select({ key: pgSchema.idempotencyKeys.key }).from(pgSchema.idempotencyKeys).orderBy(asc(pgSchema.idempotencyKeys.key))).map((r) => r.key)
  return (a.app.db.$client.prepare('SELECT key FROM idempotency_keys ORDER BY key').all() as Array<{ key: string }>).map((r) => r.key)
}

/** Puts a stored key back as it stands while its request runs: claimed, no response yet. */
async function reopen (a: TestApp, key: string): Promise<void> {
  if (a.pg) {
    await a.pg.db.update(pgSchema.idempotencyKeys).set({ statusCode: null, headers: null, body: null }).where(eq(pgSchema.idempotencyKeys.key, key))
  } else {
    a.app.db.$client.prepare('UPDATE idempotency_keys SET status_code = NULL, headers = NULL, body = NULL WHERE key = ?').run(key)
  }
}

const replayed = (res: LightMyRequestResponse) => res.headers['idempotent-replayed'] === 'true'

/** What each engine answered, ids and timestamps aside: the two must be equal. */
async function keyStory (t: Test, engine: Engine): Promise<unknown[]> {
  const a = await build(t, {}, { engine })
  const seen: unknown[] = []
  const base = await tokenCount(a)

  // A retry replays the first response byte for byte, the secret null (shown once), without a second write.
  const first = await postToken(a, 'k1', { name: 'desk', role: 'editor' })
  t.equal(first.statusCode, 201)
  t.notOk(replayed(first))
  a.clock.advance(HOUR)
  const retry = await postToken(a, 'k1', { name: 'desk', role: 'editor' })
  t.equal(retry.statusCode, 201)
  t.ok(replayed(retry))
  t.same(retry.json(), { ...first.json(), token: null }, 'the same body, the secret null')
  for (const name of ['location', 'etag', 'content-type']) t.equal(retry.headers[name], first.headers[name], name)
  t.equal(await tokenCount(a), base + 1, 'one token')
  seen.push(first.statusCode, retry.statusCode, replayed(retry), Object.keys(retry.json()).sort())

  // The same key for another request: 422, nothing written.
  const reused = await postToken(a, 'k1', { name: 'another', role: 'editor' })
  assertProblem(t, reused, 422, 'idempotency-key-reused')
  t.equal(await tokenCount(a), base + 1)
  seen.push(reused.json())

  // Keys are the caller's: another token's same key and body is a new request.
  const second = (await a.app.tokens.create('second admin', 'admin')).token
  const theirs = await postToken(a, 'k1', { name: 'desk', role: 'editor' }, second)
  t.equal(theirs.statusCode, 201)
  t.notOk(replayed(theirs), 'not the first caller\'s response')
  seen.push(theirs.statusCode, replayed(theirs))

  // A 4xx the handler answered is stored and replayed; one refused before the handler (validation) is not.
  t.equal((await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Taken', slug: 'taken' } })).statusCode, 201)
  const clashRequest = { method: 'POST' as const, url: '/v1/articles', payload: { title: 'Another', slug: 'taken' }, headers: { 'idempotency-key': 'k4' } }
  const clash = await a.as('editor', clashRequest)
  assertProblem(t, clash, 409, 'conflict')
  const clashAgain = await a.as('editor', clashRequest)
  t.ok(replayed(clashAgain))
  t.equal(clashAgain.body, clash.body)
  assertProblem(t, await postToken(a, 'k5', { name: 'x', role: 'emperor' }), 422, 'validation')
  const fixed = await postToken(a, 'k5', { name: 'x', role: 'moderator' })
  t.equal(fixed.statusCode, 201)
  t.notOk(replayed(fixed), 'the corrected request is no replay')
  seen.push(clash.statusCode, clashAgain.statusCode, replayed(clashAgain), fixed.statusCode, replayed(fixed))

  // A request still in flight: 409 with Retry-After, no write; a claim abandoned for a minute is taken over.
  const busy = await postToken(a, 'k6', { name: 'busy', role: 'editor' })
  await reopen(a, 'k6')
  const count = await tokenCount(a)
  const inUse = await postToken(a, 'k6', { name: 'busy', role: 'editor' })
  assertProblem(t, inUse, 409, 'idempotency-key-in-use')
  t.equal(inUse.headers['retry-after'], '1')
  t.equal(await tokenCount(a), count, 'no write while the first is in flight')
  a.clock.advance(ABANDONED_CLAIM_MS + 1000)
  const taken = await postToken(a, 'k6', { name: 'busy', role: 'editor' })
  t.equal(taken.statusCode, 201)
  t.notOk(replayed(taken), 'taken over, not replayed')
  t.not(taken.json().id, busy.json().id)
  seen.push(inUse.statusCode, taken.statusCode, replayed(taken))

  // The repository's release: a claim forgotten after a failure can be claimed again; a stored response stays.
  const keys = a.app.idempotencyKeys
  t.same(await keys.claim('test', 'r1', 'h'), { outcome: 'claimed' })
  t.same(await keys.claim('test', 'r1', 'h'), { outcome: 'in-flight' })
  await keys.release('test', 'r1')
  t.same(await keys.claim('test', 'r1', 'h'), { outcome: 'claimed' })
  await keys.complete('test', 'r1', { statusCode: 200, headers: { etag: '"e"' }, body: '' })
  await keys.release('test', 'r1')
  t.same(await keys.claim('test', 'r1', 'h'), { outcome: 'replay', response: { statusCode: 200, headers: { etag: '"e"' }, body: '' } })
  t.same(await keys.claim('test', 'r1', 'other'), { outcome: 'reused' })
  seen.push(await storedKeys(a))

  // After 24 hours a key is free again, and every claim purges expired rows.
  a.clock.advance(24 * HOUR + 1)
  const again = await postToken(a, 'k1', { name: 'tomorrow', role: 'editor' })
  t.equal(again.statusCode, 201, 'an expired key is free again')
  t.notOk(replayed(again))
  t.equal((await postToken(a, 'later', { name: 'later', role: 'editor' })).statusCode, 201)
  t.same(await storedKeys(a), ['k1', 'later'], 'the expired rows are gone, the new ones stay')
  seen.push(again.statusCode, await storedKeys(a))
  return seen
}

t.test('Idempotency-Key answers the same on SQLite and on PostgreSQL', (t) => sameOnBothEngines(t, 18, keyStory))

t.test('two processes on one PostgreSQL honour a key together', async (t) => {
  // Process A and process B: two apps, each with its own pool, on one database (B on A's URL).
  const a = await build(t, {}, { engine: 'postgres' })
  const b = await build(t, { postgres: { url: a.pg!.url, poolSize: 4 } })
  const asAdmin = (app: TestApp, key: string, payload: Record<string, unknown>) => postToken(app, key, payload, a.tokens.admin)

  // A retry landing on the other process replays.
  const first = await asAdmin(a, 'across', { name: 'across', role: 'editor' })
  t.equal(first.statusCode, 201)
  const retry = await asAdmin(b, 'across', { name: 'across', role: 'editor' })
  t.ok(replayed(retry), 'B replays what A stored')
  t.same(retry.json(), { ...first.json(), token: null })
  assertProblem(t, await asAdmin(b, 'across', { name: 'other', role: 'editor' }), 422, 'idempotency-key-reused')

  // Retries racing on both processes write once: one original, the others replays or 409 (in flight).
  let conflicts = 0
  for (let round = 0; round < ROUNDS; round++) {
    const name = `race ${round}`
    const results = await Promise.all([a, b, a, b, a, b].map((app) => asAdmin(app, `race-${round}`, { name, role: 'editor' })))
    const originals = results.filter((r) => r.statusCode === 201 && !replayed(r))
    t.equal(originals.length, 1, `round ${round}: one request wrote`)
    for (const r of results) {
      if (r.statusCode === 409) {
        conflicts++
        assertProblem(t, r, 409, 'idempotency-key-in-use')
      } else {
        t.equal(r.statusCode, 201)
        if (replayed(r)) t.same(r.json(), { ...originals[0]!.json(), token: null }, 'a replay of the original')
      }
    }
    const stored = await a.pg!.db.select({ id: pgSchema.tokens.id }).from(pgSchema.tokens).where(eq(pgSchema.tokens.name, name))
    t.equal(stored.length, 1, `round ${round}: one token`)
  }
  t.comment(`${ROUNDS} rounds, 6 requests each over two pools: ${conflicts} answered 409 in flight`)

  // An abandoned claim taken over by both at once: one wins, the other sees it in flight.
  for (let round = 0; round < ROUNDS; round++) {
    const key = `abandoned-${round}`
    t.same(await a.app.idempotencyKeys.claim('test', key, 'h'), { outcome: 'claimed' })
    a.clock.advance(ABANDONED_CLAIM_MS + 1)
    b.clock.now = a.clock.now
    const claims = await Promise.all([a.app.idempotencyKeys.claim('test', key, 'h'), b.app.idempotencyKeys.claim('test', key, 'h'),
      b.app.idempotencyKeys.claim('test', key, 'h'), a.app.idempotencyKeys.claim('test', key, 'h')])
    t.same(claims.map((c) => c.outcome).sort(), ['claimed', 'in-flight', 'in-flight', 'in-flight'], `round ${round}: taken over once`)
  }
})
