// The SQLite file read through a memory mapping, and the page cache sized behind it
// (src/db/connection.ts: fitPageCache). What is read mapped must be what other connections committed,
// through the WAL and after their checkpoints, however the file grew.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { fitPageCache, MAPPED_PAGE_CACHE_MB, openDatabase } from '../../src/db/connection.js'

function file (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-page-cache-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return join(dir, 'gazette.db')
}

/** The page cache a connection has, in MB (SQLite keeps it as negative KiB). */
const cacheMb = (sqlite: Database.Database): number => -Number(sqlite.pragma('cache_size', { simple: true })) / 1024

t.test('a file mapped whole keeps a small page cache; one bigger than its mapping, or not mapped, the configured one', async (t) => {
  const path = file(t)
  const mapped = openDatabase(path, { cacheMb: 64, mmapMb: 2048 })
  t.teardown(() => mapped.$client.close())
  t.equal(cacheMb(mapped.$client), MAPPED_PAGE_CACHE_MB, 'mapped whole: the small cache')
  t.equal(fitPageCache(mapped.$client, 2), 2, 'never more than SQLITE_CACHE_MB')

  const unmapped = openDatabase(path, { cacheMb: 64, mmapMb: 0 })
  t.teardown(() => unmapped.$client.close())
  t.equal(cacheMb(unmapped.$client), 64, 'no mapping: SQLITE_CACHE_MB')

  // A mapping of 1 MB, and a file that grows past it: the next fit gives the big cache back.
  const small = openDatabase(path, { cacheMb: 64, mmapMb: 1 })
  t.teardown(() => small.$client.close())
  const before = Number(small.$client.pragma('page_count', { simple: true })) * 4096
  t.ok(before <= 1024 * 1024, `the migrated file (${before} bytes) fits in 1 MB`)
  t.equal(cacheMb(small.$client), MAPPED_PAGE_CACHE_MB, 'so it is mapped whole')
  small.$client.exec('CREATE TABLE filler (b BLOB NOT NULL)')
  const fill = small.$client.prepare('INSERT INTO filler (b) VALUES (zeroblob(65536))')
  for (let i = 0; i < 32; i++) fill.run()
  t.equal(fitPageCache(small.$client, 64), 64, 'grown to 2 MB, past its mapping: SQLITE_CACHE_MB')
  t.equal(cacheMb(small.$client), 64)
})

t.test('a mapped connection reads what another connection commits, through the WAL and after checkpoints that grew the file', async (t) => {
  const path = file(t)
  const reader = openDatabase(path, { mmapMb: 2048 })
  t.teardown(() => reader.$client.close())
  reader.$client.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)')
  const writer = new Database(path)
  t.teardown(() => writer.close())
  writer.pragma('journal_mode = WAL')
  const count = reader.$client.prepare<[], number>('SELECT count(*) FROM notes').pluck()
  const last = reader.$client.prepare<[], string>('SELECT text FROM notes ORDER BY id DESC LIMIT 1').pluck()
  const insert = writer.prepare<[string]>('INSERT INTO notes (text) VALUES (?)')
  const many = writer.transaction((from: number) => { for (let i = from; i < from + 500; i++) insert.run(`${i} ${'x'.repeat(2000)}`) })
  let written = 0
  for (let round = 0; round < 6; round++) {
    many(written)
    written += 500
    t.equal(count.get(), written, `round ${round}: every row, read while it is in the WAL`)
    // Into the file, which grows by about 1 MB a round, beyond what the reader mapped before.
    writer.pragma(round % 2 === 0 ? 'wal_checkpoint(TRUNCATE)' : 'wal_checkpoint(PASSIVE)')
    t.equal(count.get(), written, `round ${round}: every row, read from the file after a checkpoint`)
    t.equal(last.get(), `${written - 1} ${'x'.repeat(2000)}`, `round ${round}: the last row's bytes`)
  }
  // And rows deleted by the other connection are gone for the mapped one too.
  writer.exec('DELETE FROM notes WHERE id % 2 = 0')
  writer.pragma('wal_checkpoint(TRUNCATE)')
  t.equal(count.get(), written / 2, 'deletes seen')
  t.equal(reader.$client.pragma('integrity_check', { simple: true }), 'ok')
})
