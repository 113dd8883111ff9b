// Erasure (API.md section 11): POST /v1/privacy/erase {email} → {erased: n}. Afterwards every table of the
// database file is searched for the erased address, IPs and user agents, and then the file's bytes; and,
// since the event log and webhook deliveries carry the public comment, for the erased comments' author
// name and words too.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import Database from 'better-sqlite3'
import { assertProblem, build, createArticle, postComment, type TestApp, onSqlite } from '../helper.js'
import { startReceiver } from '../../scripts/webhook-receiver.js'

const erased = { email: 'Erase.Me-4417@Example.org', ip: '198.51.100.77', ua: 'EraseAgent/1.0 (probe-7391)', name: 'Erin Erasable-6613', body: 'Words to erase 8841.' }
const kept = { email: 'keep-me-2288@example.net', ip: '192.0.2.55', ua: 'KeepAgent/2.0 (probe-5510)', name: 'Kim Kept-2275', body: 'A comment.' }
const probes = (who: typeof erased) => [who.email.toLowerCase(), who.ip, who.ua.toLowerCase()]
/** What the public saw of the erased comments (events carry it): the author's name and words. */
const publicProbes = [erased.name.toLowerCase(), erased.body.toLowerCase(), 'phoned in', 'posted for a reader', 'edited by a moderator']

/** Every row of every table (FTS shadow tables and all), as lower-cased text. */
function dumpTables (sqlite: Database.Database): Map<string, string> {
  const tables = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]
  return new Map(tables.map((name) => {
    const rows = sqlite.prepare(`SELECT * FROM "${name}"`).raw().all()
    return [name, JSON.stringify(rows, (_k, v: unknown) => Buffer.isBuffer(v) ? v.toString('latin1') : v).toLowerCase()]
  }))
}
const found = (dump: Map<string, string>, needles: string[]) =>
  [...dump].flatMap(([table, text]) => needles.filter((n) => text.includes(n)).map((n) => `${table}: ${n}`))

async function post (a: TestApp, slug: string, who: typeof erased, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await postComment(a, slug, { authorName: who.name, authorEmail: who.email, body: who.body, ...extra },
    { 'x-forwarded-for': who.ip, 'user-agent': who.ua, ...headers })
  if (res.statusCode !== 201) throw new Error(res.body)
  return res.json() as { id: number, editToken: string }
}
const counts = async (a: TestApp) => {
  const out: Record<string, number> = {}
  for (const slug of ['first', 'second']) {
    const article = (await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })).json()
    const approved = (await a.as('moderator', { method: 'GET', url: `/v1/articles/${slug}/comments?status=approved&include=total` })).json()
    out[slug] = article.commentCount
    out[`${slug} (approved listed)`] = approved.page.total
  }
  return out
}

