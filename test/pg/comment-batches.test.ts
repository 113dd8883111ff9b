// PostgreSQL writes the comments that wait for a transaction together (group commit, src/comments/
// repository.pg.ts): one order lock, ids drawn together, one COMMIT. What a batch must still do: each
// comment written once and counted, a comment whose write fails failing alone (the batch is rolled back and
// each of its comments written again alone), a comment found stale checked again on its own, and a batch
// whose COMMIT fails never written again.
//
// Which comments form a batch is made certain here: another connection holds the event log's order lock,
// the first comment is posted and waits for it (alone: nothing was queued before it), the others are
// posted and queue behind it, and then the lock is let go. They form one batch.
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import type pg from 'pg'
import t, { type Test } from 'tap'
import { MAX_BATCH } from '../../src/comments/repository.pg.js'
import { EVENT_LOG_LOCK } from '../../src/events/outbox.pg.js'
import { build, createArticle, eventLog, postComment, type TestApp } from '../helper.js'

/** How long the queued comments get to reach the queue (their article's lookup and checks): far more than they need. */
const QUEUE_MS = 1_000

/**
 * Posts `first`, waits until it waits for the order lock, posts `rest`, lets them queue, runs `meanwhile`
 * on the lock's connection, and lets go: `first` is written alone, `rest` as one batch.
 */
async function postQueued (t: Test, a: TestApp, first: () => Promise<LightMyRequestResponse>, rest: Array<() => Promise<LightMyRequestResponse>>,
  meanwhile: (other: pg.PoolClient) => Promise<unknown> = async () => undefined): Promise<LightMyRequestResponse[]> {
  const other = await a.pg!.db.$client.connect()
  t.teardown(() => other.release())
  await other.query('BEGIN')
  await other.query('SELECT pg_advisory_xact_lock($1)', [EVENT_LOG_LOCK])
  const alone = first()
  for (let waited = 0; ; waited += 10) {
    const { rows: [row] } = await other.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    if (row!.n > 0) break
    if (waited > 10_000) throw new Error('the first comment never waited for the order lock')
    await sleep(10)
  }
  const queued = rest.map((post) => post())
  await sleep(QUEUE_MS)
  await meanwhile(other)
  await other.query('COMMIT')
  return Promise.all([alone, ...queued])
}

const comment = (a: TestApp, slug: string, body: string, i: number) => () =>
  postComment(a, slug, { authorName: `Reader ${i}`, authorEmail: `r${i}@example.com`, body })

/** How many transactions wrote the comments with these bodies (their rows' xmin). */
async function writers (a: TestApp, bodies: string[]): Promise<number> {
  const { rows: [row] } = await a.pg!.db.execute<{ n: number }>(sql`SELECT count(DISTINCT xmin::text)::int AS n FROM comments WHERE body = ANY(string_to_array(${bodies.join('\n')}, E'\n'))`)
  return row!.n
}

const commentCount = async (a: TestApp, slug: string): Promise<number> => (await a.inject({ method: 'GET', url: `/v1/articles/${slug}` })).json().commentCount

