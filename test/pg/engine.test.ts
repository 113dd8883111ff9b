// Engine selection (src/db/plugin.ts, src/plugins/repositories.ts): an app given PostgreSQL (DATABASE_URL;
// tests set `config.postgres`, as loadConfig refuses it until the port is complete) migrates that database
// on start, keeps the ported repositories' rows there, and ends its pool when it closes.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import type { PgDb } from '../../src/db/pg/connection.js'
import { build } from '../helper.js'
import { testDatabase } from './cluster.js'

const rows = async <T>(db: PgDb, query: ReturnType<typeof sql>): Promise<T[]> => (await db.execute(query)).rows as T[]
const gazetteConnections = async (db: PgDb, name: string) =>
  (await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${name} AND application_name = 'gazette'`))[0]!.n

t.test('DATABASE_URL: the app migrates PostgreSQL on start, stores there, and closes its pool', async (t) => {
  const { db, url, name } = await testDatabase(t, { migrate: false })
  const app = await buildApp({ config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, maxEventLoopDelay: 0, postgres: { url, poolSize: 3 } } })
  t.teardown(() => app.close())
  await app.ready()
  t.equal(app.storage.engine, 'postgres')
  t.ok((await rows(db, sql`SELECT 1 FROM drizzle.__drizzle_migrations`)).length > 0, 'migrations/pg applied on start')

  const admin = await app.tokens.create('admin', 'admin')
  const res = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'desk', role: 'editor' }, headers: { authorization: `Bearer ${admin.token}` } })
  t.equal(res.statusCode, 201)
  t.same((await rows(db, sql`SELECT name FROM tokens ORDER BY id`)).map((r) => (r as { name: string }).name), ['admin', 'desk'], 'the tokens are rows of PostgreSQL')
  t.ok((await rows(db, sql`SELECT 1 FROM settings WHERE key = 'avatar_hmac_key'`)).length === 1, 'settings too')
  t.ok(await gazetteConnections(db, name) > 0, 'the app holds connections')

  await app.close()
  t.equal(await gazetteConnections(db, name), 0, 'none left after close')
})

t.test('the SQLite default is unchanged', async (t) => {
  const a = await build(t, {}, { engine: 'sqlite' })
  t.equal(a.app.storage.engine, 'sqlite')
  t.equal(a.app.storage.db, a.app.db)
  t.equal(a.pg, undefined)
})
