// When did the database last change? Two counters SQLite keeps for free, for the public cache
// (src/plugins/public-cache.ts), which must drop its answers as soon as anything changed:
// - localChanges(): total_changes() of this connection, every row this process wrote (read before every
//   cache lookup: it costs a tenth of a microsecond and misses no code path);
// - dataVersion(): PRAGMA data_version, which moves when another connection (a second server on the same
//   file, a script) committed; reading it takes a lock, so callers poll it.
// The seam for PostgreSQL (issue 16), where the same question needs another answer.
import type { Db } from './connection.js'

export interface ChangeClock {
  localChanges: () => number
  dataVersion: () => number
}

export function changeClock (db: Db): ChangeClock {
  const totalChanges = db.$client.prepare('SELECT total_changes()').pluck()
  const dataVersion = db.$client.prepare('PRAGMA data_version').pluck()
  return {
    localChanges: () => totalChanges.get() as number,
    dataVersion: () => dataVersion.get() as number
  }
}
