// Makes a kept upgrade fixture (test/fixtures/upgrade/<name>/): a Gazette database of each engine, made by
// the migrations of this commit and filled through the real app over HTTP, with what it answered recorded
// beside it. test/db/upgrade-fixture.test.ts starts the app of a later commit on a copy of each and checks
// that its migrations upgrade the data in place and serve it as recorded.
//
//   npm run fixture:upgrade -- <name>      (node --import tsx scripts/make-upgrade-fixture.ts <name>)
//
// Run it once per release, into a new folder: a fixture is never regenerated in place, or it would stop
// being a database made by an older Gazette (test/fixtures/upgrade/README.md).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import pg from 'pg'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../src/app.js'
import { defaultConfig, type Config } from '../src/config.js'
import { migrationsFolder } from '../src/db/connection.js'
import { pgMigrationsFolder } from '../src/db/pg/connection.js'
import { startReceiver, type Receiver } from './webhook-receiver.js'
import { admin, startCluster, urlOf } from '../test/pg/cluster.js'

type Engine = 'sqlite' | 'postgres'
type Role = 'public' | 'admin' | 'editor' | 'moderator'

/** One answer the app gave when the fixture was made: the test asks again and expects at least this. */
export interface Recorded { role: Role, url: string, status: number, location?: string, body?: unknown }

/** What a fixture's `<engine>.json` holds beside its database. */
export interface Manifest {
  engine: Engine
  commit: string
  /** The last migration applied (its journal tag). */
  migration: string
  /** The app's clock when the answers were recorded (ms); the test starts just after it. */
  recordedAt: number
  /** Tokens made through the API (test secrets of a throwaway database). `revoked` must stay refused. */
  tokens: { admin: string, editor: string, moderator: string, revoked: string }
  /** The signing secret of webhook `webhookId`, encrypted in the database under the fixture's test key. */
  webhook: { id: number, secret: string }
  /** A POST made with an Idempotency-Key: replayed within 24 h, it must answer the same. */
  idempotent: { url: string, key: string, payload: Record<string, unknown>, status: number, location: string }
  answers: Recorded[]
}

const root = resolve(import.meta.dirname, '..')
const START = Date.parse('2026-07-01T08:00:00.000Z')
/**
 * The WEBHOOK_ENCRYPTION_KEY the fixtures' webhook secrets are encrypted with, kept beside them: a test key
 * (the base64 of the ASCII "gazette-upgrade-fixture-test-key"), never one of a real server.
 */
const FIXTURE_WEBHOOK_KEY = readFileSync(join(root, 'test/fixtures/upgrade/webhook-encryption-key.txt'), 'utf8').trim()

interface Session {
  clock: { now: number }
  call: (role: Role, opts: InjectOptions) => Promise<LightMyRequestResponse>
  /** A call that must answer `status`; returns the JSON body (or undefined for 204). */
  ok: (status: number, role: Role, opts: InjectOptions) => Promise<any>
  tokens: Record<string, string>
}

async function session (config: Partial<Config>): Promise<{ s: Session, app: Awaited<ReturnType<typeof buildApp>> }> {
  const clock = { now: START }
  const app = await buildApp({
    config: {
      ...defaultConfig,
      seedDemo: false,
      maxEventLoopDelay: 0,
      queryBudgetMs: 10_000,
      commentRateLimit: 1000,
      webhookAllowPrivate: true,
      webhookEncryptionKey: FIXTURE_WEBHOOK_KEY,
      ...config
    },
    clock: () => clock.now,
    // Deliveries at once; a failed one waits long enough that it is not retried while the fixture is made.
    workers: { pollMs: 20, minIntervalMs: 0, backoff: () => 3_600_000 }
  })
  await app.ready()
  const tokens: Record<string, string> = { admin: (await app.tokens.create('fixture admin', 'admin')).token }
  const call = async (role: Role, opts: InjectOptions) => {
    const headers = { ...opts.headers as Record<string, string>, ...(role === 'public' ? {} : { authorization: `Bearer ${tokens[role]!}` }) }
    // Every write a minute after the one before: distinct, ordered timestamps.
    if (opts.method !== undefined && opts.method !== 'GET') clock.now += 60_000
    return app.inject({ ...opts, headers })
  }
  const ok = async (status: number, role: Role, opts: InjectOptions) => {
    const res = await call(role, opts)
    if (res.statusCode !== status) throw new Error(`${opts.method ?? 'GET'} ${String(opts.url)}: ${res.statusCode}, expected ${status}: ${res.body}`)
    return res.body === '' ? undefined : res.json()
  }
  return { s: { clock, call, ok, tokens }, app }
}

