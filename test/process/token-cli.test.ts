// The token CLI as `npm run token` runs it, in its own process.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { cleanEnv } from '../../scripts/harness.js'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'

t.test('the token CLI creates a working token without a server', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-'))
  const databasePath = join(dir, 'cli.db')
  const run = promisify(execFile)
  const env = cleanEnv({ DATABASE_PATH: databasePath })
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/token.ts', '--role', 'editor', '--name', 'newsdesk'], { env })
  const secret = stdout.trim()
  t.match(secret, /^gz_/)
  const app = await buildApp({ config: { ...defaultConfig, databasePath } })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/v1/articles', headers: { authorization: `Bearer ${secret}` }, payload: { title: 'From the CLI' } })
  t.equal(res.statusCode, 201)
  const bad = await run(process.execPath, ['--import', 'tsx', 'src/cli/token.ts', '--role', 'chief', '--name', 'x'], { env }).catch((e: { code: number, stderr: string }) => e)
  t.match(bad, { code: 2, stderr: /--role must be/ })
})

t.test('with DATABASE_URL the token CLI writes to PostgreSQL, migrating an empty database first', async (t) => {
  const { testDatabase } = await import('../pg/cluster.js')
  const pg = await testDatabase(t, { migrate: false })
  const dir = mkdtempSync(join(tmpdir(), 'gazette-'))
  const databasePath = join(dir, 'never.db')
  const run = promisify(execFile)
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/token.ts', '--role', 'moderator', '--name', 'desk'],
    { env: cleanEnv({ DATABASE_URL: pg.url, DATABASE_PATH: databasePath }) })
  const secret = stdout.trim()
  t.match(secret, /^gz_/)
  t.match(stderr, /Created moderator token #1 "desk"/)
  t.notOk(existsSync(databasePath), 'no SQLite file is made on PostgreSQL')
  const stored = await pg.db.$client.query('SELECT * FROM tokens')
  t.equal(stored.rowCount, 1)
  t.notMatch(JSON.stringify(stored.rows), secret.slice(3), 'only a hash of the secret is stored')
  const app = await buildApp({ config: { ...defaultConfig, databasePath, postgres: { url: pg.url, poolSize: 2 } } })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/v1/comments?status=pending', headers: { authorization: `Bearer ${secret}` } })
  t.equal(res.statusCode, 200, 'the server on the same database knows the token')

  // A database that cannot be reached: a clear line and exit 1, without the URL's password or a stack.
  const password = 'n0t-the-real-0ne'
  const refused = await run(process.execPath, ['--import', 'tsx', 'src/cli/token.ts', '--role', 'editor', '--name', 'x'],
    { env: cleanEnv({ DATABASE_URL: `postgres://gazette:${password}@127.0.0.1:1/gazette` }) }).catch((e: { code: number, stdout: string, stderr: string }) => e)
  t.match(refused, { code: 1, stdout: '', stderr: /^token: PostgreSQL \(DATABASE_URL\) could not be opened: .*ECONNREFUSED/ })
  t.notMatch((refused as { stderr: string }).stderr, password)
  t.notMatch((refused as { stderr: string }).stderr, /\n\s+at /, 'no stack trace')
})