t.test('comments posted at once: written together, and one that fails fails alone', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 }, { engine: 'postgres' })
  const db = a.pg!.db
  const first = await createArticle(a, { title: 'First', body: 'Text.', status: 'published' })
  const second = await createArticle(a, { title: 'Second', body: 'Text.', status: 'published' })
  // A comment PostgreSQL refuses in the middle of its insert (as a bug or bad data would): its
  // transaction aborts, with the rest of its batch.
  await db.execute(sql.raw(`
    CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
    CREATE TRIGGER refuse_boom BEFORE INSERT ON comments FOR EACH ROW WHEN (NEW.body = 'boom') EXECUTE FUNCTION refuse_boom();`))
  const before = (await eventLog(a)).length

  const bodies = ['one', 'two', 'boom', 'three', 'four', 'five']
  const posts = bodies.map((body, i) => comment(a, i % 2 === 0 ? first.slug : second.slug, body, i))
  const responses = await postQueued(t, a, posts[0]!, posts.slice(1))
  t.same(responses.map((r) => r.statusCode), [201, 201, 500, 201, 201, 201], 'only the refused comment fails')
  const stored = (await db.execute<{ body: string }>(sql`SELECT body FROM comments ORDER BY id`)).rows
  t.same(stored.map((r) => r.body).sort(), ['five', 'four', 'one', 'three', 'two'], 'each stored once; the refused one not at all')
  t.equal(await writers(a, ['two', 'three', 'four', 'five']), 4, 'its four neighbours written again, each alone')
  t.equal(await commentCount(a, first.slug), 2)
  t.equal(await commentCount(a, second.slug), 3)
  const events = (await eventLog(a)).slice(before)
  t.equal(events.filter((e) => e.type === 'comment.submitted').length, 5, 'one comment.submitted each')

  const more = Array.from({ length: 8 }, (_, i) => comment(a, first.slug, `More ${i}`, 10 + i))
  t.same((await postQueued(t, a, more[0]!, more.slice(1))).map((r) => r.statusCode), Array(8).fill(201))
  t.equal(await writers(a, Array.from({ length: 8 }, (_, i) => `More ${i}`)), 2, '8 comments: the first alone, 7 in one transaction')
  t.equal(await commentCount(a, first.slug), 10)
})

t.test('more comments than one transaction takes: written MAX_BATCH at a time, each once', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 }, { engine: 'postgres' })
  const article = await createArticle(a, { title: 'Busy', body: 'Text.', status: 'published' })
  const before = (await eventLog(a)).length
  const queued = MAX_BATCH + 8
  const bodies = Array.from({ length: queued + 1 }, (_, i) => `Busy ${i}`)
  const posts = bodies.map((body, i) => comment(a, article.slug, body, i))
  t.same((await postQueued(t, a, posts[0]!, posts.slice(1))).map((r) => r.statusCode), Array(queued + 1).fill(201))
  // Each transaction's comments, transactions in the order of their first ids: the first comment alone, then a full batch, then the rest.
  const { rows } = await a.pg!.db.execute<{ n: number, bodies: string[] }>(sql`
    SELECT count(*)::int AS n, array_agg(body ORDER BY id) AS bodies FROM comments GROUP BY xmin::text ORDER BY min(id)`)
  t.same(rows.map((r) => r.n), [1, MAX_BATCH, queued - MAX_BATCH], 'one alone, a full batch, the rest')
  t.same(rows[0]!.bodies, [bodies[0]], 'the first, alone')
  t.same(rows.flatMap((r) => r.bodies).sort(), [...bodies].sort(), 'each comment once')
  t.equal(await commentCount(a, article.slug), queued + 1)
  const events = (await eventLog(a)).slice(before)
  t.equal(events.filter((e) => e.type === 'comment.submitted').length, queued + 1, 'one comment.submitted each')
})

t.test('a batch whose COMMIT fails answers each of its comments with an error and writes none again', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 }, { engine: 'postgres' })
  const db = a.pg!.db
  const article = await createArticle(a, { title: 'Article', body: 'Text.', status: 'published' })
  // Checked at COMMIT (a deferred constraint trigger): the COMMIT fails, as a lost connection's may, after
  // which Gazette cannot know whether it committed, so writing the comments again could store them twice.
  await db.execute(sql.raw(`
    CREATE FUNCTION refuse_late() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'refused at commit by the test'; END $$;
    CREATE CONSTRAINT TRIGGER refuse_late AFTER INSERT ON comments DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW WHEN (NEW.body = 'late') EXECUTE FUNCTION refuse_late();`))
  const posts = ['alone', 'b', 'late', 'c'].map((body, i) => comment(a, article.slug, body, i))
  const responses = await postQueued(t, a, posts[0]!, posts.slice(1))
  t.same(responses.map((r) => r.statusCode), [201, 500, 500, 500])
  t.same((await db.execute<{ body: string }>(sql`SELECT body FROM comments`)).rows.map((r) => r.body), ['alone'], 'none of the batch stored')
  t.equal(await commentCount(a, article.slug), 1)
})

