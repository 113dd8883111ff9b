// Revisions on both engines (src/revisions/repository.pg.ts beside src/revisions/repository.ts): an article's
// history — listed and paged, each revision read back (deltas, a full keyframe row, tags renamed or deleted
// since), compared, restored with If-Match — answers the same on SQLite and on PostgreSQL. With two
// processes on one PostgreSQL, a restore racing a PATCH with the same If-Match: exactly one applies.
import t, { type Test } from 'tap'
import { asc, eq } from 'drizzle-orm'
import * as pgSchema from '../../src/db/pg/schema.js'
import { assertProblem, build, createArticle, sameOnBothEngines, type Engine, type TestApp } from '../helper.js'

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 10)

type Answer = [number, unknown, unknown, string]
const answer = (res: { statusCode: number, headers: Record<string, unknown>, body: string }): Answer =>
  [res.statusCode, res.headers.etag ?? null, res.headers.link ?? null, res.body]

/** Every page of an article's history, `limit` a page, following nextCursor: each page's answer. */
async function historyPages (a: TestApp, slug: string, limit: number): Promise<{ revisions: number[], answers: Answer[] }> {
  const answers: Answer[] = []
  const revisions: number[] = []
  let cursor: string | null = null
  do {
    const res = await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}/revisions?limit=${limit}${cursor === null ? '&include=total' : `&cursor=${cursor}`}` })
    if (res.statusCode !== 200) throw new Error(`history of ${slug}: ${res.statusCode} ${res.body}`)
    answers.push(answer(res))
    const body = res.json() as { data: { revision: number }[], page: { nextCursor: string | null } }
    revisions.push(...body.data.map((r) => r.revision))
    cursor = body.page.nextCursor
  } while (cursor !== null)
  return { revisions, answers }
}

async function revisionStory (t: Test, engine: Engine): Promise<unknown[]> {
  const a = await build(t, {}, { engine })
  t.equal(a.app.storage.engine, engine)
  const seen: unknown[] = []
  const patch = async (payload: Record<string, unknown>, headers: Record<string, string> = {}) => {
    a.clock.advance(1000)
    const res = await a.as('editor', { method: 'PATCH', url: '/v1/articles/dam-opens', payload, headers })
    t.equal(res.statusCode, 200, `PATCH ${JSON.stringify(payload)}: ${res.body.slice(0, 200)}`)
    return res
  }

  // Five revisions: bodies changed (stored as deltas), tags and authors changed, a re-slug and back.
  await createArticle(a, { title: 'Dam opens', body: 'First paragraph.\n\nSecond paragraph.\n', tags: ['Energy', 'Rivers'], authors: ['Anna Petrova'], status: 'published' })
  await patch({ body: 'First paragraph, corrected.\n\nSecond paragraph.\n', tags: ['Energy'] })
  await patch({ title: 'Dam opens late', authors: ['Anna Petrova', 'Boris Okafor'], commentsOpen: false })
  await patch({ body: 'All new.\n', tags: ['Energy', 'Floods'], summary: 'Late.' })
  await patch({ status: 'draft' })

  // A tag renamed since: older revisions show its name now; a tag deleted since keeps the name it had.
  const energy = await a.as('editor', { method: 'PATCH', url: '/v1/tags/energy', payload: { name: 'Power' } })
  t.equal(energy.statusCode, 200)
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/tags/rivers' })).statusCode, 204)

  // The history: newest first, every page to the end (2 a page, then all), with totals and Links.
  const paged = await historyPages(a, 'dam-opens', 2)
  t.same(paged.revisions, [5, 4, 3, 2, 1], 'every revision once, newest first')
  t.equal(paged.answers.length, 3)
  const whole = await historyPages(a, 'dam-opens', 20)
  t.match(JSON.parse(whole.answers[0]![3]), { data: [{ revision: 5, author: 'test editor', changed: ['status'], restoredFrom: null }], page: { total: 5 } })
  seen.push(paged.answers, whole.answers)

  // Each revision as it was; an ETag that holds answers 304.
  const revs: Answer[] = []
  for (let n = 1; n <= 5; n++) revs.push(answer(await a.as('editor', { method: 'GET', url: `/v1/articles/dam-opens/revisions/${n}` })))
  const first = JSON.parse(revs[0]![3])
  t.match(first.article, { title: 'Dam opens', body: 'First paragraph.\n\nSecond paragraph.\n', tags: [{ slug: 'energy', name: 'Power' }, { slug: 'rivers', name: 'Rivers' }] })
  t.match(JSON.parse(revs[3]![3]).article, { title: 'Dam opens late', body: 'All new.\n', summary: 'Late.', authors: ['Anna Petrova', 'Boris Okafor'] })
  const cached = await a.as('editor', { method: 'GET', url: '/v1/articles/dam-opens/revisions/2', headers: { 'if-none-match': revs[1]![1] as string } })
  t.equal(cached.statusCode, 304)
  assertProblem(t, await a.as('editor', { method: 'GET', url: '/v1/articles/dam-opens/revisions/6' }), 404, 'not-found')
  assertProblem(t, await a.as('editor', { method: 'GET', url: '/v1/articles/no-such/revisions/1' }), 404, 'not-found')
  seen.push(revs, cached.statusCode)

  // Comparisons: with the one before, and across several.
  const diffs: Answer[] = []
  for (const url of ['4/diff', '4/diff?against=1', '1/diff?against=5', '5/diff?against=5']) {
    diffs.push(answer(await a.as('editor', { method: 'GET', url: `/v1/articles/dam-opens/revisions/${url}` })))
  }
  t.match(JSON.parse(diffs[1]![3]), { revision: 4, against: 1 })
  assertProblem(t, await a.as('editor', { method: 'GET', url: '/v1/articles/dam-opens/revisions/1/diff' }), 422, 'validation')
  seen.push(diffs)

  // Restore: a stale If-Match is a 412 and changes nothing; the current one makes revision 6 from 1.
  a.clock.advance(1000)
  const current = await a.as('editor', { method: 'GET', url: '/v1/articles/dam-opens' })
  const stale = await a.as('editor', { method: 'POST', url: '/v1/articles/dam-opens/revisions/1/restore', headers: { 'if-match': '"stale"' } })
  assertProblem(t, stale, 412, 'precondition-failed')
  t.equal((await a.as('editor', { method: 'GET', url: '/v1/articles/dam-opens' })).headers.etag, current.headers.etag, 'a 412 changes nothing')
  const restored = await a.as('editor', { method: 'POST', url: '/v1/articles/dam-opens/revisions/1/restore', headers: { 'if-match': current.headers.etag as string } })
  t.equal(restored.statusCode, 200)
  // Its tags come back: "rivers" (deleted since) is made again, "energy" is the tag now named Power.
  t.match(restored.json(), { revision: 6, title: 'Dam opens', status: 'published', tags: [{ slug: 'energy', name: 'Power' }, { slug: 'rivers', name: 'Rivers' }] })
  t.equal((await a.as('editor', { method: 'GET', url: '/v1/articles/dam-opens' })).headers.etag, restored.headers.etag, 'the answer\'s ETag is the article\'s')
  const again = await a.as('editor', { method: 'POST', url: '/v1/articles/dam-opens/revisions/6/restore' })
  t.equal(again.json().revision, 6, 'restoring what is current makes no revision')
  assertProblem(t, await a.as('editor', { method: 'POST', url: '/v1/articles/dam-opens/revisions/9/restore' }), 404, 'not-found')
  const after = await historyPages(a, 'dam-opens', 20)
  t.match(JSON.parse(after.answers[0]![3]).data[0], { revision: 6, restoredFrom: 1 })
  seen.push(stale.statusCode, answer(restored), answer(again), after.answers)

  // A restore of an older slug makes it the URL again; one taken by another article is a 409.
  await patch({ slug: 'dam-opens-late' })
  await createArticle(a, { title: 'Other', slug: 'dam-opens' })
  const taken = await a.as('editor', { method: 'POST', url: '/v1/articles/dam-opens-late/revisions/6/restore' })
  assertProblem(t, taken, 409, 'conflict')
  seen.push(answer(taken), (await historyPages(a, 'dam-opens-late', 20)).answers)
  return seen
}

t.test('revisions answer the same on SQLite and on PostgreSQL', (t) => sameOnBothEngines(t, 11, revisionStory))

t.test('a history past a keyframe reads back on PostgreSQL as on SQLite', (t) => sameOnBothEngines(t, 3, async (t, engine) => {
  const a = await build(t, {}, { engine })
  await createArticle(a, { title: 'Long story', body: 'v1\n' })
  // KEYFRAME_EVERY (src/revisions/body-delta.ts) is 100: revision 100 is kept whole, the others as deltas.
  for (let n = 2; n <= 103; n++) {
    a.clock.advance(1000)
    const res = await a.as('editor', { method: 'PATCH', url: '/v1/articles/long-story', payload: { body: `v${n}\n${'line\n'.repeat(n % 7)}` } })
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  }
  const read = async (n: number) => (await a.as('editor', { method: 'GET', url: `/v1/articles/long-story/revisions/${n}` })).json().article.body as string
  const bodies = [await read(1), await read(99), await read(100), await read(101), await read(103)]
  t.same(bodies.map((b) => b.split('\n')[0]), ['v1', 'v99', 'v100', 'v101', 'v103'])
  if (engine === 'postgres') {
    const [row] = await a.pg!.db.select({ kind: pgSchema.articleRevisions.kind, body: pgSchema.articleRevisions.body }).from(pgSchema.articleRevisions)
      .where(eq(pgSchema.articleRevisions.revision, 100))
    t.equal(row!.kind, 'full', 'revision 100 is a keyframe')
    t.ok(Buffer.isBuffer(row!.body), 'bodies are bytea, read as Buffers')
  }
  const diff = (await a.as('editor', { method: 'GET', url: '/v1/articles/long-story/revisions/101/diff?against=2' })).body
  return [bodies, diff, (await a.as('editor', { method: 'GET', url: '/v1/articles/long-story/revisions?limit=3&include=total' })).body]
}))

t.test('two processes: a restore racing a PATCH with the same If-Match, exactly one applies', async (t) => {
  const a = await build(t, {}, { engine: 'postgres' })
  const b = await build(t, { postgres: { url: a.pg!.url, poolSize: 4 } }, { engine: 'postgres' })
  const art = await createArticle(a, { title: 'Contested', body: 'Original.\n', tags: ['Start'] })
  t.equal((await a.as('editor', { method: 'PATCH', url: `/v1/articles/${art.slug as string}`, payload: { body: 'Second.\n', tags: ['Second'] } })).statusCode, 200)
  const as = (app: TestApp, method: 'PATCH' | 'POST', url: string, etag: string, payload?: Record<string, unknown>) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${a.tokens.editor}`, 'if-match': etag }, ...(payload === undefined ? {} : { payload }) })
  let applied = 0
  for (let round = 0; round < ROUNDS; round++) {
    const current = await b.as('editor', { method: 'GET', url: `/v1/articles/${art.slug as string}` })
    const etag = current.headers.etag as string
    const revision = current.json().revision as number
    // A revision whose state is not the current one (restoring the current state writes nothing, and
    // conflicts with nothing): revision 1 unless the article is as it was then, else revision 2.
    const target = current.json().body === 'Original.\n' ? 2 : 1
    const [restore, patch] = await Promise.all([
      as(a, 'POST', `/v1/articles/${art.slug as string}/revisions/${target}/restore`, etag),
      as(b, 'PATCH', `/v1/articles/${art.slug as string}`, etag, { body: `Round ${round}.\n`, tags: [`round-${round}`] })
    ])
    t.same([restore.statusCode, patch.statusCode].sort(), [200, 412], `round ${round}: one applies, the other is refused`)
    const winner = restore.statusCode === 200 ? restore : patch
    t.equal(winner.json().revision, revision + 1, `round ${round}: one revision more`)
    const now = await a.as('editor', { method: 'GET', url: `/v1/articles/${art.slug as string}` })
    t.same(now.json(), winner.json(), `round ${round}: the article is the winner's`)
    t.equal(now.json().body, restore.statusCode === 200 ? (target === 1 ? 'Original.\n' : 'Second.\n') : `Round ${round}.\n`)
    applied++
  }
  const rows = await a.pg!.db.select({ revision: pgSchema.articleRevisions.revision, restoredFrom: pgSchema.articleRevisions.restoredFrom })
    .from(pgSchema.articleRevisions).where(eq(pgSchema.articleRevisions.articleId, art.id)).orderBy(asc(pgSchema.articleRevisions.revision))
  t.same(rows.map((r) => r.revision), Array.from({ length: applied + 2 }, (_, i) => i + 1), 'one revision row per applied change, none lost or doubled')
  const list = await b.as('editor', { method: 'GET', url: `/v1/articles/${art.slug as string}/revisions?limit=100&include=total` })
  t.equal(list.json().page.total, applied + 2, 'the history lists them all')
})
