// A comment starts from its article as this process last read it, when that article took comments then
// (reusableTargets, src/comments/repository.ts), saving the lookup: a round trip on PostgreSQL, the row's
// overflow pages on SQLite. Nothing invalidates that memory; what keeps every answer a fresh one is that
// the write checks the article again inside its transaction, and that every answer other than success is
// decided again from a fresh read (src/comments/routes.ts). Here each change that makes the remembered
// article wrong is made through the API, which tells that memory nothing, and the next comment must get
// the answer a fresh read gives. On both engines.
import { sql } from 'drizzle-orm'
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { assertProblem, build, createArticle, postComment, type TestApp } from '../helper.js'
import { REUSABLE_TARGETS } from '../../src/comments/repository.js'

/** Counts the app's lookups of an article by slug (findTarget), from now on. */
function counter (a: TestApp): { take: () => number } {
  const comments = a.app.comments
  const findTarget = comments.findTarget.bind(comments)
  let n = 0
  comments.findTarget = async (slug) => { n++; return await findTarget(slug) }
  return { take: () => { const taken = n; n = 0; return taken } }
}

/** An editor's PATCH of the article at `slug`, under its current ETag. */
async function patch (a: TestApp, slug: string, payload: Record<string, unknown>): Promise<void> {
  const current = await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })
  const res = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, headers: { 'if-match': current.headers.etag as string }, payload })
  if (res.statusCode !== 200) throw new Error(`PATCH ${slug}: ${res.statusCode} ${res.body}`)
}

/** The article a comment is stored under. */
const articleIdOf = async (a: TestApp, id: number): Promise<number> => a.pg === undefined
  ? (a.app.db.$client.prepare('SELECT article_id FROM comments WHERE id = ?').pluck().get(id) as number)
  : (await a.pg.db.execute<{ articleId: number }>(sql`SELECT article_id AS "articleId" FROM comments WHERE id = ${id}`)).rows[0]!.articleId

let readers = 0
const reader = (body: string, extra: Record<string, unknown> = {}) => ({ authorName: 'Reader', authorEmail: `r${++readers}@example.com`, body, ...extra })

/** The slug of the article a 201's comment went to. */
const articleOf = (res: LightMyRequestResponse): string => {
  if (res.statusCode !== 201) throw new Error(`expected 201: ${res.statusCode} ${res.body}`)
  return res.json().articleSlug as string
}

t.test('a comment reuses its article as last read, and every change to it gets a fresh answer', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  const lookups = counter(a)
  const harbour = await createArticle(a, { title: 'Harbour', slug: 'harbour', body: 'Text.', status: 'published' })
  const quay = await createArticle(a, { title: 'Quay', slug: 'quay', body: 'Text.', status: 'published' })

  t.equal(articleOf(await postComment(a, 'harbour', reader('First'))), 'harbour')
  t.equal(lookups.take(), 1, 'the first comment reads its article')
  t.equal(articleOf(await postComment(a, 'harbour', reader('Second'))), 'harbour')
  t.equal(articleOf(await postComment(a, 'harbour', reader('Third'))), 'harbour')
  t.equal(lookups.take(), 0, 'the next ones start from it')

  await t.test('comments closed: 409 comments-closed, as a fresh read says', async (t) => {
    await patch(a, 'harbour', { commentsOpen: false })
    assertProblem(t, await postComment(a, 'harbour', reader('Too late')), 409, 'comments-closed')
    t.equal(lookups.take(), 1, 'read again after the write found it changed')
    await patch(a, 'harbour', { commentsOpen: true })
    t.equal(articleOf(await postComment(a, 'harbour', reader('Open again'))), 'harbour')
    lookups.take()
  })

  await t.test('unpublished: 404; scheduled again: 409 for an editor', async (t) => {
    t.equal(articleOf(await postComment(a, 'harbour', reader('Before'))), 'harbour')
    await patch(a, 'harbour', { status: 'draft' })
    assertProblem(t, await postComment(a, 'harbour', reader('Into a draft')), 404, 'not-found')
    await patch(a, 'harbour', { status: 'published', publishedAt: new Date(a.clock.now + 3_600_000).toISOString() })
    assertProblem(t, await a.as('editor', { method: 'POST', url: '/v1/articles/harbour/comments', payload: reader('Too early') }), 409, 'comments-closed')
    await patch(a, 'harbour', { publishedAt: new Date(a.clock.now - 60_000).toISOString() })
    t.equal(articleOf(await postComment(a, 'harbour', reader('Published again'))), 'harbour')
  })

  await t.test('still published, its date moved into the future: 404, and 409 for an editor', async (t) => {
    t.equal(articleOf(await postComment(a, 'harbour', reader('Remembered as published'))), 'harbour')
    lookups.take()
    t.equal(articleOf(await postComment(a, 'harbour', reader('From memory'))), 'harbour')
    t.equal(lookups.take(), 0, 'remembered')
    // Only the date changes: status and comments stay as remembered, so only the write's check of the
    // date can find out.
    await patch(a, 'harbour', { publishedAt: new Date(a.clock.now + 3_600_000).toISOString() })
    assertProblem(t, await postComment(a, 'harbour', reader('Before its time')), 404, 'not-found')
    t.equal(lookups.take(), 1, 'read again after the write found the date changed')
    assertProblem(t, await a.as('editor', { method: 'POST', url: '/v1/articles/harbour/comments', payload: reader('Before its time, as an editor') }), 409, 'comments-closed')
    await patch(a, 'harbour', { publishedAt: new Date(a.clock.now - 60_000).toISOString() })
    t.equal(articleOf(await postComment(a, 'harbour', reader('On time'))), 'harbour')
    lookups.take()
  })

  await t.test('the slug given to another article: the comment goes to the article that has it now', async (t) => {
    const onQuay = await postComment(a, 'quay', reader('On the quay'))
    t.equal(articleOf(onQuay), 'quay')
    t.equal(articleOf(await postComment(a, 'harbour', reader('Remembered'))), 'harbour')
    await patch(a, 'harbour', { slug: 'old-harbour' })
    await patch(a, 'quay', { slug: 'harbour' })
    // A reply to a comment of the article that now has the slug: from the remembered article it would be
    // a parent of another article (422).
    const reply = await postComment(a, 'harbour', reader('A reply', { parentId: onQuay.json().id }))
    t.equal(reply.statusCode, 201, reply.body)
    t.equal(await articleIdOf(a, reply.json().id), quay.id, 'on the article that has the slug now')
    // And a comment without a parent, after the slugs move back.
    await patch(a, 'harbour', { slug: 'quay' })
    await patch(a, 'old-harbour', { slug: 'harbour' })
    const moved = await postComment(a, 'harbour', reader('Back home'))
    t.equal(articleOf(moved), 'harbour')
    t.equal(await articleIdOf(a, moved.json().id), harbour.id, 'on the article that has the slug now')
  })

  await t.test('a deleted article: 404', async (t) => {
    t.equal(articleOf(await postComment(a, 'quay', reader('Last words'))), 'quay')
    const current = await a.as('editor', { method: 'GET', url: '/v1/articles/quay' })
    const res = await a.as('editor', { method: 'DELETE', url: '/v1/articles/quay', headers: { 'if-match': current.headers.etag as string } })
    t.equal(res.statusCode, 204, res.body)
    assertProblem(t, await postComment(a, 'quay', reader('Gone')), 404, 'not-found')
  })
})

