// Comments on both engines (src/comments/repository.pg.ts, reports.pg.ts, events.pg.ts beside their SQLite
// twins): the same HTTP story answers the same on SQLite and on PostgreSQL (posts by guests and by a token,
// replies, thread pages and cursors to the end, the moderation queue in both sorts, the article's
// commentCount, moderation, the author's edit token and window, reports and their threshold, deletion
// with tombstones, an idempotent replay, the event log), and with two processes on one PostgreSQL (two apps,
// two pools, one database) concurrent posts and reports on one article, and posts to several articles from
// several clients, are all counted, exactly; what one process changes, the other's next comment honours,
// though it starts from the article as that process remembers it, even while it waits to be written.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { createHash } from 'node:crypto'
import pg from 'pg'
import { eq, sql } from 'drizzle-orm'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import * as pgSchema from '../../src/db/pg/schema.js'
import { EVENT_LOG_LOCK } from '../../src/events/outbox.pg.js'
import { dependencyKeys } from '../../src/db/change-clock.js'
import { assertProblem, authorDelete, authorEdit, build, createArticle, eventLog, postComment, postWithToken, sameOnBothEngines, type Engine, type TestApp } from '../helper.js'
import { statementsSent, type SentStatement } from './sent.js'

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 5)
const MINUTE = 60_000

/** What differs between two databases by design: the avatar key (and so avatar hashes and ETags) and edit tokens. */
function masked (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'avatarHash' && v !== null ? 'hash' : k === 'editToken' && v !== null ? 'token' : masked(v)]))
  }
  return value
}

const answer = (res: LightMyRequestResponse): unknown => [res.statusCode, res.headers.location ?? null, res.body === '' ? '' : masked(res.json())]

/** A comment's stored row, on either engine: what the API never shows (the edit token's hash). */
async function storedComment (a: TestApp, id: number): Promise<Record<string, unknown> | undefined> {
  if (a.pg === undefined) return a.app.db.$client.prepare('SELECT * FROM comments WHERE id = ?').get(id) as Record<string, unknown> | undefined
  return (await a.pg.db.execute(sql`SELECT * FROM comments WHERE id = ${id}`)).rows[0]
}

/** Every page of a comment list, following nextCursor: the ids (and statuses), the cursors and the first page's total. */
async function pages (a: TestApp, url: string, role?: 'moderator'): Promise<{ items: unknown[], total: number | undefined, cursors: (string | null)[] }> {
  const items: unknown[] = []
  const cursors: (string | null)[] = []
  let cursor: string | null = null
  let total: number | undefined
  do {
    const opts: InjectOptions = { method: 'GET', url: `${url}${url.includes('?') ? '&' : '?'}limit=2${cursor === null ? '&include=total' : `&cursor=${cursor}`}` }
    const res: LightMyRequestResponse = role === undefined ? await a.inject(opts) : await a.as(role, opts)
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    const body = res.json() as { data: { id: number, status: string, reportCount?: number }[], page: { total?: number, nextCursor: string | null } }
    if (cursor === null) total = body.page.total
    items.push(...body.data.map((c) => [c.id, c.status, c.reportCount ?? null]))
    cursor = body.page.nextCursor
    cursors.push(cursor)
  } while (cursor !== null)
  return { items, total, cursors }
}

const commentCount = async (a: TestApp, slug: string): Promise<number> =>
  (await a.as('moderator', { method: 'GET', url: `/v1/articles/${slug}` })).json().commentCount

const report = (a: TestApp, id: number, from: string, reason = 'spam') =>
  a.inject({ method: 'POST', url: `/v1/comments/${id}/reports`, payload: { reason }, remoteAddress: from })

