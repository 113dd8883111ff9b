// QUERY_BUDGET_MS on PostgreSQL (src/db/plugin.ts, src/db/pg/connection.ts): the server cancels any
// statement of the app's pool that runs longer (statement_timeout, SQLSTATE 57014), which answers as on
// SQLite: 503 /problems/query-timeout with Retry-After, a write it was part of rolled back, a search 422 on
// q. Time between statements is nobody's, and the migrations, which run on a connection of their own, are
// not limited.
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import { MIGRATION_LOCK, type PgDb } from '../../src/db/pg/connection.js'
import { assertProblem, build, createArticle } from '../helper.js'
import { testDatabase } from './cluster.js'

async function slowApp (t: Test, queryBudgetMs: number, on?: string) {
  const { url, db } = on === undefined ? await testDatabase(t, { migrate: false }) : { url: on, db: undefined }
  const app = await buildApp({
    config: { ...defaultConfig, databasePath: ':memory:', seedDemo: false, maxEventLoopDelay: 0, queryBudgetMs, postgres: { url, poolSize: 4 } }
  })
  const pool = () => (app.storage.db as PgDb).$client
  app.get('/slow', async () => (await pool().query('SELECT pg_sleep(5)')).rowCount)
  app.post('/slow-write', async () => {
    const client = await pool().connect()
    try {
      await client.query('BEGIN')
      await client.query("INSERT INTO settings (key, value) VALUES ('budget-test', 'written')")
      await client.query('SELECT pg_sleep(5)')
      await client.query('COMMIT')
    } catch (err) {
      await client.query('ROLLBACK')
      throw err
    } finally {
      client.release()
    }
    return { ok: true }
  })
  // A statement, a wait for something else, another statement: the wait is longer than the budget.
  app.get('/pause', async (request) => {
    await pool().query('SELECT 1')
    await new Promise((resolve) => setTimeout(resolve, Number((request.query as { wait: string }).wait)))
    return { n: (await pool().query('SELECT pg_sleep(0.02), 1 AS n')).rows[0].n }
  })
  t.teardown(() => app.close())
  await app.ready()
  return { app, db }
}

t.test('a statement past QUERY_BUDGET_MS is cancelled: 503, a write rolls back, the pool goes on', async (t) => {
  const { app, db: maybe } = await slowApp(t, 300)
  const db = maybe!
  const started = performance.now()
  const [slow, list] = await Promise.all([app.inject({ method: 'GET', url: '/slow' }), app.inject({ method: 'GET', url: '/v1/articles' })])
  const ms = performance.now() - started
  const body = assertProblem(t, slow, 503, 'query-timeout')
  t.equal(slow.headers['retry-after'], '1')
  t.match(body.detail, /QUERY_BUDGET_MS/)
  t.ok(ms < 4000, `cancelled after the budget, not left to run (${ms.toFixed(0)} ms)`)
  t.equal(list.statusCode, 200, 'another request was answered meanwhile')

  assertProblem(t, await app.inject({ method: 'POST', url: '/slow-write', payload: {} }), 503, 'query-timeout')
  const kept = await db.execute(sql`SELECT count(*)::int AS n FROM settings WHERE key = 'budget-test'`)
  t.equal(kept.rows[0]!.n, 0, 'nothing of the write was kept')

  // Every connection of the pool is as good as before.
  const after = await Promise.all(Array.from({ length: 8 }, () => app.inject({ method: 'GET', url: '/v1/articles' })))
  t.same(after.map((r) => r.statusCode), Array(8).fill(200))
})

t.test('migrations are not limited, and time between statements is not charged', async (t) => {
  // Another process holds the migration lock for 600 ms: this one's migration waits for it, longer than the
  // 150 ms budget, and still runs (it has a connection of its own, without the statement timeout).
  const { url, db } = await testDatabase(t, { migrate: false })
  const holder = await db.$client.connect()
  await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()])
  const released = new Promise((resolve) => setTimeout(resolve, 600)).then(async () => {
    await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()])
    holder.release()
  })
  const started = performance.now()
  const { app } = await slowApp(t, 150, url)
  await released
  t.ok(performance.now() - started >= 600, 'the migration waited for the lock')
  const migrated = await db.execute(sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`)
  t.ok(Number(migrated.rows[0]!.n) >= 6, 'and every migration was applied')
  const res = await app.inject({ method: 'GET', url: '/pause?wait=400' })
  t.equal(res.statusCode, 200, 'a 400 ms wait between two short statements is within a 150 ms budget')
  t.same(res.json(), { n: 1 })
})

t.test('a search stopped by the budget is a 422 on q, any other list a 503', async (t) => {
  const a = await build(t, { queryBudgetMs: 200, responseCacheMb: 0 }, { engine: 'postgres' })
  await createArticle(a, { title: 'Tide table', body: 'The tide rose today.', status: 'published' })
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles?q=tide' })).statusCode, 200, 'the search within its budget')
  // A statement's wait for a lock is part of its time: with the articles locked by another session, the
  // search's statements run past the budget, deterministically, however fast the machine.
  const client = await a.pg!.db.$client.connect()
  try {
    await client.query('BEGIN')
    await client.query('LOCK TABLE articles IN ACCESS EXCLUSIVE MODE')
    const search = await a.inject({ method: 'GET', url: '/v1/articles?q=tide' })
    const body = assertProblem(t, search, 422, 'validation')
    t.match(body.errors, [{ in: 'query', pointer: '/q', message: /took too long/ }])
    assertProblem(t, await a.inject({ method: 'GET', url: '/v1/articles/tide-table' }), 503, 'query-timeout')
  } finally {
    await client.query('ROLLBACK')
    client.release()
  }
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles?q=tide' })).statusCode, 200, 'and answers again once the lock is gone')
})
