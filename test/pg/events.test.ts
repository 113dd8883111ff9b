// The event log on PostgreSQL (src/events/outbox.pg.ts, src/events/repository.pg.ts): the same story through
// each engine's outbox and event repository gives the same log (pages, type filters, ids, redaction,
// expiry); and with writers on two pools committing in any order, a poller reading "after seq N" sees
// every committed event exactly once, in order (commit order is seq order). `npm run race:pg` runs hundreds of rounds.
//
// Repository level, not HTTP: the writers of events (articles, comments, tags) have no PostgreSQL adapter
// yet, so GET /v1/events on a PostgreSQL app would read a log nobody writes. When they land, this story
// moves to HTTP (the repositories plugin then chooses these adapters).
import t, { type Test } from 'tap'
import { asc, TransactionRollbackError } from 'drizzle-orm'
import { setTimeout as sleep } from 'node:timers/promises'
import { openPgDatabase } from '../../src/db/pg/connection.js'
import * as pgSchema from '../../src/db/pg/schema.js'
import { outboxPg } from '../../src/events/outbox.pg.js'
import { eventRepositoryPg } from '../../src/events/repository.pg.js'
import type { EventRepository } from '../../src/events/repository.js'
import type { EventData, EventType } from '../../src/events/schemas.js'
import { build, sameOnBothEngines, type Engine } from '../helper.js'
import { testDatabase } from './cluster.js'

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 20)
const T0 = Date.parse('2026-07-08T09:00:00.000Z')

// The outbox stores what it is given; these are shaped like the real events where the story reads them.
const comment = (id: number, body: string) => ({ id, articleSlug: 'harbour', authorName: 'Ann', authorUrl: 'https://ann.example', avatarHash: 'abc', body, bodyHtml: `<p>${body}</p>`, status: 'approved', edited: false }) as unknown as EventData['comment.approved']
const tombstone = (c: EventData['comment.approved']): EventData['comment.approved'] =>
  ({ ...c, authorName: null, authorUrl: null, avatarHash: null, body: '', bodyHtml: '', status: 'deleted', edited: false })
const SCRIPT: Array<[EventType, unknown]> = [
  ['article.published', { id: 1, slug: 'harbour' }],
  ['comment.approved', comment(7, 'First!')],
  ['comment.edited', comment(7, 'First, edited')],
  ['comment.approved', comment(8, 'Second')],
  ['tag.updated', { id: 3, name: 'Ports' }],
  ['comment.removed', { id: 7, articleSlug: 'harbour' }]
]

interface Log {
  events: EventRepository
  record: (type: EventType, data: unknown, at: number) => Promise<void>
  redact: (ids: number[]) => Promise<number>
}

async function logOn (t: Test, engine: Engine): Promise<Log> {
  const a = await build(t, {}, { engine })
  if (a.pg === undefined) {
    return {
      events: a.app.events,
      record: async (type, data, at) => { a.app.db.$client.transaction(() => a.app.outbox.record(type, data as never, at)).immediate() },
      redact: async (ids) => a.app.db.$client.transaction(() => a.app.outbox.redactComments(ids, tombstone)).immediate()
    }
  }
  const db = a.pg.db
  const outbox = outboxPg()
  return {
    events: eventRepositoryPg(db),
    record: (type, data, at) => db.transaction((tx) => outbox.record(tx, type, data as never, at)),
    redact: (ids) => db.transaction((tx) => outbox.redactComments(tx, ids, tombstone))
  }
}

