// Readers' rights on both engines (src/privacy/repository.pg.ts beside its SQLite twin): the same HTTP story
// of an erasure answers the same on SQLite and on PostgreSQL (threads with tombstones, commentCounts, the
// event log with comment.removed and its earlier events redacted, idempotency replays, exports, reports
// that no longer name the author's client), and afterwards no text column of any table holds the address,
// its IPs or user agents, nor the erased comments' name and words. The retention job likewise, and on
// PostgreSQL two processes running it at once clear and count each row once.
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import { assertProblem, build, createArticle, eventLog, postComment, sameOnBothEngines, type Engine, type TestApp } from '../helper.js'

const MINUTE = 60_000
const DAY = 24 * 60 * 60 * 1000

const erased = { email: 'Erase.Me-4417@Example.org', ip: '198.51.100.77', ua: 'EraseAgent/1.0 (probe-7391)', name: 'Erin Erasable-6613', body: 'Words to erase 8841.' }
const kept = { email: 'keep-me-2288@example.net', ip: '192.0.2.55', ua: 'KeepAgent/2.0 (probe-5510)', name: 'Kim Kept-2275', body: 'A kept comment.' }
type Who = typeof erased
const probes = (who: Who) => [who.email.toLowerCase(), who.ip, who.ua.toLowerCase()]
/** What the public saw of the erased comments (their events carry it): the author's name and words. */
const publicProbes = [erased.name.toLowerCase(), erased.body.toLowerCase(), 'phoned in', 'posted for a reader', 'edited by a moderator']

/** What differs between two databases by design: the avatar key (so avatar hashes) and edit tokens. */
function masked (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'avatarHash' && v !== null ? 'hash' : k === 'editToken' && v !== null ? 'token' : masked(v)]))
  }
  return value
}
const answer = (res: LightMyRequestResponse): unknown =>
  [res.statusCode, res.headers.location ?? null, res.headers['idempotent-replayed'] ?? null, res.body === '' ? '' : masked(res.json())]

/**
 * Every text column of every table of the app's database (PostgreSQL: every schema but the system's;
 * SQLite: every table), lower-cased, by table.
 */
async function dumpText (a: TestApp): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  if (a.pg === undefined) {
    const sqlite = a.app.db.$client
    for (const name of sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]) {
      out.set(name, JSON.stringify(sqlite.prepare(`SELECT * FROM "${name}"`).raw().all(), (_k, v: unknown) => Buffer.isBuffer(v) ? v.toString('latin1') : v).toLowerCase())
    }
    return out
  }
  const columns = (await a.pg.db.execute<{ schema: string, table: string, column: string, type: string }>(sql`
    SELECT c.table_schema AS schema, c.table_name AS table, c.column_name AS column, c.data_type AS type
    FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
    WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
      AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'tsvector')
    ORDER BY 1, 2, 3`)).rows
  for (const { schema, table, column, type } of columns) {
    const name = `${schema}.${table}`
    // bytea with its printable bytes as they are (as the SQLite dump reads blobs); anything else as its text.
    const value = type === 'bytea' ? sql`encode(${sql.identifier(column)}, 'escape')` : sql`${sql.identifier(column)}::text`
    const [row] = (await a.pg.db.execute<{ text: string | null }>(sql`SELECT string_agg(lower(${value}), E'\n') AS text FROM ${sql.identifier(schema)}.${sql.identifier(table)}`)).rows
    out.set(name, `${out.get(name) ?? ''}\n${row?.text ?? ''}`)
  }
  return out
}
const found = (dump: Map<string, string>, needles: string[]) =>
  [...dump].flatMap(([table, text]) => needles.filter((n) => text.includes(n)).map((n) => `${table}: ${n}`))

