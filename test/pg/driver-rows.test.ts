// driverRows (src/db/pg/driver-rows.ts) runs a Drizzle select on node-postgres itself: its rows must be
// Drizzle's own, value for value (booleans, nulls, int8 timestamps, joined columns), and fields that are
// not the query's selection in its order must be refused.
import t from 'tap'
import { eq, getTableColumns, sql } from 'drizzle-orm'
import { date, integer, interval, pgTable, timestamp } from 'drizzle-orm/pg-core'
import { driverRows } from '../../src/db/pg/driver-rows.js'
import { articles, comments } from '../../src/db/pg/schema.js'
import { authorEdit, build, createArticle, postWithToken } from '../helper.js'

t.test('rows are those of Drizzle\'s own mapping', async (t) => {
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres' })
  const db = a.pg!.db
  const article = await createArticle(a, { title: 'Thread', status: 'published' })
  const first = await postWithToken(a, article.slug, { authorName: 'Ann', authorEmail: 'ann@example.com', authorUrl: 'https://ann.example.com/', body: 'First' })
  await postWithToken(a, article.slug, { authorName: 'Bo', authorEmail: 'bo@example.com', body: 'Second, no site' })
  t.equal((await authorEdit(a, first.id, first.editToken, { body: 'First, edited' })).statusCode, 200)

  const fields = { ...getTableColumns(comments), articleSlug: articles.slug, articleCommentsOpen: articles.commentsOpen, articlePublishedAt: articles.publishedAt }
  const query = () => db.select(fields).from(comments).innerJoin(articles, eq(articles.id, comments.articleId))
    .where(eq(comments.articleId, article.id)).orderBy(comments.id)
  const drizzle = await query()
  t.equal(drizzle.length, 2)
  t.ok(drizzle.some((r) => r.edited) && drizzle.some((r) => !r.edited), 'a boolean both ways')
  t.ok(drizzle.some((r) => r.authorUrl === null) && drizzle.some((r) => r.authorUrl !== null), 'a column null and not')
  t.equal(typeof drizzle[0]!.createdAt, 'number', 'an int8 timestamp as a number')
  t.strictSame(await driverRows<typeof drizzle[number]>(fields)(db.$client, query()), drizzle)
})

t.test('fields that are not the selection, in its order, are refused', async (t) => {
  const a = await build(t, {}, { engine: 'postgres' })
  const db = a.pg!.db
  const query = db.select({ id: comments.id, body: comments.body }).from(comments)
  await t.rejects(driverRows({ body: comments.body, id: comments.id })(db.$client, query), /not its selection: body is id,id is body/)
  await t.rejects(driverRows({ id: comments.id })(db.$client, query), /2 result columns for 1 fields/)
  t.throws(() => driverRows({ id: comments.id, n: sql<number>`count(*)`.mapWith(Number) }), /n has a decoder/, 'a decoder it would not apply')
})

t.test('date and time columns come out as Drizzle gives them (it reads their text itself)', async (t) => {
  const a = await build(t, {}, { engine: 'postgres' })
  const db = a.pg!.db
  await db.execute(sql`CREATE TABLE driver_rows_times (id integer PRIMARY KEY, at timestamp, at_tz timestamptz, on_day date, at_text timestamp, span interval)`)
  await db.execute(sql`INSERT INTO driver_rows_times VALUES (1, '2026-03-29 01:30:00', '2026-03-29 01:30:00+02', '2026-03-29', '2026-03-29 01:30:00.123', '1 day 2 hours'),
    (2, NULL, NULL, NULL, NULL, NULL)`)
  const times = pgTable('driver_rows_times', {
    id: integer('id').primaryKey(),
    at: timestamp('at', { mode: 'date' }),
    atTz: timestamp('at_tz', { mode: 'date', withTimezone: true }),
    onDay: date('on_day', { mode: 'date' }),
    atText: timestamp('at_text', { mode: 'string' }),
    span: interval('span')
  })
  const fields = getTableColumns(times)
  const query = () => db.select(fields).from(times).orderBy(times.id)
  const drizzle = await query()
  t.equal(drizzle[0]!.at?.toISOString(), '2026-03-29T01:30:00.000Z', 'a timestamp without a zone, as UTC')
  t.strictSame(await driverRows<typeof drizzle[number]>(fields)(db.$client, query()), drizzle)
})

t.test('a query built once runs with each request\'s values, named or not, its expressions as the driver reads them', async (t) => {
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres' })
  const db = a.pg!.db
  const one = await createArticle(a, { title: 'One', status: 'published' })
  const two = await createArticle(a, { title: 'Two', status: 'draft' })
  const fields = { id: articles.id, slug: articles.slug, publishedAt: articles.publishedAt, score: sql<number>`0.5::real`, none: sql<null>`NULL::real` }
  const query = (id: unknown) => db.select(fields).from(articles).where(eq(articles.id, id as number)).limit(sql.placeholder('limit'))
  const rows = driverRows<{ id: number }>(fields)
  for (const name of [undefined, (text: string) => `gz_test_${text.length}`]) {
    const built = rows.built(query(sql.placeholder('id')), name)
    for (const id of [one.id, two.id, one.id]) {
      const drizzle = await query(id).prepare('drizzle_' + String(id)).execute({ limit: 5 })
      t.strictSame(await built(db.$client, { id, limit: 5 }), drizzle, `${name === undefined ? 'unnamed' : 'named'}, id ${id}`)
    }
    t.strictSame(await built(db.$client, { id: one.id, limit: 0 }), [], 'the limit is bound too')
    t.throws(() => built.params({ id: one.id }), /No value for placeholder "limit"/, 'a value missing is refused before anything runs')
  }
})