/** What each engine answered, seq and event ids replaced by their order: the two must be equal. */
async function logStory (t: Test, engine: Engine): Promise<unknown[]> {
  const log = await logOn(t, engine)
  const seen: unknown[] = []
  for (const [i, [type, data]] of SCRIPT.entries()) await log.record(type, data, T0 + i * 1000)

  const all = await log.events.list({ afterSeq: 0, limit: 100, types: [] })
  t.equal(all.length, SCRIPT.length)
  t.ok(all.every((e, i) => i === 0 || e.seq > all[i - 1]!.seq), 'in seq order')
  t.ok(all.every((e) => /^evt_[0-9a-f]{24}$/.test(e.id)), 'event ids')
  const order = new Map(all.map((e, i) => [e.seq, i]))
  const shown = (rows: typeof all) => rows.map((e) => ({ at: order.get(e.seq), type: e.type, occurredAt: e.occurredAt, data: JSON.parse(e.data) as unknown }))
  t.same(shown(all).map((e) => [e.type, e.data]), SCRIPT, 'what was recorded, as recorded')
  seen.push(shown(all))

  // Pages by cursor make the whole log; a type filter keeps the order.
  const paged: typeof all = []
  for (let after = 0; ;) {
    const page = await log.events.list({ afterSeq: after, limit: 4, types: [] })
    paged.push(...page)
    if (page.length < 4) break
    after = page.at(-1)!.seq
  }
  t.same(paged, all, 'pages of 4 make the log')
  const comments = await log.events.list({ afterSeq: all[1]!.seq, limit: 10, types: ['comment.approved', 'comment.edited'] })
  seen.push(shown(comments))
  t.equal(await log.events.seqOf(all[3]!.id), all[3]!.seq)
  t.equal(await log.events.seqOf('evt_not_there_00000'), undefined)

  // Erasure rewrites the events that show comment 7, in place; comment 8 and the removal stay as they were.
  t.equal(await log.redact([7]), 2)
  t.equal(await log.redact([99]), 0)
  const redacted = await log.events.list({ afterSeq: 0, limit: 100, types: [] })
  t.same(redacted.map((e) => e.seq), all.map((e) => e.seq), 'the same positions')
  t.match(JSON.parse(redacted[1]!.data), { id: 7, authorName: null, body: '', status: 'deleted' })
  t.same(JSON.parse(redacted[3]!.data), SCRIPT[3]![1])
  seen.push(shown(redacted))

  // Expiry: the events before T0 + 3 s go, a batch at a time.
  t.equal(await log.events.purge(T0 + 3000), 3)
  seen.push(shown(await log.events.list({ afterSeq: 0, limit: 100, types: [] })))
  return seen
}

t.test('the event log answers the same on SQLite and on PostgreSQL', (t) => sameOnBothEngines(t, 4, logStory))

t.test('writers on two pools committing in any order: a poller never skips an event', async (t) => {
  const { db, url } = await testDatabase(t)
  const other = openPgDatabase(url, { poolSize: 6 })
  t.teardown(() => other.$client.end())
  const outbox = outboxPg()
  const reader = eventRepositoryPg(db)

  // The poller: pages after its cursor as fast as it can while the writers run, as GET /v1/events and the
  // webhook fan-out do.
  const polled: string[] = []
  let cursor = 0
  const state = { writing: true }
  const poll = async () => {
    const page = await reader.list({ afterSeq: cursor, limit: 1000, types: [] })
    for (const e of page) {
      polled.push(e.id)
      cursor = e.seq
    }
  }
  const poller = (async () => {
    while (state.writing) await poll()
  })()

  // Eight transactions a round, alternately on each pool, each holding its event for 0-3 ms before it
  // commits; one in three rounds also rolls one back (a seq that never commits).
  let rolledBack = 0
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? db : other).transaction(async (tx) => {
      await outbox.record(tx, 'tag.updated', { id: round, name: `round ${round} writer ${i}` } as never, T0)
      await sleep(Math.floor(Math.random() * 4))
      if (i === 7 && round % 3 === 0) tx.rollback()
    }).catch((err: unknown) => {
      if (!(err instanceof TransactionRollbackError)) throw err
      rolledBack++
    })))
  }
  state.writing = false
  await poller
  await poll()

  const committed = (await db.select({ id: pgSchema.events.id }).from(pgSchema.events).orderBy(asc(pgSchema.events.seq))).map((r) => r.id)
  t.equal(committed.length, ROUNDS * 8 - rolledBack, 'every committed event is in the log')
  t.same(polled, committed, 'the poller saw each committed event once, in seq order')
  t.comment(`${ROUNDS} rounds of 8 transactions over two pools, ${rolledBack} rolled back`)
})