const moderate = (a: TestApp, id: number, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
  a.as('moderator', { method: 'PATCH', url: `/v1/comments/${id}`, payload, headers })

const olga = { authorName: 'Olga', authorEmail: 'Olga@Example.org', body: 'First, from *Olga*.' }
const ivan = { authorName: 'Ivan', authorEmail: 'ivan@example.com', authorUrl: 'https://ivan.example.com/', body: 'Hello from Ivan.' }

async function commentStory (t: Test, engine: Engine): Promise<unknown[]> {
  const a = await build(t, { commentModeration: 'first', commentRateLimit: 1000, commentReportThreshold: 2, commentEditMinutes: 15 }, { engine })
  t.equal(a.app.storage.engine, engine)
  const seen: unknown[] = []
  await createArticle(a, { title: 'Harbour', status: 'published' })
  await createArticle(a, { title: 'Other', status: 'published' })
  await createArticle(a, { title: 'Draft', status: 'draft' })

  // A guest's first comment waits (COMMENT_MODERATION=first): not public, not counted.
  const first = await postWithToken(a, 'harbour', olga)
  t.equal(first.res.json().status, 'pending')
  t.match(first.editToken, /^gzc_/)
  const row = await storedComment(a, first.id)
  t.equal(row?.edit_token_hash, createHash('sha256').update(first.editToken).digest('hex'), 'only the edit token\'s SHA-256 is stored')
  t.notOk(JSON.stringify(row).includes(first.editToken), 'never the token')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/comments/${first.id}` }), 404, 'not-found')
  t.equal(await commentCount(a, 'harbour'), 0, 'a pending comment is not counted')
  seen.push(answer(first.res), (await pages(a, '/v1/articles/harbour/comments')).items)

  // Approved by a moderator: public and counted; the same email's next comment is approved at once.
  a.clock.advance(MINUTE)
  const approved = await moderate(a, first.id, { status: 'approved' })
  t.equal(approved.statusCode, 200)
  t.equal(await commentCount(a, 'harbour'), 1)
  a.clock.advance(MINUTE)
  const second = await postWithToken(a, 'harbour', { ...olga, authorEmail: 'olga@example.org', body: 'Second, case-insensitively the same email.' })
  t.equal(second.res.json().status, 'approved')
  t.equal(await commentCount(a, 'harbour'), 2)
  seen.push(answer(approved), answer(second.res))

  // A token's post (a moderator: the moderated shape back), a reply, a reply to a pending comment (422).
  a.clock.advance(MINUTE)
  const byToken = await a.as('moderator', { method: 'POST', url: '/v1/articles/harbour/comments', payload: ivan })
  t.equal(byToken.statusCode, 201)
  t.equal(byToken.json().authorEmail, ivan.authorEmail, 'a moderator sees the email')
  t.equal(byToken.json().status, 'pending', 'a token\'s post is moderated as any other (a new email waits)')
  t.equal((await moderate(a, byToken.json().id, { status: 'approved' })).statusCode, 200)
  a.clock.advance(MINUTE)
  const reply = await postComment(a, 'harbour', { ...olga, body: 'A reply.', parentId: first.id })
  t.equal(reply.statusCode, 201)
  const pendingOne = await postWithToken(a, 'harbour', { authorName: 'Lin', authorEmail: 'lin@example.net', body: 'Pending one.' })
  assertProblem(t, await postComment(a, 'harbour', { ...olga, body: 'Reply to pending.', parentId: pendingOne.id }), 422, 'validation')
  assertProblem(t, await postComment(a, 'other', { ...olga, body: 'Parent elsewhere.', parentId: first.id }), 422, 'validation')
  assertProblem(t, await postComment(a, 'draft', olga), 404, 'not-found')
  assertProblem(t, await a.as('editor', { method: 'POST', url: '/v1/articles/draft/comments', payload: olga }), 409, 'comments-closed')
  seen.push(answer(byToken), answer(reply), answer(pendingOne.res))

  // Threads and the queue, page by page to the end, on a second article too.
  for (let i = 0; i < 3; i++) {
    a.clock.advance(1000)
    await postComment(a, 'other', { ...olga, body: `Other ${i}.` })
  }
  const lists = async () => [
    await pages(a, '/v1/articles/harbour/comments'),
    await pages(a, '/v1/articles/harbour/comments', 'moderator'),
    await pages(a, '/v1/articles/harbour/comments?status=pending', 'moderator'),
    await pages(a, '/v1/articles/other/comments'),
    // A thread page's text is built once per shape and bound per request: the same shapes again, other values.
    await pages(a, '/v1/comments?article=harbour&sort=-createdAt', 'moderator'),
    await pages(a, '/v1/comments?article=other&sort=-createdAt', 'moderator'),
    await pages(a, '/v1/articles/other/comments?status=pending', 'moderator'),
    await pages(a, '/v1/comments', 'moderator'),
    await pages(a, '/v1/comments?status=pending', 'moderator'),
    await pages(a, '/v1/comments?sort=-reportCount', 'moderator'),
    await pages(a, '/v1/comments?article=harbour&status=approved', 'moderator'),
    [await commentCount(a, 'harbour'), await commentCount(a, 'other')]
  ]
  seen.push(await lists())
  t.equal(await commentCount(a, 'harbour'), 4, 'approved: the first, the second, the token\'s and the reply')

  // Hidden (spam) and back: the count follows, the public thread never shows it.
  a.clock.advance(MINUTE)
  t.equal((await moderate(a, second.id, { status: 'spam' })).statusCode, 200)
  t.equal(await commentCount(a, 'harbour'), 3, 'a hidden comment is not counted')
  t.notOk((await pages(a, '/v1/articles/harbour/comments')).items.some((c) => (c as unknown[])[0] === second.id), 'nor shown')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/comments/${second.id}` }), 404, 'not-found')
  // If-Match on moderation: a stale ETag changes nothing.
  assertProblem(t, await moderate(a, second.id, { status: 'approved' }, { 'if-match': '"stale"' }), 412, 'precondition-failed')
  t.equal(await commentCount(a, 'harbour'), 3)
  seen.push(answer(await a.as('moderator', { method: 'GET', url: `/v1/comments/${second.id}` })))

  // The author's edit within the window (an approved comment is moderated again: still approved, the
  // email has another approved comment), with a stale If-Match refused; after the window, 403.
  a.clock.advance(MINUTE)
  const current = await a.inject({ method: 'GET', url: `/v1/comments/${first.id}` })
  assertProblem(t, await authorEdit(a, first.id, first.editToken, { body: 'Edited.' }, { 'if-match': '"stale"' }), 412, 'precondition-failed')
  const edited = await authorEdit(a, first.id, first.editToken, { body: 'First, **edited**.' }, { 'if-match': current.headers.etag as string })
  t.equal(edited.statusCode, 200)
  t.match(edited.json(), { edited: true, status: 'approved', bodyHtml: '<p>First, <strong>edited</strong>.</p>\n' })
  assertProblem(t, await authorEdit(a, first.id, second.editToken, { body: 'Not mine.' }), 403, 'forbidden')
  a.clock.advance(15 * MINUTE)
  assertProblem(t, await authorEdit(a, first.id, first.editToken, { body: 'Too late.' }), 403, 'forbidden')
  assertProblem(t, await authorDelete(a, first.id, first.editToken), 403, 'forbidden')
  seen.push(answer(edited), answer(await a.inject({ method: 'GET', url: `/v1/comments/${first.id}` })))

  // Reports: one per client; the second client reaches the threshold (2) and the comment goes back to pending.
  const target = byToken.json().id as number
  t.equal((await report(a, target, '203.0.113.1')).statusCode, 202)
  t.equal((await report(a, target, '203.0.113.1', 'abuse')).statusCode, 202)
  let seenByModerator = (await a.as('moderator', { method: 'GET', url: `/v1/comments/${target}` })).json()
  t.equal(seenByModerator.reportCount, 1, 'a repeat by the same client is not counted')
  t.equal(seenByModerator.status, 'approved')
  t.equal((await report(a, target, '203.0.113.2', 'off-topic')).statusCode, 202)
  seenByModerator = (await a.as('moderator', { method: 'GET', url: `/v1/comments/${target}` })).json()
  t.match(seenByModerator, { reportCount: 2, status: 'pending' }, 'the threshold sends it back to pending')
  t.equal(await commentCount(a, 'harbour'), 2, 'and out of the count')
  t.equal((await report(a, first.id, '203.0.113.9')).statusCode, 202)
  seen.push(masked(seenByModerator), await pages(a, '/v1/comments?sort=-reportCount', 'moderator'))

  // Deletion: a comment with a reply stays as a tombstone; deleting the reply then removes both.
  a.clock.advance(MINUTE)
  t.equal((await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${first.id}` })).statusCode, 204)
  const tomb = await a.as('moderator', { method: 'GET', url: `/v1/comments/${first.id}` })
  t.match(tomb.json(), { status: 'deleted', authorName: null, authorEmail: null, body: '', reportCount: 0 })
  t.equal(await commentCount(a, 'harbour'), 1, 'only the reply is left counted')
  seen.push(answer(tomb), await pages(a, '/v1/articles/harbour/comments', 'moderator'))
  t.equal((await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${reply.json().id as number}` })).statusCode, 204)
  assertProblem(t, await a.as('moderator', { method: 'GET', url: `/v1/comments/${first.id}` }), 404, 'not-found')
  t.equal(await commentCount(a, 'harbour'), 0)

  // An idempotent POST: the retry replays (edit token null), one comment is written.
  const send = () => a.inject({ method: 'POST', url: '/v1/articles/other/comments', payload: { ...ivan, body: 'Once.' }, remoteAddress: '198.51.100.4', headers: { 'idempotency-key': 'k-1' } })
  const once = await send()
  const replay = await send()
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.same(replay.json(), { ...once.json(), editToken: null })
  seen.push(answer(once), answer(replay), await pages(a, '/v1/articles/other/comments'))

  // Closed comments: 409, nothing written.
  t.equal((await a.as('editor', { method: 'PATCH', url: '/v1/articles/other', payload: { commentsOpen: false } })).statusCode, 200)
  assertProblem(t, await postComment(a, 'other', olga), 409, 'comments-closed')
  seen.push(await commentCount(a, 'other'))

  // What the event log told consumers of comments, in order (ids and times are the same on both engines).
  const log = (await eventLog(a)).filter((e) => e.type.startsWith('comment.'))
  seen.push(masked(log.map((e) => [e.type, e.occurredAt, e.data])))
  t.same([...new Set(log.map((e) => e.type))].sort(), ['comment.approved', 'comment.edited', 'comment.removed', 'comment.submitted'])
  return seen
}

