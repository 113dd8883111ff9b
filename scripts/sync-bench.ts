// node --import tsx scripts/sync-bench.ts
// What synchronous=FULL would cost: single-row commits per second in WAL mode, NORMAL against FULL,
// on a temporary file on this machine's disk (the figure quoted in the README's Reliability section).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'

const commits = 3000
for (const mode of ['NORMAL', 'FULL', 'NORMAL', 'FULL']) {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-sync-'))
  const db = new Database(join(dir, 'bench.db'))
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${mode}`)
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const started = performance.now()
  for (let i = 0; i < commits; i++) insert.run('x'.repeat(500))
  console.log(`synchronous=${mode}: ${Math.round(commits / (performance.now() - started) * 1000)} commits/s`)
  db.close()
  rmSync(dir, { recursive: true })
}
