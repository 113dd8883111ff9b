// Existing databases upgrade in place on start, on either engine (API.md section 12). Each folder of
// test/fixtures/upgrade/ keeps a database of each engine made by an older Gazette's migrations and filled
// through its API (scripts/make-upgrade-fixture.ts), with what that Gazette answered. This build starts on
// a copy of each (its migrations run on start, as in production) and must serve the same data: every
// recorded answer again (fields added since are allowed; a value changed or lost is not), then tokens,
// webhook secrets, the moderation history and idempotency records still working, and writes succeeding.
//
// ETags and stored representations are not compared with the recorded ones: an ETag is a hash of the
// representation, so a migration that adds a field changes every ETag legitimately. What must hold instead
// is that each article's answer and ETag equal a fresh assembly of its upgraded row (a migration that
// changes the representation must refresh the stored ones), and that the ETags served revalidate.
import t, { type Test } from 'tap'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import { migrationsFolder } from '../../src/db/connection.js'
import { pgMigrationsFolder } from '../../src/db/pg/connection.js'
import { contractChecker } from '../contract.js'
import { freshArticle } from '../articles/fresh-article.js'
import type { TestApp } from '../helper.js'
import { startReceiver } from '../../scripts/webhook-receiver.js'
import { fingerprint, type Manifest, type Recorded } from '../../scripts/make-upgrade-fixture.js'
import { openDatabase } from '../../src/db/connection.js'

type Engine = Manifest['engine']
type Role = Recorded['role']

