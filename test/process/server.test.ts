// The real entry point, as `npm start` runs it: configuration from the environment, first start, signals.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv, freePort } from '../../scripts/harness.js'

function start (env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr.on('data', (d: Buffer) => { output += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, exited, output: () => output }
}

async function waitFor (url: string): Promise<void> {
  // A deadline, not a count: on a busy machine tsx alone takes over 10 s to start the server.
  for (const until = Date.now() + 60_000; Date.now() < until;) {
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} never answered`)
}

t.test('starts on a new database, prints a first admin token, and stops cleanly on SIGTERM', async (t) => {
  const port = await freePort()
  const databasePath = join(mkdtempSync(join(tmpdir(), 'gazette-')), 'nested', 'gazette.db')
  const server = start({ PORT: String(port), DATABASE_PATH: databasePath })
  const base = `http://127.0.0.1:${port}`
  await waitFor(`${base}/health`)
  const token = /\n\s+(gz_[\w-]+)\n/.exec(server.output())?.[1]
  t.ok(token, 'an admin token was printed')
  const welcome = await fetch(`${base}/v1/articles/welcome-to-gazette`)
  t.equal(welcome.status, 200, 'the welcome article is seeded')
  const created = await fetch(`${base}/v1/articles`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token ?? ''}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Hello', status: 'published' })
  })
  t.equal(created.status, 201)
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0, 'exit code 0')

  // Second start on the same database: no new token, no second welcome article.
  const again = start({ PORT: String(port), DATABASE_PATH: databasePath })
  await waitFor(`${base}/health`)
  t.notMatch(again.output(), /gz_/, 'no token printed when one exists')
  const list = await (await fetch(`${base}/v1/articles`)).json() as { data: unknown[] }
  t.equal(list.data.length, 2)
  again.child.kill('SIGINT')
  t.equal(await again.exited, 0)
})

t.test('a bad configuration stops the server with a clear message', async (t) => {
  const server = start({ PORT: 'eighty', DATABASE_PATH: ':memory:' })
  t.equal(await server.exited, 1)
  t.match(server.output(), /PORT must be an integer/)
})

t.test('a database that cannot be opened stops the server with one clear line, never the URL or a stack', async (t) => {
  const password = 'n0t-the-real-0ne'
  // Nothing listens on port 1: the connection is refused at once.
  const pg = start({ PORT: String(await freePort()), DATABASE_URL: `postgres://gazette:${password}@127.0.0.1:1/gazette` })
  t.equal(await pg.exited, 1)
  t.match(pg.output(), /^gazette: PostgreSQL \(DATABASE_URL\) could not be opened: .*ECONNREFUSED.*\n$/)
  t.notMatch(pg.output(), password)
  t.notMatch(pg.output(), /\n\s+at /, 'no stack trace')

  // A file where none can be made (its folder is a file).
  const dir = mkdtempSync(join(tmpdir(), 'gazette-'))
  const notAFolder = join(dir, 'plain')
  writeFileSync(notAFolder, 'x')
  const sqlite = start({ PORT: String(await freePort()), DATABASE_PATH: join(notAFolder, 'gazette.db') })
  t.equal(await sqlite.exited, 1)
  t.match(sqlite.output(), /^gazette: The SQLite database \(DATABASE_PATH .*plain\/gazette\.db\) could not be opened: .+\n$/)
  t.notMatch(sqlite.output(), /\n\s+at /, 'no stack trace')
})
