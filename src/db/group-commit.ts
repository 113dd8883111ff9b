// Group commit on SQLite: the writes of one kind asked for in one turn of the event loop share a
// transaction, each in a savepoint of its own.
//
// A comment's COMMIT was the largest part of its cost (bench/README.md, "Group commit"): SQLite appends
// every page the transaction changed to the WAL, about 15 for a comment (the row and its indexes, the
// events, the article's count), and pages that several comments change (the tables' and indexes' last
// pages, the article's row when they are on one article) are appended once per commit, not once per
// comment. Under load several requests are read in one turn of the event loop; their writes wait for the
// end of it (setImmediate) and then commit together. A lone request waits for that turn only.
//
// Nothing changes for a caller. Each write runs in its own savepoint and sees the writes before it in the
// batch, as it would have seen them committed: its checks and its write are still one atomic step, and when
// it throws, only its own changes are rolled back and only its own promise is rejected. The promises are
// settled after the COMMIT, so a response is still sent only for what is in the WAL. Should the BEGIN or
// the COMMIT fail, or an error roll back the whole transaction, every write of the batch is rejected.
import type { Db } from './connection.js'
import { declareWrite } from './change-clock.js'

type Outcome<R> = { ok: true, value: R } | { ok: false, error: unknown }

interface Waiting<I, R> {
  item: I
  resolve: (value: R) => void
  reject: (error: unknown) => void
}

/**
 * `write` as an async function whose calls in one turn of the event loop commit in one transaction (BEGIN
 * IMMEDIATE). `keysOf` gives the dependency keys each write touches (declareWrite), declared for the batch.
 */
export function groupCommit<I, R> (db: Pick<Db, '$client'>, keysOf: (item: I) => readonly string[], write: (item: I) => R): (item: I) => Promise<R> {
  // A better-sqlite3 transaction called inside another is a savepoint.
  const one = db.$client.transaction(write)
  const all = db.$client.transaction((batch: Waiting<I, R>[]): Outcome<R>[] => batch.map((w) => {
    try {
      return { ok: true, value: one(w.item) }
    } catch (error) {
      // Some errors (SQLITE_FULL, an I/O error) may roll back the whole transaction, not only the savepoint:
      // the writes before this one are then gone too, and a later one would run outside any transaction and
      // commit alone. So the batch ends here, and every write in it is rejected.
      if (!db.$client.inTransaction) throw error
      return { ok: false, error }
    }
  }))
  let queue: Waiting<I, R>[] = []

  function commit (): void {
    const batch = queue
    queue = []
    let outcomes: Outcome<R>[]
    try {
      outcomes = declareWrite(db, [...new Set(batch.flatMap((w) => keysOf(w.item)))], () => all.immediate(batch))
    } catch (error) {
      for (const w of batch) w.reject(error)
      return
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i]!
      if (outcome.ok) w.resolve(outcome.value)
      else w.reject(outcome.error)
    })
  }

  return (item) => new Promise<R>((resolve, reject) => {
    if (queue.length === 0) setImmediate(commit)
    queue.push({ item, resolve, reject })
  })
}
