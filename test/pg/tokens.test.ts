// The first repositories on both engines: the same HTTP assertions about tokens (create, authenticate,
// list and page, revoke with If-Match, a revoked secret staying revoked, the first token made once) run
// on an app built on SQLite and on one built on PostgreSQL (DATABASE_URL: the repositories plugin then
// chooses src/tokens/repository.pg.ts and src/settings/repository.pg.ts).
import t, { type Test } from 'tap'
import { count } from 'drizzle-orm'
import type { InjectOptions } from 'fastify'
import * as pgSchema from '../../src/db/pg/schema.js'
import { tokenRepositoryPg } from '../../src/tokens/repository.pg.js'
import { assertProblem, build, sameOnBothEngines, type Engine } from '../helper.js'
import { openPgDatabase } from '../../src/db/pg/connection.js'
import { testDatabase } from './cluster.js'

/** Rounds of each race: a few in `npm test`; `npm run race:pg` runs hundreds (RACE_ROUNDS). */
const ROUNDS = Number(process.env.RACE_ROUNDS ?? 5)

/** What each engine answered, ids and timestamps aside: the two must be equal. */
async function tokenStory (t: Test, engine: Engine): Promise<unknown[]> {
  const a = await build(t, {}, { engine })
  t.equal(a.app.storage.engine, engine)
  const admin = a.tokens.admin
  const withSecret = (secret: string, opts: InjectOptions) => a.inject({ ...opts, headers: { ...opts.headers, authorization: `Bearer ${secret}` } })
  const seen: unknown[] = []

  const created = await withSecret(admin, { method: 'POST', url: '/v1/tokens', payload: { name: 'newsdesk', role: 'editor' } })
  t.equal(created.statusCode, 201)
  const token = created.json()
  t.match(token, { id: Number, name: 'newsdesk', role: 'editor', createdAt: '2026-07-08T09:00:00.000Z', token: /^gz_[\w-]{43}$/ })
  t.equal(created.headers.location, `/v1/tokens/${token.id as number}`)
  seen.push(created.statusCode, { ...token, id: 'id', token: 'secret' })

  // The new secret authenticates (an editor may not list tokens: 403, not 401).
  const asEditor = await withSecret(token.token, { method: 'GET', url: '/v1/tokens' })
  assertProblem(t, asEditor, 403, 'forbidden')
  const unknown = await withSecret('gz_' + 'x'.repeat(43), { method: 'GET', url: '/v1/tokens' })
  assertProblem(t, unknown, 401, 'unauthorized')
  seen.push(asEditor.statusCode, unknown.statusCode)

  for (const name of ['b', 'c', 'd']) {
    a.clock.advance(1000)
    t.equal((await withSecret(admin, { method: 'POST', url: '/v1/tokens', payload: { name, role: 'moderator' } })).statusCode, 201)
  }
  const list = await withSecret(admin, { method: 'GET', url: '/v1/tokens?include=total&limit=4' })
  t.equal(list.statusCode, 200)
  t.notMatch(list.body, /gz_|tokenHash|token_hash/, 'no secrets, no hashes')
  const page1 = list.json()
  const page2 = (await withSecret(admin, { method: 'GET', url: `/v1/tokens?limit=4&cursor=${page1.page.nextCursor as string}` })).json()
  const names = (page: { data: Array<{ name: string, createdAt: string }> }) => page.data.map((x) => `${x.name} ${x.createdAt}`)
  t.same([...names(page1), ...names(page2)], [
    'test admin 2026-07-08T09:00:00.000Z', 'test editor 2026-07-08T09:00:00.000Z', 'test moderator 2026-07-08T09:00:00.000Z',
    'newsdesk 2026-07-08T09:00:00.000Z', 'b 2026-07-08T09:00:01.000Z', 'c 2026-07-08T09:00:02.000Z', 'd 2026-07-08T09:00:03.000Z'
  ], 'oldest first, in pages')
  t.equal(page1.page.total, 7)
  t.equal(page2.page.nextCursor, null)
  seen.push(names(page1), names(page2), page1.page.total)

  // Revocation: a stale If-Match changes nothing; the right one revokes; the secret is then refused, and
  // stays revoked (ADMIN_TOKEN registered again at a start finds it revoked).
  const stale = await withSecret(admin, { method: 'DELETE', url: `/v1/tokens/${token.id as number}`, headers: { 'if-match': '"stale"' } })
  assertProblem(t, stale, 412, 'precondition-failed')
  t.equal((await withSecret(token.token, { method: 'POST', url: '/v1/articles', payload: { title: 'Still here' } })).statusCode, 201)
  const revoked = await withSecret(admin, { method: 'DELETE', url: `/v1/tokens/${token.id as number}`, headers: { 'if-match': created.headers.etag as string } })
  t.equal(revoked.statusCode, 204)
  assertProblem(t, await withSecret(token.token, { method: 'POST', url: '/v1/articles', payload: { title: 'Gone' } }), 401, 'unauthorized')
  assertProblem(t, await withSecret(admin, { method: 'DELETE', url: `/v1/tokens/${token.id as number}` }), 404, 'not-found')
  t.equal(await a.app.tokens.ensure(token.token, 'admin (ADMIN_TOKEN)', 'admin'), 'revoked')
  seen.push(stale.statusCode, revoked.statusCode, await a.app.tokens.ensure(token.token, 'x', 'admin'))

  // ADMIN_TOKEN: registered once, known after; the first token only on an empty table.
  const operator = 'an-operator-chosen-secret-0123'
  seen.push(await a.app.tokens.ensure(operator, 'ops', 'admin'), await a.app.tokens.ensure(operator, 'ops', 'admin'))
  t.equal((await withSecret(operator, { method: 'GET', url: '/v1/tokens' })).statusCode, 200)
  seen.push(await a.app.tokens.createIfNone('first admin', 'admin'))

  // Settings: a claim is won once; a generated value is made once and kept; a deleted one is gone.
  seen.push(await a.app.settings.claim('demo_seeded', 'yes'), await a.app.settings.claim('demo_seeded', 'again'), await a.app.settings.get('demo_seeded'))
  seen.push(await a.app.settings.getOrCreate('a_key', () => 'first'), await a.app.settings.getOrCreate('a_key', () => 'second'))
  await a.app.settings.delete('a_key')
  seen.push(await a.app.settings.get('a_key'), await a.app.settings.getOrCreate('a_key', () => 'third'))

  if (a.pg) {
    // Everything above went through PostgreSQL: the tokens and the revoked hash are rows there, and no
    // SQLite database exists to hold any.
    const [tokens] = await a.pg.db.select({ n: count() }).from(pgSchema.tokens)
    t.equal(tokens!.n, 7, 'seven live tokens in PostgreSQL')
    const stored = await a.pg.db.select({ key: pgSchema.settings.key }).from(pgSchema.settings)
    t.ok(stored.some((s) => s.key.startsWith('revoked_token:')), 'the revoked hash in PostgreSQL')
    t.throws(() => a.app.db, /runs on PostgreSQL/, 'no SQLite database is opened')
  }
  return seen
}

