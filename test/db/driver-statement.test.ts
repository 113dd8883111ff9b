// onDriver (src/db/driver-statement.ts) runs a Drizzle select on better-sqlite3 itself: its rows must be
// Drizzle's own, value for value (booleans, nulls, joined columns), and fields that are not the query's
// selection in its order must be refused when the statement is prepared.
import t from 'tap'
import { eq, getTableColumns, sql } from 'drizzle-orm'
import { onDriver } from '../../src/db/driver-statement.js'
import { articles, comments } from '../../src/db/schema.js'
import { authorEdit, build, createArticle, onSqlite, postWithToken } from '../helper.js'

t.test('rows are those of Drizzle\'s prepared statement', onSqlite, async (t) => {
  const a = await build(t, { responseCacheMb: 0 })
  const article = await createArticle(a, { title: 'Thread', status: 'published' })
  const first = await postWithToken(a, article.slug, { authorName: 'Ann', authorEmail: 'ann@example.com', authorUrl: 'https://ann.example.com/', body: 'First' })
  await postWithToken(a, article.slug, { authorName: 'Bo', authorEmail: 'bo@example.com', body: 'Second, no site' })
  t.equal((await authorEdit(a, first.id, first.editToken, { body: 'First, edited' })).statusCode, 200)

  const fields = { ...getTableColumns(comments), articleSlug: articles.slug, articleCommentsOpen: articles.commentsOpen }
  const query = a.app.db.select(fields).from(comments).innerJoin(articles, eq(articles.id, comments.articleId))
    .where(eq(comments.articleId, sql.placeholder('article'))).orderBy(comments.id)
  const drizzle = query.prepare().all({ article: article.id })
  t.equal(drizzle.length, 2)
  t.ok(drizzle.some((r) => r.edited) && drizzle.some((r) => !r.edited), 'a boolean both ways')
  t.ok(drizzle.some((r) => r.authorUrl === null) && drizzle.some((r) => r.authorUrl !== null), 'a column null and not')
  const driver = onDriver<typeof drizzle[number]>(a.app.db, query, fields)
  t.same(driver.all({ article: article.id }), drizzle)
  t.strictSame(driver.get({ article: article.id }), drizzle[0])
  t.equal(driver.get({ article: article.id + 1000 }), undefined)
})

t.test('fields that are not the selection, in its order, are refused', onSqlite, async (t) => {
  const a = await build(t)
  const fields = { id: comments.id, body: comments.body }
  const query = a.app.db.select(fields).from(comments)
  t.throws(() => onDriver(a.app.db, query, { body: comments.body, id: comments.id }), /not its selection/)
  t.throws(() => onDriver(a.app.db, query, { id: comments.id }), /2 result columns for 1 fields/)
  t.throws(() => onDriver(a.app.db, query, { id: comments.id, body: articles.body }), /not its selection/)
})

t.test('expression fields are read as the driver reads them, counted with the columns', onSqlite, async (t) => {
  const a = await build(t, { responseCacheMb: 0 })
  const article = await createArticle(a, { title: 'Thread', status: 'published' })
  await postWithToken(a, article.slug, { authorName: 'Ann', authorEmail: 'ann@example.com', body: 'First' })
  await postWithToken(a, article.slug, { authorName: 'Bo', authorEmail: 'bo@example.com', body: 'Second, longer' })
  const fields = { id: comments.id, length: sql<number>`length(${comments.body})`, none: sql<null>`NULL`.as('none') }
  const query = a.app.db.select(fields).from(comments).orderBy(comments.id)
  const drizzle = query.prepare().all()
  t.same(drizzle.map((r) => r.length), [5, 14])
  t.strictSame(onDriver(a.app.db, query, fields).all({}), drizzle)
  t.throws(() => onDriver(a.app.db, query, { id: comments.id, length: fields.length }), /3 result columns for 2 fields/)
  t.throws(() => onDriver(a.app.db, query, { id: comments.id, length: comments.body, none: fields.none }), /length is null\.null/,
    'a column field where the statement has an expression')
})
