// WAL checkpoints run on a thread of their own (src/db/checkpointer.ts), not inside the server's commits.
// What is checkpointed is what the database file holds without its WAL: a copy of the file alone shows it.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { startCheckpointer } from '../../src/db/checkpointer.js'
import { openDatabase } from '../../src/db/connection.js'
import { build, createArticle, onSqlite, postComment } from '../helper.js'

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-checkpoint-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Rows of `table` in the database file alone, without its WAL: what checkpoints have copied into it. */
function checkpointedRows (path: string, table: string): number {
  const copy = `${path}.alone`
  copyFileSync(path, copy)
  const sqlite = new Database(copy, { readonly: true })
  try {
    return sqlite.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n
  } finally {
    sqlite.close()
    rmSync(copy)
  }
}

/** A copy taken while a checkpoint writes the file may be torn: that is "not yet", and the next look decides. */
function attempt (done: () => boolean): boolean {
  try {
    return done()
  } catch (err) {
    if (err instanceof Error && /malformed|not a database/.test(err.message)) return false
    throw err
  }
}

async function until (what: string, done: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!attempt(done)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(10)
  }
}

const autocheckpoint = (sqlite: Database.Database): number => sqlite.pragma('wal_autocheckpoint', { simple: true }) as number

/** Fills `table` with `rows` rows of ~1 KB, one transaction each: about a page of WAL a row, and more for the index. */
function writeRows (sqlite: Database.Database, rows: number): void {
  sqlite.exec('CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, data TEXT NOT NULL)')
  const insert = sqlite.prepare('INSERT INTO filler (data) VALUES (?)')
  for (let i = 0; i < rows; i++) insert.run('x'.repeat(1000) + String(i))
}

t.test('the server\'s commits stop checkpointing once the thread runs; the thread checkpoints', async (t) => {
  const path = join(tempDir(t), 'gazette.db')
  const db = openDatabase(path)
  t.teardown(() => { if (db.$client.open) db.$client.close() })
  t.equal(autocheckpoint(db.$client), 1000, 'SQLite\'s default before')
  writeRows(db.$client, 1)
  db.$client.pragma('wal_checkpoint(TRUNCATE)')

  // A thread that has not checkpointed yet (its first turn is a minute away).
  const idle = startCheckpointer(db.$client, path, { intervalMs: 60_000, onError: (err) => t.fail(String(err)) })
  await until('the thread is ready', () => autocheckpoint(db.$client) === 0)
  // 3,000 commits of a page or more each: far past the 1,000 pages at which a commit would checkpoint.
  writeRows(db.$client, 3_000)
  t.equal(checkpointedRows(path, 'filler'), 1, 'no commit checkpointed: the 3,000 rows are in the WAL only')
  t.ok(statSync(`${path}-wal`).size > 3_000 * 4096, 'the WAL holds them')
  await idle.close()
  t.equal(autocheckpoint(db.$client), 0, 'a stopped thread leaves the setting as it was (the server is closing)')

  const busy = startCheckpointer(db.$client, path, { intervalMs: 20, onError: (err) => t.fail(String(err)) })
  await until('the thread checkpoints the rows', () => checkpointedRows(path, 'filler') === 3_001)
  // The WAL starts again from its beginning once checkpointed: more commits do not grow the file.
  const size = statSync(`${path}-wal`).size
  for (let i = 0; i < 10; i++) {
    writeRows(db.$client, 100)
    await sleep(40)
  }
  await until('the thread checkpoints the next rows', () => checkpointedRows(path, 'filler') === 4_001)
  t.equal(statSync(`${path}-wal`).size, size, 'the WAL file did not grow')
  await busy.close()
  db.$client.close()
  t.notOk(existsSync(`${path}-wal`), 'the server\'s connection closed last, and removed the WAL')
})

t.test('a thread that fails gives checkpoints back to the commits, and says so', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'gazette.db')
  const db = openDatabase(path)
  t.teardown(() => db.$client.close())
  db.$client.pragma('wal_autocheckpoint = 0')
  const errors: Error[] = []
  // A file that is not there: the thread's connection fails to open (it must exist).
  const failing = startCheckpointer(db.$client, join(dir, 'gone.db'), { intervalMs: 20, onError: (err) => errors.push(err) })
  await until('the thread fails', () => errors.length > 0)
  await failing.close()
  t.match(errors[0]!.message, /^SQLITE_CANTOPEN: /)
  t.equal(autocheckpoint(db.$client), 1000, 'SQLite\'s default again')
})

t.test('the app checkpoints on its thread, and closes with no WAL left', onSqlite, async (t) => {
  const path = join(tempDir(t), 'gazette.db')
  const a = await build(t, { databasePath: path, commentModeration: 'none', commentRateLimit: 1000 })
  const sqlite = a.app.db.$client
  await until('the thread is ready', () => autocheckpoint(sqlite) === 0)
  const article = await createArticle(a, { title: 'Checkpointed', body: 'Text.', status: 'published' })
  for (let i = 0; i < 20; i++) t.equal((await postComment(a, article.slug, { authorName: 'Reader', authorEmail: `r${i}@example.com`, body: `Comment ${i}` })).statusCode, 201)
  const comments = sqlite.prepare<[], { n: number }>('SELECT count(*) AS n FROM comments').get()!.n
  // Far fewer than 1,000 pages: only the thread checkpoints them (CHECKPOINT_MS = 100).
  await until('the thread checkpoints the comments', () => checkpointedRows(path, 'comments') === comments)
  await a.app.close()
  t.notOk(existsSync(`${path}-wal`), 'no WAL after close')
})

t.test('a checkpointer never keeps a process alive, closed or not', async (t) => {
  // An app whose start fails after the database opened is never closed: its process must still exit.
  const path = join(tempDir(t), 'gazette.db')
  const code = `
    import { openDatabase } from './src/db/connection.ts'
    import { startCheckpointer } from './src/db/checkpointer.ts'
    const db = openDatabase(${JSON.stringify(path)})
    startCheckpointer(db.$client, ${JSON.stringify(path)}, { intervalMs: 10, onError: (err) => { throw err } })
    setTimeout(() => console.log(db.$client.pragma('wal_autocheckpoint', { simple: true })), 300)`
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code],
    { cwd: resolve(import.meta.dirname, '../..'), encoding: 'utf8', timeout: 20_000 })
  t.equal(child.signal, null, 'it exited by itself')
  t.equal(child.status, 0, child.stderr)
  t.equal(child.stdout.trim(), '0', 'after the thread had started')
})