const comment = (authorName: string, authorEmail: string, body: string, extra: Record<string, unknown> = {}) =>
  ({ authorName, authorEmail, body, ...extra })

/** The newsroom's week, through the API: every table that holds user data gets rows. */
async function story (s: Session, hooks: { ok: Receiver, failing: Receiver }): Promise<Pick<Manifest, 'tokens' | 'webhook' | 'idempotent'>> {
  const { ok } = s
  s.tokens.editor = (await ok(201, 'admin', { method: 'POST', url: '/v1/tokens', payload: { name: 'fixture newsdesk', role: 'editor' } })).token
  s.tokens.moderator = (await ok(201, 'admin', { method: 'POST', url: '/v1/tokens', payload: { name: 'fixture moderation', role: 'moderator' } })).token
  const revoked = await ok(201, 'admin', { method: 'POST', url: '/v1/tokens', payload: { name: 'fixture former intern', role: 'editor' } })
  await ok(204, 'admin', { method: 'DELETE', url: `/v1/tokens/${revoked.id as number}` })

  const hook = await ok(201, 'admin', { method: 'POST', url: '/v1/webhooks', payload: { url: hooks.ok.url, events: ['article.published', 'article.updated', 'article.unpublished', 'comment.submitted', 'comment.approved', 'comment.edited', 'comment.removed', 'tag.updated', 'tag.deleted'], description: 'CDN purge' } })
  hooks.ok.secret = hook.secret
  const failing = await ok(201, 'admin', { method: 'POST', url: '/v1/webhooks', payload: { url: hooks.failing.url, events: ['article.published'], description: 'Newsletter (down)' } })

  await ok(201, 'editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Harbours', description: 'Ports and the ships in them.' } })
  await ok(201, 'editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Obsolete' } })
  await ok(204, 'editor', { method: 'DELETE', url: '/v1/tags/obsolete' })

  const first = {
    title: 'Pacific Fleet returns to Vladivostok',
    dateline: 'VLADIVOSTOK',
    section: 'Politics & Diplomacy',
    summary: 'Three frigates docked after a month at sea.',
    body: 'The ships **docked** at dawn.\n\nCrowds waited on the [quay](https://news.example/quay) since midnight.',
    authors: ['Anna Petrova', 'Ben Okafor'],
    tags: ['Russia', 'Navy', 'Harbours'],
    status: 'published',
    image: { url: 'https://images.news.example/frigates.jpg', alt: 'Three frigates at a pier', caption: 'At the pier', credit: 'Gazette' }
  }
  const idempotent = { url: '/v1/articles', key: 'fixture-article-1', payload: first }
  const created = await s.call('editor', { method: 'POST', url: idempotent.url, payload: first, headers: { 'idempotency-key': idempotent.key } })
  if (created.statusCode !== 201) throw new Error(created.body)
  const fleet = created.json().slug as string
  await ok(201, 'editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Storm closes the harbour', section: 'Weather', body: 'Gales of *force ten* kept every ferry in port.', tags: ['Weather', 'Harbours'], status: 'published', canonicalUrl: 'https://wire.example/storm', authors: ['Ben Okafor'] } })
  await ok(201, 'editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Café society reopens', section: 'Culture', body: 'The café on the corner serves again.', tags: ['Food'], status: 'published', commentsOpen: false } })
  await ok(201, 'editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Budget leak: draft only', body: 'Nobody outside the newsroom may read this harbour draft.', tags: ['Embargoed'] } })
  await ok(201, 'editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Fleet parade next month', body: 'A parade of the harbour fleet is planned.', tags: ['Navy'], status: 'published', publishedAt: new Date(START + 30 * 86_400_000).toISOString() } })
  await ok(201, 'editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Old ferry timetable', body: 'Ferries leave on the hour.', status: 'published' } })
  await ok(200, 'editor', { method: 'PATCH', url: '/v1/articles/old-ferry-timetable', payload: { status: 'archived' } })
  await ok(201, 'editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Retracted story', body: 'Gone.', status: 'published' } })
  await ok(204, 'editor', { method: 'DELETE', url: '/v1/articles/retracted-story' })

  // Revisions: edits, a new slug (the old one redirects), and a restore.
  await ok(200, 'editor', { method: 'PATCH', url: `/v1/articles/${fleet}`, payload: { summary: 'Three frigates docked after thirty days at sea.' } })
  await ok(200, 'editor', { method: 'PATCH', url: `/v1/articles/${fleet}`, payload: { slug: 'pacific-fleet-home' } })
  await ok(200, 'editor', { method: 'PATCH', url: '/v1/articles/storm-closes-the-harbour', payload: { title: 'Storm shuts the harbour', tags: ['Weather'] } })
  await ok(200, 'editor', { method: 'POST', url: '/v1/articles/storm-closes-the-harbour/revisions/1/restore' })
  await ok(200, 'editor', { method: 'PATCH', url: '/v1/tags/weather', payload: { description: 'Storms, gales and the odd sunny day.' } })

  // Comments: approved, pending, a thread, spam, trash, an author's edit, a moderator's delete, an erasure.
  const on = (slug: string, payload: Record<string, unknown>, ip: string, headers: Record<string, string> = {}) =>
    ok(201, 'public', { method: 'POST', url: `/v1/articles/${slug}/comments`, payload, remoteAddress: ip, headers: { 'user-agent': 'FixtureBrowser/1.0', ...headers } })
  const olga = await on('pacific-fleet-home', comment('Olga', 'olga@example.org', 'Welcome home, sailors.'), '203.0.113.1')
  await ok(200, 'moderator', { method: 'PATCH', url: `/v1/comments/${olga.id as number}`, payload: { status: 'approved' } })
  const ivan = await on('pacific-fleet-home', comment('Ivan', 'ivan@example.org', 'My brother is on the *Admiral*.', { parentId: olga.id, authorUrl: 'https://ivan.example' }), '203.0.113.2')
  await ok(200, 'moderator', { method: 'PATCH', url: `/v1/comments/${ivan.id as number}`, payload: { status: 'approved' } })
  await on('pacific-fleet-home', comment('Olga', 'OLGA@example.org', 'And the weather held.'), '203.0.113.1', { 'idempotency-key': 'fixture-comment-olga-2' })
  const spam = await on('pacific-fleet-home', comment('Deals', 'deals@spam.example', 'Cheap [a](https://a.example) [b](https://b.example) [c](https://c.example)'), '198.51.100.9')
  await ok(200, 'moderator', { method: 'PATCH', url: `/v1/comments/${spam.id as number}`, payload: { status: 'spam' } })
  await on('pacific-fleet-home', comment('Nadia', 'nadia@example.org', 'Still waiting for moderation.'), '203.0.113.4')
  const boris = await on('storm-closes-the-harbour', comment('Boris', 'boris@example.org', 'The ferry was late.'), '203.0.113.5')
  await ok(200, 'moderator', { method: 'PATCH', url: `/v1/comments/${boris.id as number}`, payload: { status: 'approved' } })
  await ok(200, 'public', { method: 'PATCH', url: `/v1/comments/${boris.id as number}`, payload: { body: 'The ferry was two hours late.' }, headers: { 'comment-token': boris.editToken }, remoteAddress: '203.0.113.5' })
  await ok(200, 'moderator', { method: 'PATCH', url: `/v1/comments/${boris.id as number}`, payload: { status: 'approved' } })
  const eve = await on('storm-closes-the-harbour', comment('Eve', 'eve@example.org', 'I saw the waves from my window.'), '203.0.113.6')
  await ok(200, 'moderator', { method: 'PATCH', url: `/v1/comments/${eve.id as number}`, payload: { status: 'approved' } })
  await on('storm-closes-the-harbour', comment('Ivan', 'ivan@example.org', 'So did I, Eve.', { parentId: eve.id }), '203.0.113.2')
  const trash = await on('storm-closes-the-harbour', comment('Troll', 'troll@example.org', 'Nobody cares.'), '198.51.100.10')
  await ok(200, 'moderator', { method: 'PATCH', url: `/v1/comments/${trash.id as number}`, payload: { status: 'trash' } })
  const gone = await on('storm-closes-the-harbour', comment('Boris', 'boris@example.org', 'Posted twice, sorry.'), '203.0.113.5')
  await ok(204, 'moderator', { method: 'DELETE', url: `/v1/comments/${gone.id as number}` })
  for (const [ip, reason] of [['192.0.2.1', 'off-topic'], ['192.0.2.2', 'spam']] as const) {
    await ok(202, 'public', { method: 'POST', url: `/v1/comments/${ivan.id as number}/reports`, payload: { reason }, remoteAddress: ip })
  }
  // Eve asks to be forgotten: her comment, which has a reply, stays as a tombstone.
  await ok(200, 'admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: 'eve@example.org' } })

  // The working receiver got every delivery; the failing one's first try failed (the rest
  // wait behind it, in order), and it was switched off.
  // Settled: nothing pending, and nothing new for a while (the dispatcher turns events into deliveries).
  let before = ''
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 300))
    const log = (await ok(200, 'admin', { url: `/v1/webhooks/${hook.id as number}/deliveries?limit=100` })).data as Array<{ status: string }>
    const down = (await ok(200, 'admin', { url: `/v1/webhooks/${failing.id as number}/deliveries?limit=100` })).data as Array<{ attempts: number }>
    const now = JSON.stringify([log, down])
    if (now === before && log.length > 0 && log.every((d) => d.status === 'succeeded') && down.some((d) => d.attempts >= 1)) break
    before = now
  }
  await ok(200, 'admin', { method: 'PATCH', url: `/v1/webhooks/${failing.id as number}`, payload: { enabled: false } })

  return {
    tokens: { admin: s.tokens.admin!, editor: s.tokens.editor!, moderator: s.tokens.moderator!, revoked: revoked.token },
    webhook: { id: hook.id, secret: hook.secret },
    idempotent: { ...idempotent, status: 201, location: created.headers.location as string }
  }
}

