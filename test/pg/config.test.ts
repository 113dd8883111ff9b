// DATABASE_URL and PG_POOL_SIZE (src/config.ts): parsed and checked, wrong values refused without the URL
// (and its password) in the message, and refused at start while this build runs on SQLite only.
import { test } from 'tap'
import { ConfigError, loadConfig, postgresConfig, POSTGRES_AVAILABLE } from '../../src/config.js'

test('DATABASE_URL: a postgres URL, with the pool size', async (t) => {
  t.equal(postgresConfig({}), undefined, 'unset: SQLite')
  t.equal(postgresConfig({ DATABASE_URL: '' }), undefined, 'empty: unset')
  t.same(postgresConfig({ DATABASE_URL: 'postgres://gazette:s3cret@db.internal:5432/gazette?sslmode=require' }),
    { url: 'postgres://gazette:s3cret@db.internal:5432/gazette?sslmode=require', poolSize: 10 })
  t.same(postgresConfig({ DATABASE_URL: 'postgresql://db/gazette', PG_POOL_SIZE: '40' }), { url: 'postgresql://db/gazette', poolSize: 40 })
  t.same(postgresConfig({ DATABASE_URL: 'postgres:///gazette?host=/var/run/postgresql' }),
    { url: 'postgres:///gazette?host=/var/run/postgresql', poolSize: 10 }, 'a Unix socket')
})

test('a wrong DATABASE_URL or PG_POOL_SIZE is refused, never echoing the URL', async (t) => {
  for (const [url, why] of [
    ['not a url with s3cret', /not a URL/],
    ['mysql://root:s3cret@db/gazette', /not a mysql: URL/],
    ['file:///var/lib/gazette.db?s3cret', /not a file: URL \(SQLite is DATABASE_PATH\)/],
    ['postgres:///gazette?password=s3cret', /names no host/]
  ] as const) {
    let error: unknown
    try {
      postgresConfig({ DATABASE_URL: url })
    } catch (err) {
      error = err
    }
    t.ok(error instanceof ConfigError, `${url}: refused`)
    t.match((error as Error).message, why)
    t.notMatch((error as Error).message, /s3cret/, 'the password stays out of the message')
  }
  t.throws(() => postgresConfig({ DATABASE_URL: 'postgres://db/gazette', PG_POOL_SIZE: '0' }), /PG_POOL_SIZE must be an integer from 1 to 1000/)
})

test('until the PostgreSQL adapter is complete, a DATABASE_URL is refused at start, not ignored', async (t) => {
  t.equal(POSTGRES_AVAILABLE, false)
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://db/gazette' }), /runs on SQLite only/)
  t.equal(loadConfig({ DATABASE_PATH: './x.db' }).databasePath, './x.db', 'SQLite as before')
})