t.test('comments answer the same on SQLite and on PostgreSQL', (t) => sameOnBothEngines(t, 20, commentStory))

/** A comment's lookup of its article by slug (src/comments/repository.pg.ts, findTarget). */
const isLookup = (q: SentStatement): boolean => q.name === 'comments_target_by_slug'
/** A comment write's read of its articles, locked (src/comments/repository.pg.ts, writeComments): the only statement ending so. */
const isTargetsLock = (q: SentStatement): boolean => /FOR UPDATE OF a\s*$/.test(q.text)

/** Two processes on one database: A and B, each with its own pool, B on A's database. */
async function twoProcesses (t: Test, config: Record<string, unknown>): Promise<[TestApp, TestApp]> {
  const a = await build(t, config, { engine: 'postgres' })
  const b = await build(t, { ...config, postgres: { url: a.pg!.url, poolSize: 4 } }, { engine: 'postgres' })
  return [a, b]
}

t.test('two processes: concurrent comments on one article are all counted', async (t) => {
  const [a, b] = await twoProcesses(t, { commentModeration: 'none', commentRateLimit: 100_000 })
  const article = await createArticle(a, { title: 'Busy', status: 'published' })
  const db = a.pg!.db
  let posted = 0
  for (let round = 0; round < ROUNDS; round++) {
    // Several at once from each process, approved (counted) and, from B, a reply to A's first.
    const results = await Promise.all([0, 1, 2, 3].flatMap((i) => [
      postComment(a, 'busy', { authorName: 'A', authorEmail: `a${i}@example.org`, body: `A ${round}.${i}` }),
      postComment(b, 'busy', { authorName: 'B', authorEmail: `b${i}@example.org`, body: `B ${round}.${i}` })
    ]))
    t.same(results.map((r) => r.statusCode), Array(8).fill(201), `round ${round}: every post is a 201`)
    posted += results.length
    t.equal(await commentCount(b, 'busy'), posted, `round ${round}: comment_count is exact`)
  }
  const [{ n }] = (await db.execute<{ n: number }>(sql`SELECT count(*) AS n FROM comments WHERE article_id = ${article.id} AND status = 'approved'`)).rows as [{ n: number }]
  t.equal(n, posted, 'as many rows as answers')
  const submitted = await db.select().from(pgSchema.events).where(eq(pgSchema.events.type, 'comment.submitted'))
  t.equal(submitted.length, posted, 'one comment.submitted each')
  const seqs = (await eventLog(a, '&type=comment.approved')).map((e) => e.data.id as number)
  t.equal(new Set(seqs).size, posted, 'one comment.approved each')
})

