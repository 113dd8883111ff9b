// Writes, by any process, on PostgreSQL: what PRAGMA data_version and the declared writes are to the SQLite
// response cache (src/plugins/public-cache.ts; the SQLite side is src/db/change-clock.ts). Every row written
// notifies `gazette_changes` (migrations/pg/0003_change_notify.sql); this process listens on one
// connection of its own and counts what arrives. `version()` is synchronous and costs nothing, so the cache
// may read it on every lookup instead of every 100 ms: a commit elsewhere is seen as soon as its
// notification arrives (a few milliseconds; test/pg/change-clock.test.ts measures it).
//
// A notification sent while the connection is down is lost, so a lost connection counts as a change
// (the cache empties: never stale, at worst a few needless misses), and so does each reconnection.
//
// A write that declared what it touched (declareKeys, below; migrations/pg/0008) notifies its dependency
// keys: that is no move of `version()`, only a call of the listeners with the keys, and the cache drops
// just the answers that read one of them, in every process, this one included (its own notifications
// reach it too; the cache awaits caughtUp() before a write's answer leaves, so a client that got it never
// reads what came before from memory).
import { sql, type SQL } from 'drizzle-orm'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { PgTx } from './connection.js'

export const CHANNEL = 'gazette_changes'

export interface ChangeClock {
  /**
   * Moves (only up) whenever a process (this one too) may have committed a write that declared nothing
   * since it was last read, and whenever notifications may have been missed (the connection lost).
   */
  version: () => number
  /** Whether the connection is up and listening: while it is not, every read of `version` may differ. */
  listening: () => boolean
  /**
   * Calls `listener` after each notification, on the turn of the event loop it arrives: a commit anywhere
   * (this process's included) that wrote a notifying table, with the dependency keys it declared, or null
   * when it declared none (then `version` has moved). The webhook dispatcher wakes on it.
   */
  onChange: (listener: (keys: readonly string[] | null) => void) => void
  /**
   * Resolves once every notification of a commit made before the call has arrived (and been counted).
   * PostgreSQL delivers notifications in commit order, so a marker this connection sends itself arrives
   * after them; the marker counts as no change, here or in any other process. Callers waiting together
   * share one marker (each waits for at most two). For tests that assert a response-cache hit right after
   * a write, which on PostgreSQL depends on when that write's own notification arrives (it empties the
   * cache once more).
   */
  caughtUp: () => Promise<void>
  close: () => Promise<void>
}

/**
 * The payload of a caughtUp marker, then the listener's own random id and a counter (every process hears
 * every marker: a process id alone is the same in containers that each run one process); the triggers'
 * notifications carry an empty payload, or declared keys.
 */
const MARKER = 'gazette:caught-up:'
/** How long a marker may take to come back before its callers are refused (the response cache waits 1 s). */
const MARKER_WAIT_MS = 2000
/** What a declared write's notifications begin with (migrations/pg/0008), then its keys, space-separated. */
const DECLARED = 'k:'
/** A notification's payload must stay under 8,000 bytes: a longer declaration declares nothing (everything goes). */
const MAX_DECLARED = 7000

/**
 * Declares, inside a write transaction, the dependency keys (src/db/change-clock.ts, dependencyKeys) of
 * what the rows it writes from here on touch: they are notified in place of an empty payload, so each
 * process's response cache drops only the answers that read them. Rows written before the call notify
 * nothing declared, and everything goes for them. Call again
 * to declare more (an insert's new id): each row notifies the keys declared when it was written. Declare
 * too much rather than too little, as on SQLite (declareWrite): a key too few serves a stale answer.
 */
export async function declareKeys (tx: PgTx, keys: readonly string[]): Promise<void> {
  await tx.execute(sql`SELECT ${declaration(keys)}`)
}

/** declareKeys as an expression, for a write that declares in a statement it runs anyway (lockEventOrderWith). */
export function declaration (keys: readonly string[]): SQL {
  const payload = DECLARED + [...new Set(keys)].join(' ')
  return sql`set_config('gazette.keys', ${payload.length > MAX_DECLARED ? '' : payload}, true)`
}

