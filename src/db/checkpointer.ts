// WAL checkpoints on a thread of their own.
//
// In WAL mode a commit appends its pages to the -wal file, and by default SQLite copies them back into the
// database (a checkpoint, with an fsync of each file) inside whichever commit takes the WAL past 1,000
// pages. For a comment, which writes about 15 pages, that was every 60th or so, paying on the event loop
// for the 60 before it: 100 µs a comment on average, measured with the statements alone, about 40% of its
// COMMIT (bench/README.md, "WAL checkpoints off the event loop"). SQLite's documentation suggests this
// instead: turn automatic checkpoints off and run them from another thread. So the server's connection
// never checkpoints (wal_autocheckpoint = 0), and a worker thread with a connection of its own runs a
// PASSIVE checkpoint every CHECKPOINT_MS. Once a checkpoint has copied the whole WAL, the next commit
// starts writing it from the beginning again, so the file stays as small as before.
//
// Should the thread fail, the server's connection checkpoints in its commits again, as SQLite does by
// default, and says so through `onError`. Another process on the same file (a second server, a script)
// checkpoints as it is configured; two checkpoints never run at once (SQLite takes a lock for it).
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'

/** How often the thread checkpoints: at 1,000 comments a second, the WAL holds at most ~1,500 pages (6 MB) between two. */
export const CHECKPOINT_MS = 100

/** How long close() waits for the thread to finish its checkpoint and close its connection. */
const CLOSE_TIMEOUT_MS = 10_000

/** SQLite's default wal_autocheckpoint, restored when the thread fails. */
const SQLITE_AUTOCHECKPOINT = 1000

export interface Checkpointer {
  /**
   * Stops the thread and closes its connection; the server's connection may then close as the last one.
   * wal_autocheckpoint stays 0: call it only to close the server's connection next.
   */
  close: () => Promise<void>
}

/**
 * The thread: its own connection to the file, a PASSIVE checkpoint every `intervalMs` until told to stop.
 * A PASSIVE checkpoint copies what it can of the WAL into the database without waiting for anyone: the
 * server's readers and its writer carry on. Any error ends the thread. Source text rather than a module of
 * its own, so that it runs the same from dist/, under tsx and under the tests' loader (a TypeScript module
 * would need the process's loader in the thread, which Node 20 does not reliably give it).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
// SqliteError does not survive the trip to the main thread (its message is lost): a plain Error does.
const plain = (err) => new Error(String(err && err.code ? err.code + ': ' + err.message : err))
let db, checkpoint
try {
  const Database = require(workerData.driver)
  db = new Database(workerData.path, { fileMustExist: true })
  // As the server's connection: a checkpoint syncs the WAL before copying and the database after. A wait
  // here holds no request up.
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
} catch (err) {
  throw plain(err)
}
const timer = setInterval(() => {
  try {
    checkpoint.run()
  } catch (err) {
    // The file busy for longer than the timeout (another process recovering it): the next turn tries again.
    if (err && /^SQLITE_(BUSY|LOCKED)/.test(err.code)) return
    clearInterval(timer)
    throw plain(err)
  }
}, workerData.intervalMs)
parentPort.on('message', (message) => {
  if (message !== 'stop') return
  clearInterval(timer)
  // Not the last connection (the server's is still open), so closing copies nothing: the server's close does.
  db.close()
  parentPort.close()
})
parentPort.postMessage('ready')
`

const driver = createRequire(import.meta.url).resolve('better-sqlite3')

/** Starts checkpointing `path`'s WAL on a thread; `sqlite` is the server's connection to it. */
export function startCheckpointer (sqlite: Database.Database, path: string, opts: { intervalMs?: number, onError: (err: Error) => void }): Checkpointer {
  // No flags of the process's (a loader, --input-type=module): the thread's source is plain CommonJS.
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { driver, path, intervalMs: opts.intervalMs ?? CHECKPOINT_MS } })
  let stopping = false
  worker.on('message', (message: unknown) => {
    if (message === 'ready' && !stopping && sqlite.open) sqlite.pragma('wal_autocheckpoint = 0')
  })
  const exited = new Promise<void>((resolve) => {
    worker.on('error', (err) => {
      if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT}`)
      opts.onError(err instanceof Error ? err : new Error(String(err)))
    })
    worker.on('exit', () => {
      if (!stopping && sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT}`)
      resolve()
    })
  })
  // Never what keeps a process alive: close() stops it, and an exiting process takes it along. After the
  // listeners: adding one refs the worker's port again.
  worker.unref()
  return {
    async close () {
      stopping = true
      // Held until it has closed its connection, so that the server's connection closes last.
      worker.ref()
      worker.postMessage('stop')
      // A checkpoint stuck on a failing disk must not hold the shutdown: then the thread is ended as it is.
      const stuck = setTimeout(() => { worker.terminate().catch(() => undefined) }, CLOSE_TIMEOUT_MS)
      await exited
      clearTimeout(stuck)
    }
  }
}
