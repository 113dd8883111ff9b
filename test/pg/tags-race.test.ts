// Tags on PostgreSQL beyond one process's story (test/pg/tags.test.ts): the sweeper (src/tags/sweeper.pg.ts)
// removes a deleted tag's rows in slices and then the tag; two processes on one database renaming a tag with
// the same If-Match (while an article write retags) apply one rename, and a new name is taken once.
// `npm run race:pg` can run hundreds of rounds (RACE_ROUNDS).
import t from 'tap'
import { count, eq } from 'drizzle-orm'
import * as pgSchema from '../../src/db/pg/schema.js'
import { assertProblem, build, createArticle, eventLog } from '../helper.js'

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 10)

t.test('the sweeper removes a deleted tag from its articles in slices, then the tag', async (t) => {
  const a = await build(t, {}, { engine: 'postgres' })
  const db = a.pg!.db
  for (let i = 0; i < 5; i++) await createArticle(a, { title: `Story ${i}`, status: 'published', tags: ['Doomed', 'Kept'] })
  const [doomed] = await db.select({ id: pgSchema.tags.id }).from(pgSchema.tags).where(eq(pgSchema.tags.slug, 'doomed'))
  const rowsOf = async (tagId: number) => (await db.select({ n: count() }).from(pgSchema.articleTags).where(eq(pgSchema.articleTags.tagId, tagId)))[0]!.n
  // Through the repository, not DELETE /v1/tags, whose route wakes the upkeep's own sweep at once.
  const current = await a.app.tags.findBySlug('doomed', null)
  await a.app.tags.delete(current!, a.clock.now, null, () => true)
  assertProblem(t, await a.as('editor', { method: 'GET', url: '/v1/tags/doomed' }), 404, 'not-found')
  t.equal(await rowsOf(doomed!.id), 5, 'the delete only marks the tag')
  const { tagSweeperPg } = await import('../../src/tags/sweeper.pg.js')
  const sweeper = tagSweeperPg(db, 2)
  t.equal(await sweeper.step(), true)
  t.equal(await rowsOf(doomed!.id), 3, 'one slice of two rows')
  t.equal(await sweeper.step(), true)
  t.equal(await sweeper.step(), true)
  t.equal(await rowsOf(doomed!.id), 0)
  t.equal((await db.select().from(pgSchema.tags).where(eq(pgSchema.tags.id, doomed!.id))).length, 1, 'the tag row stays until a slice finds no row')
  t.equal(await sweeper.step(), true)
  t.equal((await db.select().from(pgSchema.tags).where(eq(pgSchema.tags.id, doomed!.id))).length, 0, 'then it goes')
  t.equal(await sweeper.step(), false, 'nothing left')
  const kept = await a.inject({ method: 'GET', url: '/v1/tags/kept' })
  t.equal(kept.json().articleCount, 5, 'the other tag is untouched')
  const [story] = (await a.inject({ method: 'GET', url: '/v1/articles?tag=kept&limit=1' })).json().data
  t.same(story.tags.map((x: { slug: string }) => x.slug), ['kept'])
  // A search by the kept tag's name still finds its articles (the search documents were left alone).
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles?q=kept&include=total' })).json().page.total, 5)
})

t.test('two processes: of two tag renames with the same If-Match one applies; a name is taken once', async (t) => {
  const a = await build(t, {}, { engine: 'postgres' })
  const b = await build(t, { postgres: { url: a.pg!.url, poolSize: 4 } }, { engine: 'postgres' })
  await createArticle(a, { title: 'Tagged', status: 'published', tags: ['Contested'] })
  const editor = { authorization: `Bearer ${a.tokens.editor}` }
  for (let round = 0; round < ROUNDS; round++) {
    const current = await b.inject({ method: 'GET', url: '/v1/tags/contested' })
    const etag = current.headers.etag as string
    // A rename on each process and an article write retagging on A, at once: no deadlock, one rename.
    const [fromA, fromB, article] = await Promise.all([
      a.inject({ method: 'PATCH', url: '/v1/tags/contested', headers: { ...editor, 'if-match': etag }, payload: { name: `A ${round}` } }),
      b.inject({ method: 'PATCH', url: '/v1/tags/contested', headers: { ...editor, 'if-match': etag }, payload: { name: `B ${round}` } }),
      a.inject({ method: 'PATCH', url: '/v1/articles/tagged', headers: editor, payload: { tags: ['contested', `Extra ${round}`] } })
    ])
    t.same([fromA.statusCode, fromB.statusCode].sort(), [200, 412], `round ${round}: one rename applies, the other is refused`)
    t.equal(article.statusCode, 200, `round ${round}: the article write went through`)
    const winner = fromA.statusCode === 200 ? fromA : fromB
    const now = await a.inject({ method: 'GET', url: '/v1/tags/contested' })
    t.same(now.json(), winner.json(), `round ${round}: the tag is the winner's`)
    // The same new name made on both processes at once: one 201, one 409.
    const made = await Promise.all([a, b].map((app) => app.inject({ method: 'POST', url: '/v1/tags', headers: editor, payload: { name: `Fresh ${round}` } })))
    t.same(made.map((r) => r.statusCode).sort(), [201, 409], `round ${round}: a name is taken once`)
  }
  const log = await eventLog(b, '&type=tag.updated')
  t.equal(log.filter((e) => e.data.slug === 'contested').length, ROUNDS, 'tag.updated once per applied rename')
})
