// npm run backup -- <file> [--force]
// A consistent copy of the live database (DATABASE_PATH), taken with SQLite's online backup API while
// the server keeps serving: in WAL mode the copy reads one snapshot and writers are never blocked.
// The copy is written beside the target and renamed into place only once it passes integrity_check.
// With DATABASE_URL (PostgreSQL) it copies nothing and says what to use instead (pg_dump, snapshots).
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import { loadConfig } from '../config.js'

const usage = 'usage: npm run backup -- <file> [--force]   (copies DATABASE_PATH; --force overwrites <file>)'

export async function main (argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let values, positionals
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { force: { type: 'boolean' }, help: { type: 'boolean' } } }))
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`)
    return 2
  }
  if (values.help) {
    console.log(usage)
    return 0
  }
  const target = positionals[0]
  if (positionals.length !== 1 || target === undefined || target === '') {
    console.error(`give exactly one backup file\n${usage}`)
    return 2
  }
  // On PostgreSQL the data is not in a file this command can copy: say what does it instead of failing on
  // the configuration (the URL is not printed: it holds the password).
  if ((env.DATABASE_URL ?? '') !== '') {
    console.error('backup: DATABASE_URL is set, so Gazette\'s data is in PostgreSQL, which this command (a copy of the SQLite file) does not back up.\n' +
      'Use PostgreSQL\'s own tools: `pg_dump --format=custom --file=gazette.dump "$DATABASE_URL"` takes a consistent snapshot while the servers run\n' +
      '(restore with pg_restore into an empty database), or use your managed database\'s snapshots and point-in-time recovery. README "Scale-out" has more.')
    return 1
  }
  const source = loadConfig(env).databasePath
  if (source === ':memory:' || !existsSync(source)) {
    console.error(`backup: no database at ${source} (set DATABASE_PATH)`)
    return 1
  }
  if (existsSync(target) && values.force !== true) {
    console.error(`backup: ${target} exists; pass --force to overwrite it`)
    return 1
  }

  mkdirSync(dirname(resolve(target)), { recursive: true })
  const partial = `${target}.partial-${process.pid}`
  const started = Date.now()
  const db = new Database(source, { fileMustExist: true })
  try {
    db.pragma('busy_timeout = 5000')
    // All pages in one step: one read transaction, so one snapshot, and no restart when a write lands.
    const { totalPages } = await db.backup(partial, { progress: () => 0x7fffffff })
    const copy = new Database(partial, { fileMustExist: true })
    const integrity = String(copy.pragma('integrity_check', { simple: true }))
    const pageSize = Number(copy.pragma('page_size', { simple: true }))
    copy.close()
    if (integrity !== 'ok') {
      console.error(`backup: the copy failed integrity_check (${integrity}); nothing was written to ${target}`)
      rmSync(partial, { force: true })
      return 1
    }
    renameSync(partial, target)
    const bytes = statSync(target).size
    console.log(`Backed up ${source} to ${target}: ${totalPages} pages of ${pageSize} bytes (${bytes} bytes) in ${Date.now() - started} ms; integrity_check ok.`)
    return 0
  } catch (err) {
    rmSync(partial, { force: true })
    console.error(`backup: ${(err as Error).message}`)
    return 1
  } finally {
    db.close()
  }
}

process.exitCode = await main(process.argv.slice(2), process.env)
