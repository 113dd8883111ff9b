// Group commit (src/db/group-commit.ts): the writes asked for in one turn of the event loop share a
// transaction, each in its own savepoint. A second connection to the file shows what is committed when.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { changeClock } from '../../src/db/change-clock.js'
import { openDatabase, type Db } from '../../src/db/connection.js'
import { groupCommit } from '../../src/db/group-commit.js'
import { StaleRead } from '../../src/http/errors.js'

function databases (t: Test): { db: Db, other: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-group-commit-'))
  const db = openDatabase(join(dir, 'gazette.db'))
  db.$client.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)')
  const other = new Database(join(dir, 'gazette.db'), { readonly: true })
  t.teardown(() => {
    other.close()
    db.$client.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return { db, other }
}

interface Note { text: string, fail?: 'stale' | 'after-insert' }

/** A write that records what the other connection saw (committed notes) before it inserted its note. */
function noteWriter (db: Db, other: Database.Database) {
  const committed = other.prepare<[], number>('SELECT count(*) FROM notes').pluck()
  const insert = db.$client.prepare<[string]>('INSERT INTO notes (text) VALUES (?)')
  const seen: number[] = []
  const write = groupCommit(db, (note: Note) => [`note:${note.text}`], (note: Note): number => {
    if (note.fail === 'stale') throw new StaleRead()
    seen.push(committed.get()!)
    const id = Number(insert.run(note.text).lastInsertRowid)
    if (note.fail === 'after-insert') throw new Error('refused after its insert')
    return id
  })
  return { write, seen, committed }
}

t.test('the writes of one turn commit together, in the order asked', async (t) => {
  const { db, other } = databases(t)
  const { write, seen, committed } = noteWriter(db, other)
  const ids = await Promise.all(['a', 'b', 'c', 'd'].map((text) => write({ text })))
  t.same(seen, [0, 0, 0, 0], 'none of the four was committed while the others were written')
  t.same(ids, [1, 2, 3, 4])
  t.equal(committed.get(), 4, 'all four are committed when their promises settle')

  // One at a time (each awaited): each its own commit.
  seen.length = 0
  for (const text of ['e', 'f']) await write({ text })
  t.same(seen, [4, 5], 'a write of a later turn sees the earlier ones committed')
})

t.test('a write that throws is rolled back alone; the others of its batch commit', async (t) => {
  const { db, other } = databases(t)
  const { write, committed } = noteWriter(db, other)
  const results = await Promise.allSettled([
    write({ text: 'first' }),
    write({ text: 'refused', fail: 'after-insert' }),
    write({ text: 'stale', fail: 'stale' }),
    write({ text: 'first' }), // the UNIQUE constraint: SQLite refuses it
    write({ text: 'last' })
  ])
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled'])
  t.match((results[1] as PromiseRejectedResult).reason, { message: 'refused after its insert' })
  t.type((results[2] as PromiseRejectedResult).reason, StaleRead, 'its own error, for the caller to check again')
  t.match((results[3] as PromiseRejectedResult).reason, { code: 'SQLITE_CONSTRAINT_UNIQUE' })
  t.equal(committed.get(), 2)
  t.same(other.prepare('SELECT text FROM notes ORDER BY id').pluck().all(), ['first', 'last'], 'the refused note\'s insert was rolled back')
})

t.test('a batch declares the keys of its writes, once, for the response cache', async (t) => {
  const { db, other } = databases(t)
  const clock = changeClock(db)
  clock.declared()
  const { write } = noteWriter(db, other)
  await Promise.all([write({ text: 'a' }), write({ text: 'b' }), write({ text: 'a' }).catch(() => undefined)])
  const declared = clock.declared()!
  t.equal(declared.length, 1, 'one declared write: the batch')
  t.same([...declared[0]!.keys].sort(), ['note:a', 'note:b'])
  t.equal(declared[0]!.after - declared[0]!.before, 2, 'it covers the two rows written')
})

t.test('a batch that cannot begin (or commit) rejects every write in it', async (t) => {
  const { db, other } = databases(t)
  const { write, committed } = noteWriter(db, other)
  // Another connection holds the write lock past the busy timeout: BEGIN IMMEDIATE cannot start.
  db.$client.pragma('busy_timeout = 50')
  const writer = new Database(db.$client.name)
  t.teardown(() => writer.close())
  writer.exec('BEGIN IMMEDIATE')
  const results = await Promise.allSettled([write({ text: 'x' }), write({ text: 'y' })])
  writer.exec('ROLLBACK')
  t.same(results.map((r) => r.status), ['rejected', 'rejected'])
  t.match((results[0] as PromiseRejectedResult).reason, { code: 'SQLITE_BUSY' })
  t.equal(committed.get(), 0)
  t.equal(await write({ text: 'z' }), 1, 'the next turn commits again')
})

t.test('what a batch acknowledges is committed, and what it rejects is not, when SQLite runs out of room', async (t) => {
  const { db, other } = databases(t)
  const { write } = noteWriter(db, other)
  await write({ text: 'before' })
  // Room for a few more pages: the big note's overflow pages do not fit (SQLITE_FULL), which may roll back
  // the whole transaction rather than only its savepoint.
  const pages = db.$client.pragma('page_count', { simple: true }) as number
  db.$client.pragma(`max_page_count = ${pages + 2}`)
  const texts = ['a', 'x'.repeat(64 * 1024), 'b']
  const results = await Promise.allSettled(texts.map((text) => write({ text })))
  t.equal(results[1]!.status, 'rejected')
  t.match((results[1] as PromiseRejectedResult).reason, { code: 'SQLITE_FULL' })
  const stored = new Set(other.prepare<[], string>('SELECT text FROM notes').pluck().all())
  results.forEach((r, i) => {
    t.equal(stored.has(texts[i]!), r.status === 'fulfilled', `note ${i}: stored exactly when acknowledged`)
  })
  db.$client.pragma('max_page_count = 1073741823')
  t.ok(await write({ text: 'after' }), 'the next batch commits')
})

t.test('a COMMIT that fails rejects every write of its batch, and none is stored', async (t) => {
  const { db, other } = databases(t)
  // A foreign key checked at COMMIT: a note naming a missing one fails the batch's COMMIT, not its insert.
  db.$client.pragma('foreign_keys = ON')
  db.$client.exec('CREATE TABLE links (id INTEGER PRIMARY KEY, note_id INTEGER REFERENCES notes (id) DEFERRABLE INITIALLY DEFERRED)')
  const committed = other.prepare<[], number>('SELECT count(*) FROM links').pluck()
  const insert = db.$client.prepare<[number]>('INSERT INTO links (note_id) VALUES (?)')
  const link = groupCommit(db, () => [], (noteId: number) => Number(insert.run(noteId).lastInsertRowid))
  const results = await Promise.allSettled([link(404), link(405)])
  t.same(results.map((r) => r.status), ['rejected', 'rejected'])
  t.match((results[0] as PromiseRejectedResult).reason, { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' })
  t.equal(committed.get(), 0)
  t.notOk(db.$client.inTransaction, 'the failed transaction was rolled back')
})