/** What the test asks again, by role: lists, single resources, hidden ones, the moderation queue, the log. */
const QUESTIONS: Array<[Role, string]> = [
  ['public', '/v1/articles?include=total'],
  ['public', '/v1/articles?q=harbour'],
  ['public', '/v1/articles?q=cafe'],
  ['public', '/v1/articles?tag=harbours'],
  ['public', '/v1/articles/pacific-fleet-home'],
  ['public', '/v1/articles/pacific-fleet-returns-to-vladivostok'],
  ['public', '/v1/articles/storm-closes-the-harbour'],
  ['public', '/v1/articles/cafe-society-reopens'],
  ['public', '/v1/articles/budget-leak-draft-only'],
  ['public', '/v1/articles/fleet-parade-next-month'],
  ['public', '/v1/articles/old-ferry-timetable'],
  ['public', '/v1/articles/retracted-story'],
  ['public', '/v1/tags?sort=-articleCount'],
  ['public', '/v1/tags/harbours'],
  ['public', '/v1/tags/embargoed'],
  ['public', '/v1/articles/pacific-fleet-home/comments'],
  ['public', '/v1/articles/storm-closes-the-harbour/comments'],
  ['public', '/feeds/json'],
  ['editor', '/v1/articles?status=draft'],
  ['editor', '/v1/articles?status=archived'],
  ['editor', '/v1/articles?q=harbour'],
  ['editor', '/v1/articles/budget-leak-draft-only'],
  ['editor', '/v1/articles/fleet-parade-next-month'],
  ['editor', '/v1/tags/embargoed'],
  ['editor', '/v1/articles/pacific-fleet-home/revisions'],
  ['editor', '/v1/articles/pacific-fleet-home/revisions/1'],
  ['editor', '/v1/articles/storm-closes-the-harbour/revisions'],
  ['editor', '/v1/articles/storm-closes-the-harbour/revisions/2'],
  ['moderator', '/v1/comments?status=pending&limit=100'],
  ['moderator', '/v1/comments?status=approved&limit=100'],
  ['moderator', '/v1/comments?status=spam&limit=100'],
  ['moderator', '/v1/comments?status=trash&limit=100'],
  ['admin', '/v1/events?limit=100'],
  ['admin', '/v1/webhooks'],
  ['admin', '/v1/webhooks/1/deliveries?limit=100'],
  ['admin', '/v1/webhooks/2/deliveries?limit=100'],
  ['admin', '/v1/tokens']
]

