// DATABASE_URL and PG_POOL_SIZE (src/config.ts): parsed and checked, wrong values refused without the URL
// (and its password) in the message; when set, it wins over DATABASE_PATH.
import { test } from 'tap'
import { ConfigError, loadConfig, postgresConfig } from '../../src/config.js'

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

test('loadConfig: DATABASE_URL chooses PostgreSQL, and SQLite stays the default', async (t) => {
  t.same(loadConfig({ DATABASE_URL: 'postgres://db/gazette', PG_POOL_SIZE: '4', DATABASE_PATH: './x.db' }).postgres,
    { url: 'postgres://db/gazette', poolSize: 4 }, 'the URL wins over DATABASE_PATH')
  t.equal(loadConfig({ DATABASE_PATH: './x.db' }).postgres, undefined, 'without it: SQLite')
  t.equal(loadConfig({ DATABASE_PATH: './x.db' }).databasePath, './x.db')
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://db/gazette' }), /not a mysql: URL/, 'a wrong one stops the start')
})
