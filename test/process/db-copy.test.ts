// `npm run db:copy` (src/cli/db-copy.ts) as an operator runs it: a usage error exits 2, a copy that cannot
// be made exits 1 without echoing the URL (it holds a password), a copy prints what it did and exits 0, and
// a copy stopped by a signal leaves neither its snapshot (as large as the database) nor any row behind.
// What the copy holds is tested in test/pg/db-copy.test.ts.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv, root } from '../../scripts/harness.js'
import { openDatabase } from '../../src/db/connection.js'
import { COPIED } from '../../src/db/copy.js'
import { generate } from '../../bench/generate.js'
import { testDatabase } from '../pg/cluster.js'

/** Runs db:copy; `onOutput` sees its output as it comes, with the child (to signal it). */
function dbCopy (args: string[], env: Record<string, string> = {}, onOutput?: (out: string, child: ChildProcess) => void): Promise<{ code: number | null, out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/db-copy.ts', ...args], { cwd: root, env: cleanEnv(env) })
  let out = ''
  const seen = (d: Buffer) => { out += d.toString(); onOutput?.(out, child) }
  child.stdout.on('data', seen)
  child.stderr.on('data', seen)
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
  t.match(copied.out, new RegExp(`Copied \\d+ rows in ${COPIED.length} tables in [\\d.]+ s; verified row counts, \\d+ derived counts and 0 sampled rows\\.`), 'every copied table')
})

t.test('a copy stopped by SIGTERM leaves no snapshot and no row, and exits 143', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-db-copy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'gazette.db')
  generate({ articles: 1500, out: file, seed: 1 })
  // The copy's temporary folder, to see its snapshot come and go (tsx keeps its cache there too).
  const tmp = join(dir, 'tmp')
  mkdirSync(tmp)
  const target = await testDatabase(t, { migrate: false })
  let sent = false
  let snapshotSeen = 0
  const run = await dbCopy(['--from', file, '--to', target.url], { TMPDIR: tmp }, (out, child) => {
    // Stopped while it copies the articles: after the snapshot, inside its PostgreSQL transaction.
    if (!sent && /^snapshot of .* taken in \d+ ms$/m.test(out)) {
      sent = true
      snapshotSeen = readdirSync(tmp).filter((name) => name.startsWith('gazette-copy-')).length
      child.kill('SIGTERM')
    }
  })
  t.ok(sent, `the copy got as far as its snapshot:\n${run.out}`)
  t.equal(snapshotSeen, 1, 'the snapshot was there when the signal came')
  t.equal(run.code, 143, run.out)
  t.match(run.out, /db:copy: stopped by SIGTERM; nothing was copied/)
  t.same(readdirSync(tmp).filter((name) => name.startsWith('gazette-copy-')), [], 'the snapshot is gone')
  const { rows } = await target.db.$client.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'articles'")
  const articles = rows[0].n === 0 ? 0 : (await target.db.$client.query('SELECT count(*)::int AS n FROM articles')).rows[0].n
  t.equal(articles, 0, 'no article reached PostgreSQL')
})
