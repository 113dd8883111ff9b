// Engine selection (src/db/plugin.ts, src/plugins/repositories.ts): an app given PostgreSQL (DATABASE_URL;
// tests set `config.postgres` directly) migrates that database on start, keeps every row there, opens no
// SQLite file, and ends its pool when it closes.
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t from 'tap'
import { sql } from 'drizzle-orm'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import type { PgDb } from '../../src/db/pg/connection.js'
import { build } from '../helper.js'
import { admin, testDatabase } from './cluster.js'

const rows = async <T>(db: PgDb, query: ReturnType<typeof sql>): Promise<T[]> => (await db.execute(query)).rows as T[]
const gazetteConnections = async (db: PgDb, name: string) =>
  (await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${name} AND application_name = 'gazette'`))[0]!.n

t.test('DATABASE_URL: the app migrates PostgreSQL on start, stores there, and closes its pool', async (t) => {
  const { db, url, name } = await testDatabase(t, { migrate: false })
  const databasePath = join(mkdtempSync(join(tmpdir(), 'gazette-')), 'data', 'gazette.db')
  const app = await buildApp({ config: { ...defaultConfig, databasePath, seedDemo: false, maxEventLoopDelay: 0, postgres: { url, poolSize: 3 } } })
  t.teardown(() => app.close())
  await app.ready()
  t.equal(app.storage.engine, 'postgres')
  t.notOk(existsSync(dirname(databasePath)), 'DATABASE_PATH is not opened (not even its folder made)')
  t.throws(() => app.db, /runs on PostgreSQL/, 'a SQLite-only path reached on PostgreSQL fails loudly')
  t.ok((await rows(db, sql`SELECT 1 FROM drizzle.__drizzle_migrations`)).length > 0, 'migrations/pg applied on start')

  const admin = await app.tokens.create('admin', 'admin')
  const res = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'desk', role: 'editor' }, headers: { authorization: `Bearer ${admin.token}` } })
  t.equal(res.statusCode, 201)
  t.same((await rows(db, sql`SELECT name FROM tokens ORDER BY id`)).map((r) => (r as { name: string }).name), ['admin', 'desk'], 'the tokens are rows of PostgreSQL')
  t.ok((await rows(db, sql`SELECT 1 FROM settings WHERE key = 'avatar_hmac_key'`)).length === 1, 'settings too')
  t.ok(await gazetteConnections(db, name) > 0, 'the app holds connections')

  await app.close()
  // A backend leaves pg_stat_activity a moment after its client hangs up; a leaked connection never does.
  let left = await gazetteConnections(db, name)
  for (const deadline = Date.now() + 5000; left > 0 && Date.now() < deadline; left = await gazetteConnections(db, name)) {
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.equal(left, 0, 'none left after close')
})

t.test('health on PostgreSQL: ready when migrated and answering, 503 naming the reason otherwise', async (t) => {
  const a = await build(t, {}, { engine: 'postgres' })
  const { db, name, cluster } = a.pg!
  const ready = await a.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json().checks, { database: 'ok', migrations: 'ok', shutdown: 'ok', load: 'ok' })

  // A migration of this build missing from drizzle's record (a database an older build migrated).
  const [last] = await rows<{ id: number }>(db, sql`SELECT id FROM drizzle.__drizzle_migrations ORDER BY created_at DESC LIMIT 1`)
  await db.execute(sql`UPDATE drizzle.__drizzle_migrations SET created_at = created_at - 1 WHERE id = ${last!.id}`)
  const behind = await a.inject({ method: 'GET', url: '/health/ready' })
  t.equal(behind.statusCode, 503)
  t.match(behind.json().detail, /lacks migrations/)
  await db.execute(sql`UPDATE drizzle.__drizzle_migrations SET created_at = created_at + 1 WHERE id = ${last!.id}`)
  t.equal((await a.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)

  // PostgreSQL refusing the app's connections: both checks say the database does not answer, then recover.
  await admin(cluster, async (client) => {
    await client.query(`ALTER DATABASE ${client.escapeIdentifier(name)} ALLOW_CONNECTIONS false`)
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name])
  })
  const down = await a.inject({ method: 'GET', url: '/health' })
  t.equal(down.statusCode, 503)
  t.match(down.json().detail, /does not answer/)
  t.match((await a.inject({ method: 'GET', url: '/health/ready' })).json().detail, /the database does not answer/)
  await admin(cluster, (client) => client.query(`ALTER DATABASE ${client.escapeIdentifier(name)} ALLOW_CONNECTIONS true`))
  t.equal((await a.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the pool opens new connections')
})

t.test('the SQLite default is unchanged', async (t) => {
  const a = await build(t, {}, { engine: 'sqlite' })
  t.equal(a.app.storage.engine, 'sqlite')
  t.equal(a.app.storage.db, a.app.db)
  t.equal(a.pg, undefined)
})
