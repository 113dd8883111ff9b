// `npm run db:copy` (src/cli/db-copy.ts) as an operator runs it: a usage error exits 2, a copy that cannot
// be made exits 1 without echoing the URL (it holds a password), and a copy prints what it did and exits 0.
// What the copy holds is tested in test/pg/db-copy.test.ts.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv, root } from '../../scripts/harness.js'
import { openDatabase } from '../../src/db/connection.js'
import { testDatabase } from '../pg/cluster.js'

function dbCopy (args: string[]): Promise<{ code: number | null, out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/db-copy.ts', ...args], { cwd: root, env: cleanEnv({}) })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })))
}

t.test('usage errors exit 2, failures exit 1 without the URL, a copy exits 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-db-copy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'gazette.db')
  openDatabase(file).$client.close() // a new database, migrated: the demo-free minimum

  for (const args of [[], ['--from', file], ['--from', file, '--to', 'mysql://x/y'], ['--from', file, '--to', 'postgres://x/y', '--sample', '-1'], ['--bogus']]) {
    const run = await dbCopy(args)
    t.equal(run.code, 2, `${args.join(' ')}: ${run.out}`)
    t.match(run.out, /usage: npm run db:copy/)
  }
  const missing = await dbCopy(['--from', join(dir, 'none.db'), '--to', 'postgres://x/y'])
  t.equal(missing.code, 1)
  t.match(missing.out, /no SQLite database at/)

  const unreachable = await dbCopy(['--from', file, '--to', 'postgres://gazette:s3cret-Pa55@127.0.0.1:1/gazette'])
  t.equal(unreachable.code, 1, unreachable.out)
  t.match(unreachable.out, /db:copy: .*nothing was copied/)
  t.notMatch(unreachable.out, /s3cret-Pa55/, 'the password is never printed')

  const target = await testDatabase(t, { migrate: false })
  const copied = await dbCopy(['--from', file, '--to', target.url])
  t.equal(copied.code, 0, copied.out)
  t.match(copied.out, /^articles: 0 rows in \d+ ms$/m)
  t.match(copied.out, /Copied \d+ rows in 17 tables in [\d.]+ s; verified row counts, \d+ derived counts and 0 sampled rows\./)
})
