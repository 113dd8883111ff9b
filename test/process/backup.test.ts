// `npm run backup` under write load: the copy is consistent, holds every write acknowledged before the
// backup started, and a server restored from it serves them.
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { cleanEnv, freePort, root, startServer, writeLoad } from '../../scripts/harness.js'

const token = 'backup-test-admin-token-0123456789'

function backup (args: string[], databasePath: string, env: Record<string, string> = {}): Promise<{ code: number | null, out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/backup.ts', ...args], { cwd: root, env: cleanEnv({ DATABASE_PATH: databasePath, ...env }) })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })))
}

t.test('a backup taken while the server is writing is consistent and restores', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-backup-'))
  const databasePath = join(dir, 'live.db')
  const env = cleanEnv({ HOST: '127.0.0.1', PORT: String(await freePort()), DATABASE_PATH: databasePath, ADMIN_TOKEN: token, SEED_DEMO: 'false', LOG_LEVEL: 'warn', MAX_EVENT_LOOP_DELAY: '0' })
  const server = await startServer(env)
  t.teardown(() => { server.child.kill('SIGKILL') })

  const load = writeLoad(server.base, token, { writers: 6, comments: false, tag: 'backup' })
  while (load.acked.length < 30) await new Promise((resolve) => setTimeout(resolve, 50))
  const before = load.acked.slice()
  const file = join(dir, 'backups', 'copy.db')
  const taken = await backup([file], databasePath)
  const during = load.acked.length - before.length
  load.stop()
  await load.done
  t.equal(taken.code, 0, taken.out)
  t.match(taken.out, /Backed up .* \d+ pages of \d+ bytes \(\d+ bytes\) in \d+ ms; integrity_check ok/)
  t.ok(during > 0, `writes went on during the backup (${during} acknowledged meanwhile)`)
  t.same(load.failures, [], 'no write failed during the backup')

  const copy = new Database(file, { readonly: true, fileMustExist: true })
  t.equal(copy.pragma('integrity_check', { simple: true }), 'ok')
  const present = before.filter((a) => copy.prepare('SELECT 1 FROM articles WHERE id = ? AND slug = ?').get(a.id, a.slug) !== undefined)
  t.equal(present.length, before.length, `all ${before.length} writes acknowledged before the backup are in it`)
  copy.close()

  // No overwrite unless asked.
  writeFileSync(join(dir, 'keep.db'), 'precious')
  const refused = await backup([join(dir, 'keep.db')], databasePath)
  t.equal(refused.code, 1)
  t.match(refused.out, /exists; pass --force/)
  t.equal(readFileSync(join(dir, 'keep.db'), 'utf8'), 'precious', 'the existing file is untouched')
  const forced = await backup([join(dir, 'keep.db'), '--force'], databasePath)
  t.equal(forced.code, 0, forced.out)
  t.same(readdirSync(dir).filter((f) => f.includes('.partial-')), [], 'no partial file left')
  t.equal((await backup([join(dir, 'x.db')], join(dir, 'nothing.db'))).code, 1, 'no database, no backup')
  t.equal((await backup([], databasePath)).code, 2, 'a file is required')

  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)

  // Restore as the README says: server stopped, copy the file to DATABASE_PATH, no stale -wal/-shm.
  const restoredPath = join(dir, 'restored', 'gazette.db')
  const restoredEnv = { ...env, PORT: String(await freePort()), DATABASE_PATH: restoredPath }
  mkdirSync(join(dir, 'restored'))
  copyFileSync(file, restoredPath)
  const restored = await startServer(restoredEnv)
  t.teardown(() => { restored.child.kill('SIGKILL') })
  const listed = await fetch(`${restored.base}/v1/articles?include=total&limit=1`, { headers: { authorization: `Bearer ${token}` } })
  const total = (await listed.json() as { page: { total: number } }).page.total
  t.ok(total >= before.length, `the restored server lists ${total} articles`)
  const sample = before[before.length - 1]!
  t.equal((await fetch(`${restored.base}/v1/articles/${sample.slug}`)).status, 200, 'the last write acknowledged before the backup is served')
  restored.child.kill('SIGTERM')
  t.equal(await restored.exited, 0)
})

t.test('on PostgreSQL it copies nothing and names the tools that do, without printing the URL', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-backup-'))
  const file = join(dir, 'copy.db')
  const res = await backup([file], join(dir, 'none.db'), { DATABASE_URL: 'postgres://gazette:s3cr3t-password@db.example:5432/gazette' })
  t.equal(res.code, 1)
  t.match(res.out, /DATABASE_URL is set.*PostgreSQL/)
  t.match(res.out, /pg_dump --format=custom/)
  t.notOk(res.out.includes('s3cr3t-password'), 'the password is not printed')
  t.notOk(res.out.includes('db.example'), 'nor the host')
  t.same(readdirSync(dir), [], 'no file written')
})