export interface ChangeClockOptions {
  /** First wait before reconnecting, in ms; doubled on each failure up to 5 s. */
  retryMs?: number
  onError?: (err: Error) => void
}

/** Starts listening on `url`; resolves once the first LISTEN is in place. */
export async function listenForChanges (url: string, opts: ChangeClockOptions = {}): Promise<ChangeClock> {
  const firstRetry = opts.retryMs ?? 100
  let version = 0
  let client: pg.Client | undefined
  let closed = false
  let retry = firstRetry
  let timer: NodeJS.Timeout | undefined
  const listeners: ((keys: readonly string[] | null) => void)[] = []
  const waiting = new Map<string, () => void>()
  const self = randomUUID()
  let markers = 0

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, application_name: 'gazette-changes' })
    next.on('notification', (message) => {
      if (message.payload?.startsWith(MARKER) === true) {
        waiting.get(message.payload)?.()
        waiting.delete(message.payload)
        return
      }
      let keys: string[] | null = null
      if (message.payload?.startsWith(DECLARED) === true) keys = message.payload.slice(DECLARED.length).split(' ').filter((key) => key !== '')
      else version++
      for (const listener of listeners) listener(keys)
    })
    next.on('error', (err) => {
      opts.onError?.(err)
      lost(next)
    })
    next.on('end', () => lost(next))
    await next.connect()
    await next.query(`LISTEN ${CHANNEL}`)
    if (closed) {
      await next.end()
      return
    }
    client = next
    retry = firstRetry
  }

  // The marker on its way (caughtUp), and the one callers share until it arrives.
  let sending: Promise<void> | undefined
  let next: Promise<void> | undefined
  const send = async (): Promise<void> => {
    next = undefined
    const on = client
    if (on === undefined) return
    const marker = `${MARKER}${self}:${++markers}`
    // A marker that never comes back (a half-open connection) must not hold up the callers after it: they
    // are refused after a while, which the response cache answers by emptying itself.
    const arrived = new Promise<void>((resolve, reject) => {
      const late = setTimeout(() => {
        waiting.delete(marker)
        reject(new Error(`the caught-up marker did not come back within ${MARKER_WAIT_MS} ms`))
      }, MARKER_WAIT_MS)
      late.unref()
      waiting.set(marker, () => { clearTimeout(late); resolve() })
    })
    const sent = on.query('SELECT pg_notify($1, $2)', [CHANNEL, marker]).then(async () => { await arrived })
    sending = sent
    try {
      await sent
    } finally {
      if (sending === sent) sending = undefined
    }
  }

  const lost = (which: pg.Client): void => {
    if (client !== which) return
    client = undefined
    version++
    // A marker sent on the lost connection never arrives; the version just moved, which is all it waited for.
    for (const done of waiting.values()) done()
    waiting.clear()
    if (!closed) schedule()
  }

  const schedule = (): void => {
    timer = setTimeout(() => {
      connect().then(() => { version++ }, (err: Error) => {
        opts.onError?.(err)
        retry = Math.min(retry * 2, 5000)
        if (!closed) schedule()
      })
    }, retry)
    timer.unref()
  }

  await connect()
  return {
    // While disconnected every read is a new version: nothing cached then can outlive a missed write.
    version: () => client === undefined ? ++version : version,
    listening: () => client !== undefined,
    onChange: (listener) => { listeners.push(listener) },
    async caughtUp () {
      if (client === undefined) return // disconnected: every read of version is new anyway
      // A marker sent after this call covers every commit made before it, so callers share one: with none
      // on its way, this call sends it; with one on its way (it may have been sent before this caller's
      // commit, so it cannot answer for it), the next marker, sent as soon as that one is done (back,
      // refused or lost), is shared by every caller until then. Under load, one marker for many writes
      // instead of one each.
      if (sending === undefined) return await send()
      next ??= sending.then(send, send)
      return await next
    },
    async close () {
      closed = true
      clearTimeout(timer)
      const last = client
      client = undefined
      for (const done of waiting.values()) done()
      waiting.clear()
      await last?.end()
    }
  }
}
