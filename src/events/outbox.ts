// The outbox: repositories record events here from inside the transaction of the change itself, so a
// crash can neither lose an event nor leave one for a change that rolled back. Synchronous on purpose
// (better-sqlite3 transactions take synchronous callbacks); its statements are prepared once, as posting
// a comment records one or two events.
import { randomBytes } from 'node:crypto'
import type { Db } from '../db/connection.js'
import type { EventData, EventType } from './schemas.js'

/** A new event id: 96 random bits, URL- and header-safe. */
export const newEventId = (): string => `evt_${randomBytes(12).toString('base64url')}`

export interface Outbox {
  /** Appends an event; call it inside the write transaction it describes. */
  record: <T extends EventType>(type: T, data: EventData[T], at: number) => void
  /** Called (once per turn of the event loop at most) after events were recorded: the webhook dispatcher wakes up. */
  onRecorded: (listener: () => void) => void
  /**
   * Erasure, inside its transaction: rewrites the data of the logged events of `types` about the entities
   * `ids` (their `data.id`) with `redacted`, in place, so the log keeps its order and its ids (a poller's
   * `after` stays valid), and drops their webhook deliveries still waiting, which would only hand out the
   * redacted copy (finished ones stay in the delivery log: they hold no data). Returns how many events.
   */
  redact: <T extends EventType>(types: T[], ids: readonly number[], redacted: (data: EventData[T]) => EventData[T]) => number
}

export function outbox (db: Db): Outbox {
  const insert = db.$client.prepare<[string, string, number, string]>(
    'INSERT INTO events (id, type, occurred_at, data) VALUES (?, ?, ?, ?)')
  const about = db.$client.prepare<[string, string], { seq: number, data: string }>(
    `SELECT seq, data FROM events WHERE webhook_id IS NULL AND type IN (SELECT value FROM json_each(?))
     AND json_extract(data, '$.id') IN (SELECT value FROM json_each(?))`)
  const rewrite = db.$client.prepare<[string, number]>('UPDATE events SET data = ? WHERE seq = ?')
  const dropWaiting = db.$client.prepare<[number]>("DELETE FROM webhook_deliveries WHERE event_seq = ? AND status = 'pending'")
  const listeners: (() => void)[] = []
  let scheduled = false
  // Runs after the current synchronous transaction has committed (or rolled back: then a listener finds
  // nothing new, which is harmless).
  const notify = (): void => {
    scheduled = false
    for (const listener of listeners) listener()
  }
  return {
    record (type, data, at) {
      insert.run(newEventId(), type, at, JSON.stringify(data))
      if (!scheduled && listeners.length > 0) {
        scheduled = true
        setImmediate(notify)
      }
    },
    onRecorded (listener) {
      listeners.push(listener)
    },
    redact (types, ids, redacted) {
      if (ids.length === 0) return 0
      const rows = about.all(JSON.stringify(types), JSON.stringify(ids))
      for (const row of rows) {
        rewrite.run(JSON.stringify(redacted(JSON.parse(row.data))), row.seq)
        dropWaiting.run(row.seq)
      }
      return rows.length
    }
  }
}

/**
 * What a repository other than the articles' needs to record its events: the outbox, and the articles'
 * announcement of due publications, which every write runs first so that the log stays in order.
 */
export interface WriteEvents {
  outbox: Outbox
  announceDue: (at: number) => unknown
}