t.test('the memory forgets the article read longest ago; a read makes an article the newest again', async (t) => {
  // The memory holds REUSABLE_TARGETS articles and, when full, forgets the one whose last read is oldest.
  // Every read of an article by its slug (findTarget: its thread, the moderators' list of its comments, a
  // comment's fresh lookup) makes it the newest again. Without that, an article whose thread is read all
  // the time would still be forgotten once REUSABLE_TARGETS others had been read after its first read, and
  // its comments would pay the lookup again. The size is a constant, filled here at its real size: a
  // lookup by slug per article, a few seconds.
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  const lookups = counter(a)
  await createArticle(a, { title: 'Old', slug: 'old', body: 'Text.', status: 'published' })
  await createArticle(a, { title: 'Kept', slug: 'kept', body: 'Text.', status: 'published' })
  // As many other published articles as the memory holds, made behind the API's back; announced, or each
  // comment's write would first announce thousands of publications.
  const at = a.clock.now - 60_000
  if (a.pg === undefined) {
    a.app.db.$client.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
      INSERT INTO articles (slug, title, body, body_html, status, published_at, created_at, updated_at, announced)
      SELECT 'other-' || i, 'Other ' || i, 'Text.', '<p>Text.</p>', 'published', ?, ?, ?, 1 FROM n`).run(REUSABLE_TARGETS, at, at, at)
  } else {
    await a.pg.db.execute(sql`INSERT INTO articles (slug, title, body, body_html, status, published_at, created_at, updated_at, announced)
      SELECT 'other-' || i, 'Other ' || i, 'Text.', '<p>Text.</p>', 'published', ${at}::bigint, ${at}::bigint, ${at}::bigint, true
      FROM generate_series(1, ${REUSABLE_TARGETS}) AS i`)
  }
  /** Reads the articles other-<from> to other-<to> by their slugs, in that order, as the routes do (findTarget). */
  const readOthers = async (from: number, to: number): Promise<void> => {
    let found = 0
    for (let i = from; i <= to; i++) if (await a.app.comments.findTarget(`other-${i}`)) found++
    t.equal(found, to - from + 1, `other-${from} to other-${to} read`)
    lookups.take()
  }

  // A comment to each of old and kept looks it up, which remembers it: old first.
  t.equal(articleOf(await postComment(a, 'old', reader('First on old'))), 'old')
  t.equal(articleOf(await postComment(a, 'kept', reader('First on kept'))), 'kept')
  t.equal(lookups.take(), 2, 'each looked up once')
  // Full: old and kept are the two read longest ago, old first.
  await readOthers(1, REUSABLE_TARGETS - 2)
  // kept's thread is read: kept becomes the newest read; old is still the oldest, other-1 next.
  const thread = await a.inject({ method: 'GET', url: '/v1/articles/kept/comments' })
  t.equal(thread.statusCode, 200, thread.body)
  lookups.take()
  // Two more articles read: the two read longest ago go, old and then other-1 (without the move, old and
  // then kept).
  await readOthers(REUSABLE_TARGETS - 1, REUSABLE_TARGETS)
  t.equal(a.app.comments.reusableTarget('other-1'), undefined, 'other-1 forgotten, after old')
  t.ok(a.app.comments.reusableTarget('other-2'), 'other-2 remembered: the memory holds REUSABLE_TARGETS, no fewer')

  t.equal(articleOf(await postComment(a, 'kept', reader('Kept, from memory'))), 'kept')
  t.equal(lookups.take(), 0, 'kept, read again after old, is still remembered')
  t.equal(articleOf(await postComment(a, 'old', reader('Old, looked up'))), 'old')
  t.equal(lookups.take(), 1, 'old, read longest ago, was forgotten: looked up again')
  t.equal(articleOf(await postComment(a, 'old', reader('Old, from memory'))), 'old')
  t.equal(lookups.take(), 0, 'and that lookup remembered it again')
})