async function erasureStory (t: Test, engine: Engine): Promise<unknown[]> {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000, commentReportThreshold: 5 }, { engine })
  t.equal(a.app.storage.engine, engine)
  const seen: unknown[] = []
  await createArticle(a, { title: 'First', status: 'published' })
  await createArticle(a, { title: 'Second', status: 'published' })
  await createArticle(a, { title: 'Closed', status: 'published', commentsOpen: false })
  // Posts from a client: its address (remoteAddress) and user agent are what the comment keeps.
  const from = (who: Who) => ({ remoteAddress: who.ip })
  const send = (slug: string, who: Who, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    a.inject({ method: 'POST', url: `/v1/articles/${slug}/comments`, payload: { authorName: who.name, authorEmail: who.email, body: who.body, ...extra }, headers: { 'user-agent': who.ua, ...headers }, ...from(who) })
  const posted = async (res: LightMyRequestResponse) => {
    if (res.statusCode !== 201) throw new Error(`post: ${res.statusCode} ${res.body}`)
    return res.json().id as number
  }
  const moderator = (method: 'PATCH' | 'DELETE', id: number, payload?: Record<string, unknown>) =>
    a.as('moderator', { method, url: `/v1/comments/${id}`, ...(payload === undefined ? {} : { payload }) })
  const report = (id: number, who: Who, reason = 'spam') =>
    a.inject({ method: 'POST', url: `/v1/comments/${id}/reports`, payload: { reason }, ...from(who) })

  // The erased author: a comment with another's reply (→ tombstone), a thread of its own (→ both removed),
  // one in capitals, one with an Idempotency-Key then edited by a moderator, one marked spam (never public:
  // no comment.removed), a reply to the other reader, a reply under a comment a moderator deleted (→ the
  // tombstone above it goes too), and one a moderator posted in its name with a key.
  const withReply = await posted(await send('first', erased))
  a.clock.advance(MINUTE)
  const otherReply = await posted(await send('first', kept, { parentId: withReply }))
  const ownThread = await posted(await send('first', erased))
  await posted(await send('first', erased, { parentId: ownThread, body: 'My own reply.' }))
  a.clock.advance(MINUTE)
  await posted(await send('second', { ...erased, email: erased.email.toUpperCase() }))
  const keyedRes = await send('second', erased, {}, { 'idempotency-key': 'erase-me-key-1' })
  const keyed = await posted(keyedRes)
  const spam = await posted(await send('second', erased, { body: 'Buy now.' }))
  t.equal((await moderator('PATCH', spam, { status: 'spam' })).statusCode, 200)
  const keptTop = await posted(await send('first', kept, { body: 'Kept on top.' }))
  await posted(await send('first', erased, { parentId: keptTop, body: 'Under the kept one.' }))
  const doomed = await posted(await send('first', kept, { body: 'To be deleted.' }))
  await posted(await send('first', erased, { parentId: doomed, body: 'Under the doomed one.' }))
  t.equal((await moderator('DELETE', doomed)).statusCode, 204)
  a.clock.advance(MINUTE)
  const phonedIn = () => a.as('moderator', { method: 'POST', url: '/v1/articles/second/comments', payload: { authorName: 'Phoned in', authorEmail: erased.email, body: 'Posted for a reader.' }, headers: { 'idempotency-key': 'phoned-in' } })
  const phoned = await phonedIn()
  t.equal(phoned.statusCode, 201)
  t.equal((await moderator('PATCH', keyed, { body: 'Edited by a moderator.' })).statusCode, 200)
  // Stored answers that only the author's client address or user agent tie to it: a refused post with a
  // key (filed under the client's address), and a moderator's post made from the author's machine, since
  // deleted (its stored answer shows that address and user agent, under the moderator's token).
  const closedPost = () => send('closed', erased, {}, { 'idempotency-key': 'closed-1' })
  assertProblem(t, await closedPost(), 409, 'comments-closed')
  const deskPost = () => a.as('moderator', { method: 'POST', url: '/v1/articles/second/comments', payload: { authorName: 'Desk', authorEmail: 'desk@example.org', body: 'From the desk.' }, headers: { 'idempotency-key': 'desk-1', 'user-agent': erased.ua }, remoteAddress: erased.ip })
  const desk = await deskPost()
  t.match(desk.json(), { ip: erased.ip, userAgent: erased.ua })
  t.equal((await moderator('DELETE', desk.json().id)).statusCode, 204)
  const keptKeyed = () => send('second', kept, { body: 'Kept, with a key.' }, { 'idempotency-key': 'kept-1' })
  const keptFirst = await keptKeyed()
  t.equal(keptFirst.statusCode, 201)
  // Reports: the erased author's client reports the other reader's comment (a repeat is not counted), and
  // the other reader reports one of the erased author's.
  t.equal((await report(keptTop, erased)).statusCode, 202)
  t.equal((await report(keptTop, erased, 'abuse')).statusCode, 202)
  t.equal((await report(keyed, kept)).statusCode, 202)
  const exportAll = (headers: Record<string, string> = {}) =>
    a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: erased.email.toLowerCase(), limit: 100 }, headers })
  const exported = await exportAll({ 'idempotency-key': 'export-1' })
  t.equal(exported.json().data.length, 9, 'nine comments by the address, in any case and status')
  t.equal((await exportAll({ 'idempotency-key': 'export-1' })).headers['idempotent-replayed'], 'true')
  seen.push(answer(phoned), answer(keptFirst), answer(exported))

  const thread = async (slug: string, role?: 'moderator') => {
    const opts = { method: 'GET' as const, url: `/v1/articles/${slug}/comments?limit=100&include=total` }
    const res = role === undefined ? await a.inject(opts) : await a.as(role, opts)
    if (res.statusCode !== 200) throw new Error(`${slug}: ${res.statusCode} ${res.body}`)
    return masked(res.json())
  }
  const counts = async () => Promise.all(['first', 'second'].map(async (slug) => (await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })).json().commentCount as number))
  const state = async () => [await thread('first'), await thread('first', 'moderator'), await thread('second'), await thread('second', 'moderator'), await counts()]
  seen.push(await state())
  t.same(await counts(), [7, 4], 'before: every approved comment counted')

  const before = await dumpText(a)
  t.ok(found(before, probes(erased)).length >= 3, 'the probe values are there before')
  t.same(found(new Map([...before].filter(([table]) => /events$/.test(table))), publicProbes).length, publicProbes.length,
    'the events hold the erased comments\' author name and words before')

  a.clock.advance(MINUTE)
  const res = await a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: erased.email.toLowerCase() } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { erased: 9 }, 'every comment by the address, in any case')
  seen.push(answer(res), await state())
  t.same(await counts(), [2, 1], 'commentCounts follow: the other reader\'s comments only')
  const tomb = (await a.as('moderator', { method: 'GET', url: `/v1/comments/${withReply}` })).json()
  t.match(tomb, { status: 'deleted', body: '', authorName: null, authorEmail: null, ip: null, userAgent: null, reportCount: 0 }, 'a comment with another\'s reply is a tombstone')
  assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/comments/${doomed}` }), 404, 'not-found')
  const firstThread = (await a.as('moderator', { method: 'GET', url: '/v1/articles/first/comments?limit=100' })).json().data.map((c: { id: number }) => c.id)
  t.same(firstThread, [withReply, otherReply, keptTop], 'the rest is gone (the deleted comment\'s tombstone too), the thread keeps its shape')
  t.equal((await a.as('moderator', { method: 'GET', url: `/v1/comments/${keptTop}` })).json().reportCount, 1, 'the report still counts, without its reporter')

  // The event log: comment.removed for each erased comment the public saw (not the spam), and the earlier
  // events of the erased comments as tombstones. Event ids are random per database: types, times and data.
  const log = await eventLog(a)
  const removed = log.filter((e) => e.type === 'comment.removed' && Date.parse(e.occurredAt) === a.clock.now).map((e) => e.data.id as number)
  t.equal(removed.length, 8, 'comment.removed for each erased comment the public saw, the spam excluded')
  t.notOk(removed.includes(spam))
  seen.push(masked(log.map((e) => [e.type, e.occurredAt, e.data])))

  // Nothing of the address, its IPs and user agents in any table; nor the erased comments' name and words.
  const after = await dumpText(a)
  t.same(found(after, probes(erased)), [], 'no table holds the address, its IP or its user agent')
  t.same(found(after, publicProbes), [], 'nor the erased comments\' name and words')
  t.same(found(after, probes(kept)).filter((f) => /comments: /.test(f)).length, 3, 'the other reader\'s data stay')
  t.ok([...after].some(([table, text]) => /idempotency_keys$/.test(table) && text.includes(`client:${kept.ip}`)), 'and so do the records of its requests')

  // Idempotent; nothing left to export; the stored answers of the author's requests are gone, the other
  // reader's replays.
  seen.push(answer(await a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: erased.email } })))
  t.same(seen.at(-1), [200, null, null, { erased: 0 }], 'a repeat erases nothing')
  const keptReplay = await keptKeyed()
  t.equal(keptReplay.headers['idempotent-replayed'], 'true', 'the other reader\'s stored answer replays')
  const exportAgain = await exportAll({ 'idempotency-key': 'export-1' })
  t.equal(exportAgain.headers['idempotent-replayed'], undefined, 'the stored export is forgotten: it runs again')
  t.same(exportAgain.json().data, [], 'and finds nothing')
  const closedAgain = await closedPost()
  t.equal(closedAgain.headers['idempotent-replayed'], undefined, 'the refused post filed under the author\'s address is forgotten')
  seen.push(answer(keptReplay), answer(exportAgain), answer(closedAgain))
  // The author's client address no longer names its reports: a report from it now counts as a new one.
  t.equal((await report(keptTop, erased)).statusCode, 202)
  t.equal((await a.as('moderator', { method: 'GET', url: `/v1/comments/${keptTop}` })).json().reportCount, 2, 'the old report is no longer this client\'s')
  // The moderator's keyed post is forgotten too: sent again, it is a new comment, not a replay.
  const phonedAgain = await phonedIn()
  t.equal(phonedAgain.statusCode, 201)
  t.equal(phonedAgain.headers['idempotent-replayed'], undefined, 'the moderator\'s stored post is forgotten')
  t.not(phonedAgain.json().id, phoned.json().id)
  const deskAgain = await deskPost()
  t.equal(deskAgain.headers['idempotent-replayed'], undefined, 'the moderator\'s post showing the author\'s address and user agent is forgotten')
  seen.push(answer(phonedAgain), answer(deskAgain), await state())
  return seen
}

t.test('an erasure answers the same on SQLite and on PostgreSQL, and leaves nothing of the address', (t) => sameOnBothEngines(t, 14, erasureStory))

// A comment whose IP and user agent the retention job already cleared: its stored 201 (the public shape,
// under the client's address, no email in it) is found by its Location.
t.test('an erasure after the retention job forgets the stored answers of the cleared comments, on both engines', (t) => sameOnBothEngines(t, 3, async (t, engine) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000, commentPrivateDays: 1 }, { engine })
  await createArticle(a, { title: 'Late', status: 'published' })
  const posted = await a.inject({ method: 'POST', url: '/v1/articles/late/comments', payload: { authorName: erased.name, authorEmail: erased.email, body: erased.body }, headers: { 'idempotency-key': 'late-1', 'user-agent': erased.ua }, remoteAddress: erased.ip })
  t.equal(posted.statusCode, 201)
  a.clock.advance(DAY + 1)
  const cleared = await a.app.retention.run()
  t.same(cleared, { comments: 1, reports: 0, ended: 'done' })
  t.ok(found(await dumpText(a), publicProbes).some((f) => /idempotency_keys: /.test(f)), 'the stored 201 holds the comment\'s name and words')
  const res = await a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: erased.email } })
  t.same(res.json(), { erased: 1 })
  t.same(found(await dumpText(a), [...probes(erased), ...publicProbes]), [], 'nothing of the comment is left in any table')
  return [answer(posted), cleared, answer(res)]
}))

const seenBy = async (a: TestApp, id: number) => masked((await a.as('moderator', { method: 'GET', url: `/v1/comments/${id}` })).json())

async function retentionStory (t: Test, engine: Engine): Promise<unknown[]> {
  const a = await build(t, { commentModeration: 'first', commentPrivateDays: 30, commentRateLimit: 1000 }, { engine })
  const seen: unknown[] = []
  await createArticle(a, { title: 'Old news', status: 'published' })
  const postFrom = async (email: string, ip: string) =>
    (await a.inject({ method: 'POST', url: '/v1/articles/old-news/comments', payload: { authorName: 'R', authorEmail: email, body: 'Hi' }, headers: { 'user-agent': `UA ${ip}` }, remoteAddress: ip })).json().id as number
  const old = await postFrom('old@example.org', '203.0.113.1')
  t.equal((await a.as('moderator', { method: 'POST', url: `/v1/comments/${old}/reports`, payload: { reason: 'spam' } })).statusCode, 202)
  a.clock.advance(DAY)
  const younger = await postFrom('young@example.org', '203.0.113.2')
  a.clock.advance(29 * DAY)

  seen.push(await a.app.retention.run())
  t.same(seen.at(-1), { comments: 0, reports: 0, ended: 'done' }, 'at exactly 30 days nothing is due')
  a.clock.advance(1)
  seen.push(await a.app.retention.run())
  t.same(seen.at(-1), { comments: 1, reports: 1, ended: 'done' }, 'a millisecond later the first comment and the report are')
  seen.push(await seenBy(a, old), await seenBy(a, younger))
  t.match(seen.at(-2), { ip: null, userAgent: null, authorEmail: 'old@example.org', reportCount: 1 }, 'the email stays; the report still counts')
  t.match(seen.at(-1), { ip: '203.0.113.2', userAgent: 'UA 203.0.113.2' })
  t.equal((seen.at(-2) as { updatedAt: string }).updatedAt, (seen.at(-2) as { createdAt: string }).createdAt, 'clearing is not an edit')
  seen.push(await a.app.retention.run())
  t.same(seen.at(-1), { comments: 0, reports: 0, ended: 'done' }, 'idempotent')
  const dump = await dumpText(a)
  t.same(found(dump, ['203.0.113.1', 'ua 203.0.113.1']), [], 'the cleared values are in no table')
  t.ok(found(dump, ['203.0.113.2']).length > 0, 'the kept ones are')

  // Moderation works on a cleared comment, and it still vouches for its author in `first` mode.
  seen.push(masked((await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${old}`, payload: { status: 'approved' } })).json()))
  const again = await postFrom('OLD@example.org', '203.0.113.9')
  seen.push(await seenBy(a, again))
  t.match(seen.at(-1), { status: 'approved' }, 'the cleared comment still vouches for its author')
  a.clock.advance(DAY)
  seen.push(await a.app.retention.run(), await seenBy(a, younger))
  t.same(seen.at(-2), { comments: 1, reports: 0, ended: 'done' })
  t.match(seen.at(-1), { ip: null, userAgent: null })
  return seen
}

