// The outbox: repositories record events here from inside the transaction of the change itself, so a
// crash can neither lose an event nor leave one for a change that rolled back. Synchronous on purpose
// (better-sqlite3 transactions take synchronous callbacks); its statements are prepared once, as posting
// a comment records one or two events.
import type { Db } from '../db/connection.js'
import { randomString } from '../lib/random.js'
import type { EventData, EventType } from './schemas.js'

/**
 * A new event id: the time in milliseconds (48 bits), then 48 random bits, as 24 hex digits after `evt_`
 * (EVENT_ID_PATTERN holds it, and the ids made before, 96 random bits in base64url). Ids made later sort
 * after, so each new event's entry in events_id_unique goes where the last one went (the index's end on a
 * new database; on an older one, among the random ids with the same first digits), as its row goes on the
 * table's last page, rather than on a random page that the commit must then write too: an event insert cost 67
 * against 58 µs on the bench's database, 83 against 58 with 500,000 events (bench/README.md, "Session 34").
 * The time is the machine's clock, not the app's: it only places the id. Receivers still learn nothing
 * from an id's form (the API calls it unique, not ordered; events are ordered by the log).
 */
export const newEventId = (): string => `evt_${Date.now().toString(16).padStart(12, '0')}${randomString(6, 'hex')}`

export interface Outbox {
  /** Appends an event; call it inside the write transaction it describes. */
  record: <T extends EventType>(type: T, data: EventData[T], at: number) => void
  /** Called (once per turn of the event loop at most) after events were recorded: the webhook dispatcher wakes up. */
  onRecorded: (listener: () => void) => void
  /**
   * Erasure, inside its transaction: rewrites the data of the logged events that show these comments
   * (comment.approved, comment.edited) with `redacted`, in place, so the log keeps its order and its ids (a
   * poller's `after` stays valid), and drops their webhook deliveries still waiting, which would only hand
   * out the redacted copy (finished ones stay in the delivery log: they hold no data). One index seek per
   * comment (events_comment_idx). Returns how many events.
   */
  redactComments: (ids: readonly number[], redacted: (comment: EventData['comment.approved']) => EventData['comment.approved']) => number
}

/** The events that show a comment: verbatim the expression and condition of events_comment_idx, so SQLite seeks in it. */
export const COMMENT_EVENTS_SQL =
  "SELECT seq, data FROM events WHERE type IN ('comment.approved', 'comment.edited') AND data ->> '$.id' = ? AND webhook_id IS NULL"

/** Tells its listeners that events were recorded: on the next turn of the event loop, once however many were. */
export function recordedSignal (): { listen: (listener: () => void) => void, recorded: () => void } {
  const listeners: (() => void)[] = []
  let scheduled = false
  const notify = (): void => {
    scheduled = false
    for (const listener of listeners) listener()
  }
  return {
    listen (listener) {
      listeners.push(listener)
    },
    recorded () {
      if (!scheduled && listeners.length > 0) {
        scheduled = true
        setImmediate(notify)
      }
    }
  }
}

export function outbox (db: Db): Outbox {
  const insert = db.$client.prepare<[string, string, number, string]>(
    'INSERT INTO events (id, type, occurred_at, data) VALUES (?, ?, ?, ?)')
  const showing = db.$client.prepare<[number], { seq: number, data: string }>(COMMENT_EVENTS_SQL)
  const rewrite = db.$client.prepare<[string, number]>('UPDATE events SET data = ? WHERE seq = ?')
  const dropWaiting = db.$client.prepare<[number]>("DELETE FROM webhook_deliveries WHERE event_seq = ? AND status = 'pending'")
  // Its listeners run after the current synchronous transaction has committed (or rolled back: then a
  // listener finds nothing new, which is harmless).
  const signal = recordedSignal()
  return {
    record (type, data, at) {
      insert.run(newEventId(), type, at, JSON.stringify(data))
      signal.recorded()
    },
    onRecorded: signal.listen,
    redactComments (ids, redacted) {
      let n = 0
      for (const id of ids) {
        for (const row of showing.all(id)) {
          rewrite.run(JSON.stringify(redacted(JSON.parse(row.data))), row.seq)
          dropWaiting.run(row.seq)
          n++
        }
      }
      return n
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