t.test('two processes: concurrent reports count once each, and the threshold requeues once', async (t) => {
  // The threshold is the number of clients: the requeue comes with the last client's first report. A
  // report that arrives after it finds the comment no longer public, and is a 404 (which of the repeats
  // arrive before it is a race); a threshold below the clients would make a first report a 404 too.
  const [a, b] = await twoProcesses(t, { commentModeration: 'none', commentRateLimit: 100_000, commentReportThreshold: 6 })
  await createArticle(a, { title: 'Reported', status: 'published' })
  for (let round = 0; round < ROUNDS; round++) {
    const c = (await postComment(a, 'reported', { authorName: 'R', authorEmail: 'r@example.org', body: `Round ${round}` })).json()
    const before = await commentCount(a, 'reported')
    // Six different clients, each twice, half through each process: six counted, the sixth requeues.
    const answers = await Promise.all([0, 1, 2, 3, 4, 5].flatMap((i) => [report(i % 2 === 0 ? a : b, c.id, `203.0.113.${i + 1}`), report(i % 2 === 0 ? b : a, c.id, `203.0.113.${i + 1}`, 'abuse')]))
    const codes = answers.map((r) => r.statusCode)
    t.ok(codes.every((code) => code === 202 || code === 404), `round ${round}: each report is a 202, or a 404 once requeued (${codes.join(' ')})`)
    t.ok([0, 1, 2, 3, 4, 5].every((i) => codes[2 * i] === 202 || codes[2 * i + 1] === 202), `round ${round}: every client was heard once at least`)
    const now = (await b.as('moderator', { method: 'GET', url: `/v1/comments/${c.id as number}` })).json()
    t.match(now, { reportCount: 6, status: 'pending' }, `round ${round}: six clients counted, back to pending`)
    t.equal(await commentCount(b, 'reported'), before - 1, `round ${round}: out of the count once`)
    const removed = (await eventLog(a, '&type=comment.removed')).filter((e) => e.data.id === c.id)
    t.equal(removed.length, 1, `round ${round}: comment.removed once`)
  }
})

