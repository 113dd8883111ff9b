// The real entry point, as `npm start` runs it: configuration from the environment, first start, signals.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
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
