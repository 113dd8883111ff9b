// The token CLI as `npm run token` runs it, in its own process.
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
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