t.test('two processes: comments to several articles at once, from several clients, all counted', async (t) => {
  // Each process's batches span the three articles and its flood-control counts the four clients, in
  // opposite orders on A and B: both lock articles, and counters, in one order (by id, by key), so
  // neither can wait for the other in a cycle (a deadlock would be a 500 here, though a race of these few
  // rounds is not sure to meet one).
  const [a, b] = await twoProcesses(t, { commentModeration: 'none', commentRateLimit: 100_000 })
  const slugs = ['north', 'middle', 'south']
  const ids: number[] = []
  for (const slug of slugs) ids.push((await createArticle(a, { title: slug, slug, status: 'published' })).id as number)
  const clients = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4']
  const posted = new Map(slugs.map((s) => [s, 0]))
  for (let round = 0; round < ROUNDS; round++) {
    const posts = Array.from({ length: 12 }, (_, i) => [
      { app: a, slug: slugs[i % 3]!, from: clients[i % 4]!, body: `A ${round}.${i}` },
      { app: b, slug: slugs[2 - (i % 3)]!, from: clients[3 - (i % 4)]!, body: `B ${round}.${i}` }
    ]).flat()
    const results = await Promise.all(posts.map((p) => p.app.inject({
      method: 'POST',
      url: `/v1/articles/${p.slug}/comments`,
      remoteAddress: p.from,
      payload: { authorName: 'R', authorEmail: `r${round}@example.org`, body: p.body }
    })))
    t.same(results.map((r) => r.statusCode), Array(posts.length).fill(201), `round ${round}: every post is a 201`)
    for (const p of posts) posted.set(p.slug, posted.get(p.slug)! + 1)
    for (const slug of slugs) t.equal(await commentCount(round % 2 === 0 ? a : b, slug), posted.get(slug), `round ${round}: ${slug}'s comment_count is exact`)
  }
  const { rows } = await a.pg!.db.execute<{ article: number, n: number }>(sql`SELECT article_id AS article, count(*)::int AS n FROM comments GROUP BY article_id ORDER BY article_id`)
  t.same(rows, ids.map((id, i) => ({ article: id, n: posted.get(slugs[i]!) })), 'as many rows as answers, on each article')
  const submitted = (await eventLog(a, '&type=comment.submitted')).map((e) => e.data.id as number)
  t.equal(new Set(submitted).size, [...posted.values()].reduce((x, y) => x + y), 'one comment.submitted each')

  // Both processes now remember the three articles (reusableTargets, src/comments/repository.ts): each
  // commented on all three in the first round. The rounds above pass as well without that memory; here its
  // use is seen in the statements sent (statementsSent sees both processes' pools, which are in this one):
  // a burst from both to all three looks none of them up by slug, each comment starting from its
  // process's memory, and every count stays exact.
  const burst = Array.from({ length: 12 }, (_, i) => ({ app: i % 2 === 0 ? a : b, slug: slugs[i % 3]! }))
  const { result: burstAnswers, sent } = await statementsSent(async () => await Promise.all(burst.map((p, i) =>
    postComment(p.app, p.slug, { authorName: 'R', authorEmail: 'burst@example.org', body: `Burst ${i}` }))))
  t.same(burstAnswers.map((r) => r.statusCode), Array(burst.length).fill(201), 'every comment of the burst is a 201')
  t.ok(sent.some(isTargetsLock), 'their writes were seen')
  t.equal(sent.filter(isLookup).length, 0, 'and not one comment looked its article up: each started from its memory')
  for (const p of burst) posted.set(p.slug, posted.get(p.slug)! + 1)
  for (const slug of slugs) t.equal(await commentCount(b, slug), posted.get(slug), `after the burst, ${slug}'s comment_count is exact`)

  // A changes the articles without B knowing: B's next comment to each answers as a fresh read would. Its
  // statements show the path: the write's locking read of the article from B's memory first ('lock'),
  // which finds the article changed (StaleRead), then the lookup by slug that the answer comes from.
  // Without the memory, the lookup would come first and alone.
  const onB = async (slug: string, body: string): Promise<{ res: LightMyRequestResponse, steps: string[] }> => {
    const { result, sent } = await statementsSent(async () => await postComment(b, slug, { authorName: 'R', authorEmail: 'late@example.org', body }))
    return { res: result, steps: sent.flatMap((q) => isLookup(q) ? ['lookup'] : isTargetsLock(q) ? ['lock'] : []) }
  }
  const etag = async (slug: string) => (await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })).headers.etag as string
  const patch = async (slug: string, payload: Record<string, unknown>) =>
    t.equal((await a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, headers: { 'if-match': await etag(slug) }, payload })).statusCode, 200)
  await patch('north', { commentsOpen: false })
  const closed = await onB('north', 'Closed on A')
  assertProblem(t, closed.res, 409, 'comments-closed')
  t.same(closed.steps, ['lock', 'lookup'], 'closed: from memory to the write, which found it changed, then a fresh read')
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/articles/south', headers: { 'if-match': await etag('south') } })).statusCode, 204)
  const deleted = await onB('south', 'Deleted on A')
  assertProblem(t, deleted.res, 404, 'not-found')
  t.same(deleted.steps, ['lock', 'lookup'], 'deleted: from memory to the write, which found it gone, then a fresh read')
  await patch('middle', { slug: 'centre' })
  const taken = await createArticle(a, { title: 'The new middle', slug: 'middle', status: 'published' })
  const moved = await onB('middle', 'To the new one')
  t.equal(moved.res.statusCode, 201, moved.res.body)
  t.same(moved.steps, ['lock', 'lookup', 'lock'], 'slug moved: from memory to the write, which found the slug gone, then a fresh read and its write')
  const stored = (await a.pg!.db.execute<{ article: number }>(sql`SELECT article_id AS article FROM comments WHERE id = ${moved.res.json().id as number}`)).rows[0]
  t.equal(stored?.article, taken.id, 'to the article that has the slug now, not the one B remembered')
})