t.test('the retention job answers the same on SQLite and on PostgreSQL', (t) => sameOnBothEngines(t, 9, retentionStory))

t.test('PostgreSQL: the job reads only comments that still hold something, through the partial index', async (t) => {
  const a = await build(t, {}, { engine: 'postgres' })
  const plan = await a.pg!.db.transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL enable_seqscan = off`)
    const rows = (await tx.execute<{ 'QUERY PLAN': string }>(sql`EXPLAIN SELECT id FROM comments WHERE (ip IS NOT NULL OR user_agent IS NOT NULL) AND created_at < 0 LIMIT 500 FOR UPDATE SKIP LOCKED`)).rows
    return rows.map((r) => r['QUERY PLAN']).join('\n')
  })
  t.match(plan, /comments_private_created_idx/, plan)
})

t.test('PostgreSQL: two processes running the job at once clear and count each row once', async (t) => {
  const a = await build(t, { commentPrivateDays: 30 }, { engine: 'postgres' })
  const b = await build(t, { commentPrivateDays: 30, postgres: { url: a.pg!.url, poolSize: 4 } }, { engine: 'postgres' })
  const article = await createArticle(a, { title: 'Archive', status: 'published' })
  const db = a.pg!.db
  // More than two batches of each, a year old, written directly (posting 1300 comments over HTTP is slow).
  const old = a.clock.now - 365 * DAY
  await db.execute(sql`INSERT INTO comments (article_id, author_name, author_email, avatar_hash, body, body_html, status, ip, user_agent, created_at, updated_at)
    SELECT ${article.id}, 'R', 'r' || i || '@example.org', 'h', 'Old ' || i, '<p>Old</p>', 'approved', '198.51.100.' || (i % 250), 'RetainedAgent/' || i, ${old}::bigint + i, ${old}::bigint + i
    FROM generate_series(1, 1300) AS i`)
  await db.execute(sql`INSERT INTO comment_reports (comment_id, reporter, reason, created_at)
    SELECT id, 'reporter-' || id, 'spam', created_at FROM comments ORDER BY id LIMIT 1100`)
  const fresh = (await postComment(a, 'archive', { authorName: 'N', authorEmail: 'n@example.org', body: 'New' }, { 'user-agent': 'FreshAgent' })).json().id as number

  // Two processes at once; a second call on the same process joins the pass under way rather than racing it.
  const runs = [a.app.retention.run(), b.app.retention.run(), a.app.retention.run()]
  t.equal(runs[2], runs[0], 'one pass a process at a time')
  const results = await Promise.all(runs.slice(0, 2))
  t.same({ comments: results.reduce((n, r) => n + r.comments, 0), reports: results.reduce((n, r) => n + r.reports, 0) }, { comments: 1300, reports: 1100 },
    `each row once across the runs (${JSON.stringify(results)})`)
  const [left] = (await db.execute<{ n: number }>(sql`SELECT count(*) AS n FROM comments WHERE ip IS NOT NULL OR user_agent IS NOT NULL`)).rows
  t.equal(left?.n, 1, 'only the fresh comment keeps its origin')
  t.match(await seenBy(b, fresh), { userAgent: 'FreshAgent' })
  const [reports] = (await db.execute<{ n: number }>(sql`SELECT count(*) AS n FROM comment_reports`)).rows
  t.equal(reports?.n, 0)
})

t.test('PostgreSQL: an erasure on one process while another posts replies to the comments it erases', async (t) => {
  const config = { commentModeration: 'none' as const, commentRateLimit: 100_000 }
  const a = await build(t, config, { engine: 'postgres' })
  const b = await build(t, { ...config, postgres: { url: a.pg!.url, poolSize: 4 } }, { engine: 'postgres' })
  await createArticle(a, { title: 'Busy', status: 'published' })
  const db = a.pg!.db
  const rounds = Number(process.env.RACE_ROUNDS ?? 8)
  for (let round = 0; round < rounds; round++) {
    const email = `gone-${round}@example.org`
    const ids: number[] = []
    for (let i = 0; i < 6; i++) ids.push((await postComment(a, 'busy', { authorName: 'Gone', authorEmail: email, body: `Gone ${round}.${i}` })).json().id)
    // On B replies to each of the comments, and on A the erasure, started a little later (more with each
    // round), so that some replies commit before it, some wait for it, some come after.
    const replying = ids.map((id, i) => postComment(b, 'busy', { authorName: 'Stay', authorEmail: `stay${i}@example.org`, body: `Reply ${round}.${i}`, parentId: id }))
    const erasing = sleep(2 * round).then(() => a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email } }))
    const [erasure, ...replies] = await Promise.all([erasing, ...replying])
    t.equal(erasure!.statusCode, 200, `round ${round}: the erasure succeeds (${erasure!.body})`)
    t.same(erasure!.json(), { erased: 6 })
    // A reply either came first (its parent is then a tombstone) or found its parent gone (422).
    t.ok(replies.every((r) => r.statusCode === 201 || r.statusCode === 422), `round ${round}: ${replies.map((r) => r.statusCode).join(' ')}`)
    const [row] = (await db.execute<{ counted: number, approved: number, left: number }>(sql`SELECT
      (SELECT comment_count FROM articles WHERE slug = 'busy') AS counted,
      (SELECT count(*) FROM comments c JOIN articles x ON x.id = c.article_id WHERE x.slug = 'busy' AND c.status = 'approved') AS approved,
      (SELECT count(*) FROM comments WHERE lower(author_email) = ${email}) AS left`)).rows
    t.equal(row?.counted, row?.approved, `round ${round}: comment_count is exact`)
    t.equal(row?.left, 0, `round ${round}: nothing of the address is left`)
    const tombs = (await db.execute<{ n: number }>(sql`SELECT count(*) AS n FROM comments WHERE status = 'deleted' AND id = ANY(${`{${ids.join(',')}}`}::int[])`)).rows[0]?.n
    t.equal(tombs, replies.filter((r) => r.statusCode === 201).length, `round ${round}: a tombstone for each comment that got its reply first`)
  }
})