async function record (s: Session): Promise<Recorded[]> {
  const out: Recorded[] = []
  for (const [role, url] of QUESTIONS) {
    const res = await s.call(role, { method: 'GET', url })
    const json = /json/.test(String(res.headers['content-type'])) && res.body !== ''
    out.push({
      role,
      url,
      status: res.statusCode,
      ...(res.headers.location === undefined ? {} : { location: String(res.headers.location) }),
      ...(json && res.statusCode === 200 ? { body: res.json() } : {})
    })
  }
  return out
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim()
const lastTag = (folder: string) => (JSON.parse(readFileSync(join(folder, 'meta/_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> }).entries.at(-1)!.tag

async function makeSqlite (out: string, commit: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-fixture-'))
  const receivers = { ok: await startReceiver(), failing: await startReceiver(() => 503) }
  try {
    const { s, app } = await session({ databasePath: join(dir, 'gazette.db') })
    const made = await story(s, receivers)
    const answers = await record(s)
    // One compact file, without the WAL: what a backup of the live database would hold.
    app.db.$client.prepare('VACUUM INTO ?').run(join(out, 'sqlite.db'))
    await app.close()
    write(out, { engine: 'sqlite', commit, migration: lastTag(migrationsFolder), recordedAt: s.clock.now, ...made, answers })
  } finally {
    await receivers.ok.close()
    await receivers.failing.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function makePostgres (out: string, commit: string): Promise<void> {
  const cluster = await startCluster({})
  const receivers = { ok: await startReceiver(), failing: await startReceiver(() => 503) }
  try {
    await admin(cluster, async (c) => { await c.query('CREATE DATABASE fixture'); await c.query('CREATE DATABASE reloaded') })
    const url = urlOf(cluster, 'fixture')
    const { s, app } = await session({ databasePath: ':memory:', postgres: { url, poolSize: 4 } })
    const made = await story(s, receivers)
    const answers = await record(s)
    await app.close()
    const dump = await dumpPostgres(url)
    writeFileSync(join(out, 'postgres.sql'), dump)
    // The dump must make the same database again: same catalog, same rows.
    const reloaded = urlOf(cluster, 'reloaded')
    await withClient(reloaded, (c) => c.query(dump))
    const [a, b] = [await fingerprint(url), await fingerprint(reloaded)]
    if (a !== b) throw new Error('postgres.sql does not rebuild the database it was dumped from')
    if (await dumpPostgres(reloaded) !== dump) throw new Error('postgres.sql: the rebuilt database dumps differently')
    write(out, { engine: 'postgres', commit, migration: lastTag(pgMigrationsFolder), recordedAt: s.clock.now, ...made, answers })
  } finally {
    await receivers.ok.close()
    await receivers.failing.close()
    await cluster.stop()
  }
}

function write (out: string, manifest: Manifest): void {
  writeFileSync(join(out, `${manifest.engine}.json`), `${JSON.stringify(manifest, null, 1)}\n`)
}

async function withClient<T> (url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

const literal = (v: string | null) => v === null ? 'NULL' : `'${v.replaceAll("'", "''")}'`
const ident = (name: string) => `"${name.replaceAll('"', '""')}"`

/**
 * The PostgreSQL database as plain SQL that the `pg` client runs in one call (no psql, no pg_dump: CI has
 * neither, and this machine's pg_dump is older than the server). The schema is the migrations' own SQL, as
 * drizzle ran it; then every row of every table, each value in its text form (which every type reads
 * back), with triggers off so the stored counts and search documents load as they were, not recomputed;
 * then the sequences. Rows in key order: the same database always dumps to the same text.
 */
async function dumpPostgres (url: string): Promise<string> {
  return withClient(url, async (c) => {
    const applied = (await c.query<{ hash: string }>('SELECT hash FROM drizzle.__drizzle_migrations ORDER BY id')).rows
    const journal = (JSON.parse(readFileSync(join(pgMigrationsFolder, 'meta/_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> }).entries
    if (applied.length !== journal.length) throw new Error(`${applied.length} migrations applied, ${journal.length} in the journal`)
    const parts = [
      '-- A Gazette PostgreSQL database made by scripts/make-upgrade-fixture.ts: load it with the pg client in one',
      '-- query (test/db/upgrade-fixture.test.ts), as a superuser (session_replication_role). Do not edit.',
      'SET standard_conforming_strings = on;',
      'SET client_min_messages = warning;'
    ]
    for (const entry of journal) parts.push(`\n-- migrations/pg/${entry.tag}.sql\n`, readFileSync(join(pgMigrationsFolder, `${entry.tag}.sql`), 'utf8'), ';')
    // drizzle's own bookkeeping, as its migrator creates it.
    parts.push('\nCREATE SCHEMA IF NOT EXISTS drizzle;', 'CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint);')
    const tables = (await c.query<{ schema: string, name: string }>(`
      SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('public', 'drizzle') ORDER BY n.nspname DESC, c.relname`)).rows
    const qualified = tables.map((t) => `${ident(t.schema)}.${ident(t.name)}`)
    // What the migrations inserted (the change clock, the count of all articles) is replaced by the rows.
    parts.push('\n-- The rows, as they were.', 'SET session_replication_role = replica;', `TRUNCATE ${qualified.join(', ')};`)
    for (const table of qualified) {
      const columns = (await c.query<{ name: string, key: number | null }>(`
        SELECT a.attname AS name, array_position(i.indkey::int2[], a.attnum) AS key
        FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`, [table])).rows
      const keys = columns.filter((col) => col.key !== null).sort((x, y) => x.key! - y.key!)
      const order = (keys.length > 0 ? keys : columns).map((col) => ident(col.name)).join(', ')
      const list = columns.map((col) => ident(col.name)).join(', ')
      const rows = (await c.query<string[]>({ text: `SELECT ${columns.map((col) => `${ident(col.name)}::text`).join(', ')} FROM ${table} ORDER BY ${order}`, rowMode: 'array' })).rows
      for (const row of rows) parts.push(`INSERT INTO ${table} (${list}) VALUES (${row.map(literal).join(', ')});`)
    }
    parts.push('RESET session_replication_role;')
    const sequences = (await c.query<{ name: string, last: string | null }>(`
      SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS name, last_value::text AS last FROM pg_sequences
      WHERE schemaname IN ('public', 'drizzle') ORDER BY 1`)).rows
    for (const seq of sequences) if (seq.last !== null) parts.push(`SELECT setval(${literal(seq.name)}, ${seq.last}, true);`)
    return `${parts.join('\n')}\n`
  })
}

/**
 * The catalog of a PostgreSQL database as text: columns, constraints, indexes, triggers, functions, text
 * search. Two databases with the same fingerprint have the same schema (the upgrade test compares an
 * upgraded fixture with a freshly migrated database).
 */
export async function fingerprint (url: string): Promise<string> {
  return withClient(url, async (c) => {
    const queries = [
      `SELECT table_schema, table_name, column_name, data_type, column_default, is_nullable, is_identity FROM information_schema.columns
       WHERE table_schema IN ('public', 'drizzle') ORDER BY 1, 2, column_name`,
      "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
      "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes WHERE schemaname IN ('public', 'drizzle') ORDER BY 1, 2, 3",
      'SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2',
      "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p') ORDER BY 1, 2",
      "SELECT c.relname, c.relpersistence, c.relkind FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1",
      "SELECT cfgname FROM pg_ts_config WHERE cfgnamespace = 'public'::regnamespace ORDER BY 1",
      'SELECT extname FROM pg_extension ORDER BY 1'
    ]
    const out: string[] = []
    for (const q of queries) out.push(JSON.stringify((await c.query(q)).rows))
    return out.join('\n')
  })
}

async function main (): Promise<void> {
  const name = process.argv[2]
  if (name === undefined || !/^[a-z0-9][a-z0-9.-]*$/.test(name)) throw new Error('usage: make-upgrade-fixture.ts <name>   (a new folder under test/fixtures/upgrade/)')
  const out = join(root, 'test/fixtures/upgrade', name)
  if (existsSync(out)) throw new Error(`${out} exists: a fixture is never regenerated in place; make a new one`)
  if (git('status', '--porcelain', '--', 'migrations', 'src') !== '') throw new Error('uncommitted changes in migrations/ or src/: a fixture is made by a commit')
  const commit = git('rev-parse', 'HEAD')
  mkdirSync(out, { recursive: true })
  try {
    await makeSqlite(out, commit)
    await makePostgres(out, commit)
  } catch (err) {
    rmSync(out, { recursive: true, force: true })
    throw err
  }
  for (const file of ['sqlite.db', 'postgres.sql', 'sqlite.json', 'postgres.json']) console.log(`${file}: ${Math.round(statSync(join(out, file)).size / 1024)} KB`)
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) await main()