t.test('two processes: an article closed on A while comments B started from its memory wait to be written', async (t) => {
  // B remembers the article as open. Its comments check it as remembered and wait for the event log's
  // order lock, which the test holds, and for which A's close waits first: when the lock is let go, the
  // close commits before B's writes, which find the article closed under its row lock (StaleRead). Each
  // comment is then read again and answered as a fresh read says, 409, and none is written. Who waits for
  // the lock is read from pg_stat_activity, by statement, not counted: each process's scheduler of due
  // publications takes the lock too, every second, and its upkeep every 30 seconds.
  const [a, b] = await twoProcesses(t, { commentModeration: 'none', commentRateLimit: 100_000 })
  await createArticle(a, { title: 'Pier', slug: 'pier', status: 'published' })
  const first = await postComment(b, 'pier', { authorName: 'R', authorEmail: 'r@example.org', body: 'Before' })
  t.equal(first.statusCode, 201, 'B read pier, and remembers it')
  const before = await commentCount(a, 'pier')

  // Closed rather than put back in the pool at the end: should the test fail while it holds the lock, the
  // lock goes with it, and nothing waits for it.
  const other = await a.pg!.db.$client.connect()
  t.teardown(() => { other.release(true) })
  /**
   * Until a statement like `pattern` (and not like `unlike`) waits for the order lock. Asked on a connection
   * of its own: a transaction sees pg_stat_activity's statements as they were at its first look.
   */
  const waitsForLock = async (who: string, pattern: string, unlike = ''): Promise<void> => {
    for (let waited = 0; ; waited += 10) {
      const { rows: [row] } = await a.pg!.db.$client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE $1 AND ($2 = '' OR query NOT LIKE $2)`, [pattern, unlike])
      if (row!.n > 0) return
      if (waited > 10_000) throw new Error(`${who} never waited for the order lock`)
      await sleep(10)
    }
  }
  await other.query('BEGIN')
  await other.query('SELECT pg_advisory_xact_lock($1)', [EVENT_LOG_LOCK])
  // An article write's lock statement declares its keys; a comment batch's also draws comment ids. The
  // upkeep's settle sends the article write's statement too: should it be the one seen, the close, sent at
  // the same time, is given a moment more to queue.
  const closing = a.as('editor', { method: 'PATCH', url: '/v1/articles/pier', payload: { commentsOpen: false } })
  await waitsForLock('the close', '%set_config(%', '%nextval(%')
  await sleep(100)
  const { result: answers, sent } = await statementsSent(async () => {
    const posts = Array.from({ length: 8 }, (_, i) => postComment(b, 'pier', { authorName: 'R', authorEmail: 'r@example.org', body: `Meanwhile ${i}` }))
    await waitsForLock("B's first comment", '%nextval(pg_get_serial_sequence(%')
    // The others check the article as remembered and queue behind it, in B: far more time than they need.
    await sleep(1_000)
    await other.query('COMMIT')
    return await Promise.all(posts)
  })
  t.equal((await closing).statusCode, 200, 'the close')
  for (const res of answers) assertProblem(t, res, 409, 'comments-closed')
  const steps = sent.flatMap((q) => isLookup(q) ? ['lookup'] : isTargetsLock(q) ? ['lock'] : [])
  t.equal(steps[0], 'lock', 'the comments started from B\'s memory: a write came before any lookup')
  t.equal(steps.filter((step) => step === 'lookup').length, answers.length, 'then each looked its article up once, after its write found it closed')
  t.equal(await commentCount(a, 'pier'), before, 'none counted')
  const { rows: [stored] } = await a.pg!.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM comments c JOIN articles p ON p.id = c.article_id WHERE p.slug = 'pier'`)
  t.equal(stored?.n, 1, 'none written')
})

t.test('two processes: an editor closes the comments of an article that keeps getting them', async (t) => {
  // An article's ETag covers its comment count. An edit without If-Match reads the article, then checks
  // under its row lock that it is as read; comparing ETags, every comment committed in between made the
  // edit start again, and after five tries it was a 409. Here a comment from B lands between each of the
  // edit's reads and its transaction: before every statement that opens an article write (its order lock
  // declaring the article's keys; a comment batch's also draws comment ids; a later declaration in the same
  // transaction, sent while the lock is held, would make B's comment wait for it), the test posts one and
  // waits for its answer. The edit must land on its first try; with If-Match it is a 412, as the client asked.
  const [a, b] = await twoProcesses(t, { commentModeration: 'none', commentRateLimit: 100_000 })
  const flood = await createArticle(a, { title: 'Flood', slug: 'flood', status: 'published' })
  const articleKey = dependencyKeys.article(flood.id as number)
  t.equal((await postComment(b, 'flood', { authorName: 'R', authorEmail: 'r@example.org', body: 'First' })).statusCode, 201)

  let landed = 0
  let armed = false
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const q = args[0] as { text?: string, values?: unknown[] } | string
    const text = typeof q === 'string' ? q : q.text ?? ''
    // The edit's, by the keys it declares: the upkeep's settle of counts opens the same statement, declaring none.
    const values = Array.isArray(args[1]) ? args[1] : typeof q === 'string' ? [] : q.values ?? []
    const declaresFlood = values.some((v) => typeof v === 'string' && v.split(' ').some((key) => key.endsWith(articleKey)))
    if (armed && landed < 10 && declaresFlood && text.includes('pg_advisory_xact_lock(') && text.includes('set_config(') && !text.includes('nextval(')) {
      armed = false
      return postComment(b, 'flood', { authorName: 'R', authorEmail: 'r@example.org', body: `Meanwhile ${landed}` })
        .then((res) => { if (res.statusCode === 201) landed++; armed = true; return (query as (...a: unknown[]) => Promise<unknown>).apply(this, args) })
    }
    return (query as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof query
  t.teardown(() => { pg.Client.prototype.query = query })

  const etag = (await a.inject({ method: 'GET', url: '/v1/articles/flood' })).headers.etag as string
  armed = true
  const stale = await a.as('editor', { method: 'PATCH', url: '/v1/articles/flood', headers: { 'if-match': etag }, payload: { title: 'Flood, updated' } })
  armed = false
  t.equal(stale.statusCode, 412, 'with If-Match, a comment since the client\'s read is a change of the representation')
  t.equal(landed, 1, 'a comment landed before that write\'s transaction')

  landed = 0
  armed = true
  const anyTag = await a.as('editor', { method: 'PATCH', url: '/v1/articles/flood', headers: { 'if-match': '*' }, payload: { title: 'Flood, retitled' } })
  armed = false
  t.equal(anyTag.statusCode, 200, '`If-Match: *` asks only that the article exist: it lands too')
  t.equal(landed, 1, 'on its first try')

  landed = 0
  armed = true
  const close = await a.as('editor', { method: 'PATCH', url: '/v1/articles/flood', payload: { commentsOpen: false } })
  armed = false
  t.equal(close.statusCode, 200, `without If-Match, the close lands${close.statusCode === 200 ? '' : ` (${close.body.slice(0, 200)})`}`)
  t.equal(landed, 1, 'on its first try, a comment having landed between its read and its transaction')
  t.equal(close.json().commentsOpen, false)
  t.equal(close.json().commentCount, 4, 'the answer counts the comments that landed meanwhile')
  const after = await postComment(b, 'flood', { authorName: 'R', authorEmail: 'r@example.org', body: 'Too late' })
  t.equal(after.statusCode, 409, 'comments are closed')
})