const FIXTURES = join(import.meta.dirname, '../fixtures/upgrade')
const journal = (folder: string) => (JSON.parse(readFileSync(join(folder, 'meta/_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> }).entries.map((e) => e.tag)

interface Upgraded {
  app: TestApp['app']
  clock: { now: number }
  call: (role: Role | 'revoked', opts: InjectOptions) => Promise<LightMyRequestResponse>
  /** How many migrations the database records as applied. */
  applied: () => Promise<number>
  /** Its schema, and a freshly migrated database's, as text. */
  schemas: () => Promise<[upgraded: string, fresh: string]>
}

const sqliteSchema = (db: ReturnType<typeof openDatabase>): string =>
  JSON.stringify(db.$client.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all())

/** A copy of the fixture's database, and the app of this build started on it. */
async function upgrade (t: Test, folder: string, m: Manifest): Promise<Upgraded> {
  const key = readFileSync(join(folder, '..', 'webhook-encryption-key.txt'), 'utf8').trim()
  const config = {
    ...defaultConfig,
    seedDemo: false,
    maxEventLoopDelay: 0,
    queryBudgetMs: 10_000,
    webhookAllowPrivate: true,
    webhookEncryptionKey: key,
    databasePath: ':memory:'
  }
  let applied: () => Promise<number>
  let schemas: () => Promise<[string, string]>
  if (m.engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'gazette-upgrade-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    config.databasePath = join(dir, 'gazette.db')
    copyFileSync(join(folder, 'sqlite.db'), config.databasePath)
    applied = async () => app.db.$client.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get() as number
    schemas = async () => {
      const fresh = openDatabase(':memory:')
      try {
        return [sqliteSchema(app.db), sqliteSchema(fresh)]
      } finally {
        fresh.$client.close()
      }
    }
  } else {
    const { testDatabase } = await import('../pg/cluster.js')
    const pg = await testDatabase(t, { migrate: false })
    // Plain SQL in one query through the pg client: no psql or pg_dump needed.
    await pg.db.$client.query(readFileSync(join(folder, 'postgres.sql'), 'utf8'))
    Object.assign(config, { postgres: { url: pg.url, poolSize: 4 } })
    applied = async () => (await pg.db.$client.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')).rows[0]!.n
    schemas = async () => [await fingerprint(pg.url), await fingerprint((await testDatabase(t)).url)]
  }
  // A minute after the answers were recorded: idempotency records (24 h) still hold, nothing expired.
  const clock = { now: m.recordedAt + 60_000 }
  const app = await buildApp({ config, clock: () => clock.now, workers: { pollMs: 20, minIntervalMs: 0, backoff: () => 1000 } })
  t.teardown(() => app.close())
  await app.ready()
  const contract = contractChecker(app.swagger() as Parameters<typeof contractChecker>[0])
  const call = async (role: Role | 'revoked', opts: InjectOptions) => {
    const token = role === 'public' ? undefined : m.tokens[role]
    const res = await app.inject({ ...opts, headers: { ...opts.headers as Record<string, string>, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } })
    const problems = contract.check(opts.method ?? 'GET', String(opts.url ?? '/'), res)
    if (problems.length > 0) t.fail(`${String(opts.url)}: the answer does not match the OpenAPI document:\n${problems.join('\n')}`)
    return res
  }
  return { app, clock, call, applied, schemas }
}

/**
 * `actual` cut to the shape of `recorded`: the keys it recorded (a key added since is dropped, a key lost
 * shows as missing), arrays element by element (a missing or extra element shows). So t.same(project(a, r),
 * r) fails exactly when a recorded value is no longer served.
 */
function project (actual: unknown, recorded: unknown): unknown {
  if (Array.isArray(recorded) && Array.isArray(actual)) return actual.map((v, i) => i < recorded.length ? project(v, recorded[i]) : v)
  if (recorded !== null && typeof recorded === 'object' && actual !== null && typeof actual === 'object' && !Array.isArray(actual)) {
    return Object.fromEntries(Object.keys(recorded).filter((k) => k in actual).map((k) => [k, project((actual as Record<string, unknown>)[k], (recorded as Record<string, unknown>)[k])]))
  }
  return actual
}

/** Fields that change by being used, not by an upgrade: a token's last use. */
const unstable = (url: string, body: unknown): unknown =>
  url.startsWith('/v1/tokens') ? JSON.parse(JSON.stringify(body), (k, v: unknown) => k === 'lastUsedAt' ? undefined : v) : body

async function servedAsRecorded (t: Test, u: Upgraded, m: Manifest): Promise<void> {
  for (const r of m.answers) {
    const res = await u.call(r.role, { method: 'GET', url: r.url })
    t.equal(res.statusCode, r.status, `${r.role} ${r.url}: ${r.status}`)
    if (r.location !== undefined) t.equal(res.headers.location, r.location, `${r.url}: redirects as before`)
    if (r.body !== undefined && res.statusCode === 200) {
      t.same(unstable(r.url, project(res.json(), r.body)), unstable(r.url, r.body), `${r.role} ${r.url}: the recorded answer`)
    }
  }
}

async function checkUpgrade (t: Test, folder: string, engine: Engine): Promise<void> {
  const m = JSON.parse(readFileSync(join(folder, `${engine}.json`), 'utf8')) as Manifest
  const tags = journal(engine === 'sqlite' ? migrationsFolder : pgMigrationsFolder)
  t.ok(tags.includes(m.migration), `the fixture's last migration (${m.migration}) is one of this build's`)
  const u = await upgrade(t, folder, m)

  t.equal(await u.applied(), tags.length, `the database records every migration of this build (${tags.at(-1)!})`)
  t.equal((await u.call('public', { url: '/health/ready' })).statusCode, 200, 'ready: every migration applied')
  const [upgraded, fresh] = await u.schemas()
  t.equal(upgraded, fresh, 'the upgraded schema is a new database\'s: no migration acts differently on a database with data')

  await t.test('every recorded answer is served again', (t) => servedAsRecorded(t, u, m))

  await t.test('articles: answers and ETags of the upgraded rows, hidden ones hidden', async (t) => {
    const editor = (await u.call('editor', { url: '/v1/articles?limit=100&status=draft' })).json().data.length as number
    t.equal(editor, 1, 'one draft')
    for (const slug of ['pacific-fleet-home', 'storm-closes-the-harbour', 'cafe-society-reopens', 'budget-leak-draft-only', 'fleet-parade-next-month', 'old-ferry-timetable']) {
      const fresh = (await freshArticle({ app: u.app } as TestApp, slug))!
      const ed = await u.call('editor', { url: `/v1/articles/${slug}` })
      t.equal(ed.body, fresh.payload, `${slug}: the editor's answer is its upgraded row's`)
      t.equal(ed.headers.etag, fresh.etag, `${slug}: and its ETag`)
      const pub = await u.call('public', { url: `/v1/articles/${slug}` })
      t.equal(pub.statusCode, fresh.visibleAt(u.clock.now) ? 200 : 404, `${slug}: public ${fresh.visibleAt(u.clock.now) ? 'as before' : 'still hidden'}`)
      if (pub.statusCode === 200) {
        t.equal((await u.call('public', { url: `/v1/articles/${slug}`, headers: { 'if-none-match': pub.headers.etag as string } })).statusCode, 304, `${slug}: its ETag revalidates`)
      }
    }
    const fleet = (await u.call('public', { url: '/v1/articles/pacific-fleet-home' })).json()
    t.same(fleet.tags.map((tag: { slug: string }) => tag.slug), ['russia', 'navy', 'harbours'], 'tags in their order')
    t.equal(fleet.commentCount, 3, 'its approved comments counted')
    const hits = (await u.call('public', { url: '/v1/articles?q=harbour' })).json().data.map((a: { slug: string }) => a.slug)
    t.ok(hits.includes('storm-closes-the-harbour') && !hits.includes('budget-leak-draft-only'), 'search: the public hit, not the draft')
  })

  await t.test('tokens: the recorded ones authenticate, the revoked one does not', async (t) => {
    t.equal((await u.call('editor', { url: '/v1/articles?status=draft' })).statusCode, 200, 'editor')
    t.equal((await u.call('moderator', { url: '/v1/comments?status=pending' })).statusCode, 200, 'moderator')
    t.equal((await u.call('admin', { url: '/v1/events?limit=1' })).statusCode, 200, 'admin')
    t.equal((await u.call('revoked', { url: '/v1/articles?status=draft' })).statusCode, 401, 'revoked stays revoked')
  })

  await t.test('webhooks: the stored secret still signs, later events follow the old ones', async (t) => {
    const receiver = await startReceiver()
    t.teardown(() => receiver.close())
    receiver.secret = m.webhook.secret
    const url = `/v1/webhooks/${m.webhook.id}`
    t.equal((await u.call('admin', { method: 'PATCH', url, payload: { url: receiver.url } })).statusCode, 200, 'pointed at a receiver of this test')
    t.equal((await u.call('admin', { method: 'POST', url: `${url}/ping` })).statusCode, 202)
    await receiver.waitUntil(() => receiver.received.length >= 1)
    t.equal(receiver.received[0]!.event.type, 'webhook.ping')
    t.equal(receiver.received[0]!.verified, true, 'signed with the secret made before the upgrade (decrypted with the fixture\'s key)')
  })

  await t.test('writes after the upgrade', async (t) => {
    const before = (await u.call('public', { url: '/v1/articles/pacific-fleet-home/comments' })).json().data as Array<{ authorName: string, avatarHash: string }>
    const posted = await u.call('public', { method: 'POST', url: '/v1/articles/pacific-fleet-home/comments', payload: { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Back again.' } })
    t.equal(posted.statusCode, 201, 'a comment')
    t.equal(posted.json().status, 'approved', 'approved at once: her approved comment from before the upgrade counts (moderation "first")')
    t.equal(posted.json().avatarHash, before.find((c) => c.authorName === 'Olga')!.avatarHash, 'the same avatar hash: the stored key survived')

    const current = await u.call('editor', { url: '/v1/articles/pacific-fleet-home' })
    const patched = await u.call('editor', { method: 'PATCH', url: '/v1/articles/pacific-fleet-home', headers: { 'if-match': current.headers.etag as string }, payload: { summary: 'Home after thirty days.' } })
    t.equal(patched.statusCode, 200, 'an edit with If-Match')
    t.equal(patched.json().revision, current.json().revision + 1, 'a new revision on top of the old ones')
    t.equal(patched.json().commentCount, 4, 'the count follows')

    const created = await u.call('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Harbour reopens after the storm', body: 'Ferries run again.', status: 'published', tags: ['Harbours'] } })
    t.equal(created.statusCode, 201, 'a new article')
    const hits = (await u.call('public', { url: '/v1/articles?q=harbour' })).json().data.map((a: { slug: string }) => a.slug)
    t.ok(hits.includes('harbour-reopens-after-the-storm') && hits.includes('storm-closes-the-harbour'), 'search finds the new article beside the old')
    t.equal((await u.call('public', { url: '/v1/tags/harbours' })).json().articleCount, 3, 'the tag counts it')

    const replay = await u.call('editor', { method: 'POST', url: m.idempotent.url, payload: m.idempotent.payload, headers: { 'idempotency-key': m.idempotent.key } })
    t.equal(replay.statusCode, m.idempotent.status, 'an Idempotency-Key from before the upgrade replays')
    t.equal(replay.headers.location, m.idempotent.location, 'the first answer')

    const events = (await u.call('admin', { url: '/v1/events?limit=100' })).json().data as Array<{ type: string, data: { slug?: string } }>
    t.match(events.at(-1), { type: 'article.published', data: { slug: 'harbour-reopens-after-the-storm' } }, 'the log goes on after the recorded events')
  })

  await t.test('the scheduled article comes out when due', async (t) => {
    t.equal((await u.call('public', { url: '/v1/articles/fleet-parade-next-month' })).statusCode, 404)
    u.clock.now = m.recordedAt + 31 * 86_400_000
    t.equal((await u.call('public', { url: '/v1/articles/fleet-parade-next-month' })).statusCode, 200)
  })
}

const kept = existsSync(FIXTURES) ? readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort() : []
t.ok(kept.length > 0, 'at least one kept fixture')
for (const name of kept) {
  for (const engine of ['sqlite', 'postgres'] as const) {
    t.test(`${name}: ${engine}`, (t) => checkUpgrade(t, join(FIXTURES, name), engine))
  }
}