t.test('a comment found stale inside a batch is checked again alone; the others of its batch are written', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 }, { engine: 'postgres' })
  const open = await createArticle(a, { title: 'Open', body: 'Text.', status: 'published' })
  const closing = await createArticle(a, { title: 'Closing', body: 'Text.', status: 'published' })
  // The batch's comments read their articles before the lock is let go; the closing article's comments
  // close in between, so its comment is stale in the batch.
  const responses = await postQueued(t, a, comment(a, open.slug, 'Comment 0', 0), [comment(a, open.slug, 'Comment 1', 1), comment(a, closing.slug, 'Comment 2', 2)],
    (other) => other.query('UPDATE articles SET comments_open = false WHERE id = $1', [closing.id]))
  t.same(responses.map((r) => r.statusCode), [201, 201, 409], 'the closed article\'s comment: stale in the batch, then 409 on its own')
  t.match(responses[2]!.json(), { type: /comments-closed/ })
  const bodies = (await a.pg!.db.execute<{ body: string }>(sql`SELECT body FROM comments ORDER BY id`)).rows.map((r) => r.body)
  t.same(bodies, ['Comment 0', 'Comment 1'])
  t.equal(await commentCount(a, open.slug), 2)
})

t.test('one batch decides each comment by its own rule: the first-comment rule, a publication come due, several articles', async (t) => {
  // The scheduler does not tick in this test's time frame: the batch itself announces the due publication.
  const a = await build(t, { commentModeration: 'first', commentRateLimit: 1000 }, { engine: 'postgres', workers: { pollMs: 60_000 } })
  const now = await createArticle(a, { title: 'Now', body: 'Text.', status: 'published' })
  const soon = await createArticle(a, { title: 'Soon', body: 'Text.', status: 'published', publishedAt: '2026-07-08T09:30:00.000Z' })
  const known = await postComment(a, now.slug, { authorName: 'Ann', authorEmail: 'Ann@example.org', body: 'Earlier.' })
  t.equal((await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${known.json().id}`, payload: { status: 'approved' } })).statusCode, 200)
  const before = (await eventLog(a)).length

  const post = (slug: string, name: string, body: string) => () => postComment(a, slug, { authorName: name, authorEmail: `${name.toLowerCase()}@example.org`, body })
  const responses = await postQueued(t, a, post(now.slug, 'Zed', 'alone'), [
    // Posted half an hour later: "Soon" is public, and due, to these comments.
    () => { a.clock.advance(31 * 60 * 1000); return post(soon.slug, 'Bob', 'b1')() },
    post(soon.slug, 'Ann', 'b2'),
    post(now.slug, 'Cat', 'b3'),
    post(now.slug, 'Ann', 'b4')
  ])
  t.same(responses.map((r) => r.statusCode), [201, 201, 201, 201, 201])
  t.same(responses.map((r) => r.json().status), ['pending', 'pending', 'approved', 'pending', 'approved'], 'Ann is known (whatever the case of her email); the others are not')
  t.equal(await writers(a, ['b1', 'b2', 'b3', 'b4']), 1, 'the four in one transaction')
  t.equal(await commentCount(a, now.slug), 2, 'her earlier comment and this one')
  t.equal(await commentCount(a, soon.slug), 1)
  // The four reach the queue in whatever order their requests finish checking; their ids are drawn in that order.
  const [, ...batch] = responses.map((r) => r.json() as { id: number, body: string, articleSlug: string })
  batch.sort((x, y) => x.id - y.id)
  const events = (await eventLog(a)).slice(before).map((e) => [e.type, e.data.slug ?? e.data.articleSlug, e.data.id ?? null])
  t.same(events, [
    ['comment.submitted', 'now', responses[0]!.json().id],
    ['article.published', 'soon', soon.id],
    ...batch.flatMap((c) => c.body === 'b2' || c.body === 'b4'
      ? [['comment.submitted', c.articleSlug, c.id], ['comment.approved', c.articleSlug, c.id]]
      : [['comment.submitted', c.articleSlug, c.id]])
  ], 'the publication that came due first, then each comment\'s events in the order of their ids')
})