t.test('erasure leaves nothing of the address, its IPs and user agents in any table, nor in the file', onSqlite, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-erase-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'erase.db')
  // A webhook whose receiver fails, retried an hour later (the test's clock stands still): at the erasure
  // its deliveries of the erased comments' events are still waiting.
  const receiver = await startReceiver(() => 503)
  t.teardown(() => receiver.close())
  const a = await build(t, { databasePath: path, trustProxy: true, commentModeration: 'none', commentRateLimit: 1000, webhookAllowPrivate: true },
    { workers: { pollMs: 20, minIntervalMs: 0, backoff: () => 60 * 60 * 1000 } })
  const events = (await a.inject({ method: 'GET', url: '/openapi.json' })).json().components.schemas.EventType.enum as string[]
  t.equal((await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events } })).statusCode, 201)
  await createArticle(a, { title: 'First', status: 'published' })
  await createArticle(a, { title: 'Second', status: 'published' })
  await createArticle(a, { title: 'Closed', status: 'published', commentsOpen: false })

  // The erased author: a comment with someone else's reply (→ tombstone), a thread of its own (→ both
  // removed), one in another case and held for links, one posted with an Idempotency-Key, a refused
  // post with a key (409, stored), a report it made, and a comment a moderator posted in its name.
  const withReply = await post(a, 'first', erased)
  const otherReply = await post(a, 'first', kept, { parentId: withReply.id })
  const ownThread = await post(a, 'first', erased)
  await post(a, 'first', erased, { parentId: ownThread.id })
  await post(a, 'second', { ...erased, email: erased.email.toUpperCase() }, { body: 'https://a.example https://b.example https://c.example' })
  const keyed = await post(a, 'second', erased, {}, { 'idempotency-key': 'erase-me-key-1' })
  const closed = await postComment(a, 'closed', { authorName: 'Someone', authorEmail: erased.email, body: 'Closed?' },
    { 'x-forwarded-for': erased.ip, 'user-agent': erased.ua, 'idempotency-key': 'erase-me-key-2' })
  assertProblem(t, closed, 409, 'comments-closed')
  t.equal((await a.inject({ method: 'POST', url: `/v1/comments/${otherReply.id}/reports`, payload: { reason: 'spam' }, headers: { 'x-forwarded-for': erased.ip } })).statusCode, 202)
  const byModerator = await a.as('moderator', { method: 'POST', url: '/v1/articles/second/comments', payload: { authorName: 'Phoned in', authorEmail: erased.email, body: 'Posted for a reader.' }, headers: { 'idempotency-key': 'phoned-in' } })
  t.equal(byModerator.statusCode, 201)
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${keyed.id}`, payload: { status: 'pending' } })
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${keyed.id}`, payload: { status: 'approved', body: 'Edited by a moderator.' } })
  // An export stored for an Idempotency-Key holds it all too.
  const exported = await a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: erased.email }, headers: { 'idempotency-key': 'export-1' } })
  t.equal(exported.json().data.length, 6)
  t.equal(exported.json().page.nextCursor, null)
  // The other reader, whose data must stay, writing on the same pages, so that rows move and pages split
  // around the erased author's rows (leaving old copies of them in free space unless SQLite zeroes it).
  for (let i = 0; i < 30; i++) {
    await post(a, 'second', kept, { body: `Kept ${i}` }, { 'idempotency-key': `kept-${i}` })
    if (i % 10 === 0) await post(a, 'second', erased, { body: `Interleaved ${i}` }, { 'idempotency-key': `interleaved-${i}` })
  }

  const sqlite = a.app.db.$client
  const queued = sqlite.prepare('SELECT count(*) FROM events WHERE webhook_id IS NULL').pluck()
  const deliveries = sqlite.prepare("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'").pluck()
  for (let i = 0; deliveries.get() !== queued.get(); i++) {
    if (i > 1500) throw new Error('the webhook\'s deliveries were never queued')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const beforeDump = dumpTables(sqlite)
  t.same(found(beforeDump, probes(erased)).length > 0, true, 'the probe values are there before')
  t.same(found(new Map([['events', beforeDump.get('events')!]]), publicProbes), publicProbes.map((p) => `events: ${p}`),
    'the events hold the erased comments\' author name and words before, for deliveries still waiting')
  const before = await counts(a)

  const res = await a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: erased.email.toLowerCase() } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { erased: 9 }, 'every comment by the address, in any case')
  t.equal(res.headers['cache-control'], 'private, no-store')

  const dump = dumpTables(sqlite)
  t.same(found(dump, probes(erased)), [], 'no table holds the address, its IP or its user agent')
  t.same(found(dump, publicProbes), [], 'nor the erased comments\' name and words: not the comments, the events, their deliveries')
  t.ok(dump.get('events')!.includes(kept.name.toLowerCase()), 'the other reader\'s events stay')
  t.ok(Number(deliveries.get()) > 0, 'and so do the deliveries still waiting for them')
  t.same(found(new Map([['comments', dump.get('comments')!]]), probes(kept)).length, 3, 'the other reader\'s data stay')
  t.ok(dump.get('idempotency_keys')!.includes(`client:${kept.ip}`), 'and so do the records of its requests')

  const tomb = (await a.as('moderator', { method: 'GET', url: `/v1/comments/${withReply.id}` })).json()
  t.match(tomb, { status: 'deleted', body: '', authorName: null, authorEmail: null, ip: null, userAgent: null, reportCount: 0 }, 'a comment with another\'s reply is a tombstone')
  const thread = (await a.inject({ method: 'GET', url: '/v1/articles/first/comments' })).json().data.map((c: { id: number }) => c.id)
  t.same(thread, [withReply.id, otherReply.id], 'the rest is gone, the thread keeps its shape')
  const after = await counts(a)
  t.same(after, { first: 1, 'first (approved listed)': 1, second: 30, 'second (approved listed)': 30 }, 'commentCounts stay true')
  t.not(before.second, after.second)
  t.equal((await a.as('moderator', { method: 'GET', url: `/v1/comments/${otherReply.id}` })).json().reportCount, 1, 'the report still counts, without its reporter')

  const again = await a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: erased.email } })
  t.same(again.json(), { erased: 0 }, 'idempotent')
  t.same((await a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: erased.email } })).json().data, [], 'nothing left to export')
  t.notOk((sqlite.prepare('SELECT key FROM idempotency_keys').pluck().all() as string[]).some((k) => !k.startsWith('kept-')), 'the stored answers of the author\'s requests, the moderator\'s post and the export are gone')

  // And the file itself: overwritten, not left in free pages or the WAL.
  await a.app.close()
  const bytes = Buffer.concat([readFileSync(path), ...['-wal', '-journal'].map((x) => { try { return readFileSync(path + x) } catch { return Buffer.alloc(0) } })])
  const text = bytes.toString('latin1').toLowerCase()
  t.same([...probes(erased), ...publicProbes].filter((p) => text.includes(p)), [], 'the database file holds none of them')
  t.ok(text.includes(kept.email), 'while the other reader\'s address is there to be found')
})

t.test('only admins erase and export; the address travels in the body only', async (t) => {
  const a = await build(t)
  for (const url of ['/v1/privacy/erase', '/v1/privacy/export']) {
    assertProblem(t, await a.inject({ method: 'POST', url, payload: { email: 'x@example.org' } }), 401, 'unauthorized')
    assertProblem(t, await a.as('editor', { method: 'POST', url, payload: { email: 'x@example.org' } }), 403, 'forbidden')
    assertProblem(t, await a.as('moderator', { method: 'POST', url, payload: { email: 'x@example.org' } }), 403, 'forbidden')
    for (const payload of [{}, { email: 'not an address' }, { email: 'x@example.org', extra: 1 }, { email: `${'x'.repeat(250)}@e.org` }]) {
      assertProblem(t, await a.as('admin', { method: 'POST', url, payload }), 422, 'validation')
    }
    assertProblem(t, await a.as('admin', { method: 'POST', url: `${url}?email=x@example.org`, payload: { email: 'x@example.org' } }), 422, 'validation')
  }
  const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json()
  for (const path of ['/v1/privacy/erase', '/v1/privacy/export']) {
    t.same(doc.paths[path].post.parameters?.filter((p: { in: string }) => p.in !== 'header') ?? [], [], `${path}: no parameter in the URL`)
  }
})
