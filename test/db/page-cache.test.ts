// The SQLite file read through a memory mapping, and the page cache sized behind it
// (src/db/connection.ts: fitPageCache). What is read mapped must be what other connections committed,
// through the WAL and after their checkpoints, however the file grew.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
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
  const sqlite = mapped.$client
  const bytes = Number(sqlite.pragma('page_count', { simple: true })) * Number(sqlite.pragma('page_size', { simple: true }))
  t.ok(bytes > 0, `the migrated file: ${bytes} bytes`)
  t.equal(cacheMb(sqlite), MAPPED_PAGE_CACHE_MB, 'opened, migrated and mapped whole: the small cache')
  t.equal(fitPageCache(sqlite, 2), 2, 'never more than SQLITE_CACHE_MB')

  // The mapping just big enough, and one page short of it.
  sqlite.pragma(`mmap_size = ${bytes}`)
  t.equal(fitPageCache(sqlite, 64), MAPPED_PAGE_CACHE_MB, 'a mapping of exactly the file: small')
  sqlite.pragma(`mmap_size = ${bytes - 4096}`)
  t.equal(fitPageCache(sqlite, 64), 64, 'a page short: SQLITE_CACHE_MB')
  t.equal(cacheMb(sqlite), 64)

  // The file grows past its mapping: the next fit gives the big cache back.
  sqlite.pragma(`mmap_size = ${bytes}`)
  t.equal(fitPageCache(sqlite, 64), MAPPED_PAGE_CACHE_MB)
  sqlite.exec('CREATE TABLE filler (b BLOB NOT NULL)')
  sqlite.prepare('INSERT INTO filler (b) VALUES (zeroblob(65536))').run()
  t.equal(fitPageCache(sqlite, 64), 64, 'grown past its mapping: SQLITE_CACHE_MB')

  const unmapped = openDatabase(path, { cacheMb: 64, mmapMb: 0 })
  t.teardown(() => unmapped.$client.close())
  t.equal(cacheMb(unmapped.$client), 64, 'no mapping: SQLITE_CACHE_MB')
  const memory = openDatabase(':memory:', { cacheMb: 64 })
  t.teardown(() => memory.$client.close())
  t.equal(cacheMb(memory.$client), 64, 'in memory (nothing to map): SQLITE_CACHE_MB')
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
  const checkpoint = (mode: string) => {
    const [row] = writer.pragma(`wal_checkpoint(${mode})`) as Array<{ busy: number, log: number, checkpointed: number }>
    return { busy: row!.busy, complete: row!.log === row!.checkpointed }
  }
  const size = (sqlite: Database.Database): number => Number(sqlite.pragma('page_count', { simple: true })) * 4096
  const many = writer.transaction((from: number) => { for (let i = from; i < from + 500; i++) insert.run(`${i} ${'x'.repeat(2000)}`) })
  let written = 0
  for (let round = 0; round < 6; round++) {
    many(written)
    written += 500
    t.equal(count.get(), written, `round ${round}: every row, read while it is in the WAL`)
    // Into the file, which grows by about 1 MB a round, beyond what the reader mapped before.
    t.same(checkpoint(round % 2 === 0 ? 'TRUNCATE' : 'PASSIVE'), { busy: 0, complete: true }, `round ${round}: the WAL is in the file`)
    t.equal(count.get(), written, `round ${round}: every row, read from the file after a checkpoint`)
    t.equal(last.get(), `${written - 1} ${'x'.repeat(2000)}`, `round ${round}: the last row's bytes`)
  }
  // Rows deleted by the other connection, and the file shrunk under the mapping by its VACUUM: the mapped
  // connection reads the smaller file (SQLite maps again when another connection changed the file) and
  // never a page past its end, which would be a SIGBUS.
  const mappedBefore = size(reader.$client)
  writer.exec('DELETE FROM notes WHERE id % 2 = 0')
  writer.exec('VACUUM')
  t.same(checkpoint('TRUNCATE'), { busy: 0, complete: true })
  t.ok(statSync(path).size < mappedBefore / 2 + 1024 * 1024, `the file shrank (${mappedBefore} → ${statSync(path).size} bytes)`)
  t.equal(count.get(), written / 2, 'deletes seen')
  t.equal(last.get(), `${written - 2} ${'x'.repeat(2000)}`, 'the last row left (the last id was even), read from the shrunk file')
  t.equal(reader.$client.pragma('integrity_check', { simple: true }), 'ok')
})
