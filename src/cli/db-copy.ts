// npm run db:copy -- --from ./data/gazette.db --to postgres://user:password@host/db [--sample N]
// Copies a live SQLite database into a new, empty PostgreSQL one and verifies it (src/db/copy.ts). The
// server may keep running on SQLite meanwhile: the copy reads an online snapshot. Writes made after the
// snapshot are not in the copy: stop the server (or stop writes) first for the final move.
import { parseArgs } from 'node:util'
import { existsSync } from 'node:fs'
import { CopyError, copySqliteToPostgres, removeSnapshotsNow } from '../db/copy.js'

const usage = 'usage: npm run db:copy -- --from <sqlite file> --to postgres://… [--sample N]   (N rows per big table compared, default 200)'

export async function main (argv: string[]): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({ args: argv, options: { from: { type: 'string' }, to: { type: 'string' }, sample: { type: 'string' }, help: { type: 'boolean' } } }))
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`)
    return 2
  }
  if (values.help === true) {
    console.log(usage)
    return 0
  }
  const { from, to } = values
  const sample = values.sample === undefined ? 200 : Number(values.sample)
  if (from === undefined || to === undefined || !Number.isInteger(sample) || sample < 0) {
    console.error(usage)
    return 2
  }
  if (!/^postgres(ql)?:\/\//.test(to)) {
    console.error(`db:copy: --to must be a postgres:// or postgresql:// URL\n${usage}`)
    return 2
  }
  if (!existsSync(from)) {
    console.error(`db:copy: no SQLite database at ${from}`)
    return 1
  }
  // Stopped (Ctrl-C, a process manager): the snapshot goes, PostgreSQL rolls the transaction back as the
  // connection closes, and the exit code says which signal (128 + its number, as a shell reports it).
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      removeSnapshotsNow()
      console.error(`db:copy: stopped by ${signal}; nothing was copied`)
      process.exit(code)
    })
  }
  try {
    const report = await copySqliteToPostgres(from, to, { sample, onProgress: (message) => console.log(message) })
    const total = Object.values(report.rows).reduce((a, b) => a + b, 0)
    console.log(`Copied ${total} rows in ${Object.keys(report.rows).length} tables in ${(report.ms / 1000).toFixed(1)} s; verified row counts, ${report.checked.derivedCounts} derived counts and ${report.checked.sampledRows} sampled rows.`)
    return 0
  } catch (err) {
    // The URL holds a password: an error is reported by its message only, never with the URL.
    const message = err instanceof CopyError ? err.message : `${(err as Error).message}`
    console.error(`db:copy: ${message.replaceAll(to, '<the --to URL>')}; nothing was copied`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