t.test('tokens answer the same on SQLite and on PostgreSQL', (t) => sameOnBothEngines(t, 20, tokenStory))

t.test('two processes on one PostgreSQL: one first token, and a revoked secret never comes back', async (t) => {
  const { db, url } = await testDatabase(t)
  // The other process: its own pool on the same database.
  const other = openPgDatabase(url, { poolSize: 4 })
  t.teardown(() => other.$client.end())
  const one = tokenRepositoryPg(db, Date.now)
  const two = tokenRepositoryPg(other, Date.now)
  for (let round = 0; round < ROUNDS; round++) {
    await db.delete(pgSchema.tokens)
    const made = await Promise.all([one.createIfNone('first admin', 'admin'), two.createIfNone('first admin', 'admin'), two.createIfNone('first admin', 'admin')])
    t.equal(made.filter(Boolean).length, 1, `round ${round}: one of three made it`)
    t.equal(await one.count(), 1)
  }
  // Revoking while ADMIN_TOKEN is registered again (a process starting): whichever goes first, the secret
  // ends revoked, never live.
  for (let round = 0; round < ROUNDS; round++) {
    const secret = `an-operator-chosen-secret-${round}-0123`
    t.equal(await one.ensure(secret, 'ops', 'admin'), 'registered')
    const row = (await one.findBySecret(secret))!
    const [, ensured] = await Promise.all([one.delete(row, () => true), two.ensure(secret, 'ops', 'admin')])
    t.ok(ensured === 'known' || ensured === 'revoked', `round ${round}: ensure answered ${ensured}`)
    t.equal(await two.findBySecret(secret), undefined, 'not live')
    t.equal(await two.ensure(secret, 'ops', 'admin'), 'revoked', 'and it stays revoked')
  }
})
