// migrations/pg on a real PostgreSQL (test/pg/cluster.ts): they apply to an empty database, once however
// often they are run, and what their triggers keep is right — the search document ranks a word in the
// title over the summary over the body, as the SQLite index does, and the counts and the public change
// clock follow writes.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { sql } from 'drizzle-orm'
import { getTableConfig } from 'drizzle-orm/pg-core'
import * as schema from '../../src/db/pg/schema.js'
import { migratePg, openPgDatabase, pgMigrationsFolder, QUERY_CANCELED, type PgDb } from '../../src/db/pg/connection.js'
import { testDatabase } from './cluster.js'

const rows = async <T>(db: PgDb, query: ReturnType<typeof sql>): Promise<T[]> => (await db.execute(query)).rows as T[]

test('the migrations apply to an empty database, and again change nothing', async (t) => {
  const { db, cluster } = await testDatabase(t, { migrate: false })
  t.comment(`PostgreSQL: initdb ${cluster.timings.initdb} ms, start ${cluster.timings.start} ms`)
  t.same(await rows(db, sql`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`), [], 'empty at first')

  const started = performance.now()
  await migratePg(db)
  t.comment(`migrations/pg applied in ${Math.round(performance.now() - started)} ms`)

  const tables = (await rows<{ tablename: string }>(db, sql`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`))
    .map((r) => r.tablename).sort()
  const declared = Object.values(schema).filter((v) => v instanceof Object && 'getSQL' in v && Symbol.for('drizzle:IsDrizzleTable') in v)
    .map((table) => getTableConfig(table as typeof schema.articles).name).sort()
  t.same(tables, declared, 'every table of src/db/pg/schema.ts, and no other')

  const journal = JSON.parse(readFileSync(join(pgMigrationsFolder, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] }
  const applied = async () => (await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`))[0]!.n
  t.equal(await applied(), journal.entries.length, 'every migration recorded')
  // Two processes starting at once: the advisory lock lets one apply them, the other then finds nothing to do.
  await Promise.all([migratePg(db), migratePg(db)])
  t.equal(await applied(), journal.entries.length, 'none applied twice')

  t.same(await rows(db, sql`SELECT id, changed_at FROM public_changes`), [{ id: 1, changed_at: 0 }], 'the public change clock')
  t.same(await rows(db, sql`SELECT kind, key, total FROM article_counts`), [{ kind: 'all', key: '', total: 0 }], 'the count of all articles')
  t.same(await rows(db, sql`SELECT id, version FROM tag_refs_version`), [{ id: 1, version: 0 }], 'the version of the tags (src/tags/tag-refs.ts)')
})

const article = (slug: string, fields: Partial<typeof schema.articles.$inferInsert> = {}): typeof schema.articles.$inferInsert => ({
  slug, title: `Untitled ${slug}`, body: 'Nothing to see.', createdAt: 1, updatedAt: 1, ...fields
})

test('search: title over summary over body, accents folded, words stemmed, no stop words', async (t) => {
  const { db } = await testDatabase(t)
  await db.insert(schema.articles).values([
    article('in-body', { body: 'The ferry reached the harbour at dawn.' }),
    article('in-title', { title: 'Harbour lights' }),
    article('in-summary', { summary: 'A night at the harbour.' }),
    article('elsewhere', { title: 'Mountain pass', body: 'Snow.' }),
    article('accents', { title: 'Café society', body: 'They docked at noon.' })
  ])
  // ts_rank's weights, {D, C, B, A}: the SQLite index's 10 : 4 : 4 : 1 (title, summary, tags, body).
  const search = async (query: string) => (await rows<{ slug: string }>(db, sql`
    SELECT slug FROM articles, to_tsquery('gazette', ${query}) AS q
    WHERE search @@ q ORDER BY ts_rank('{0.1, 0.1, 0.4, 1.0}', search, q) DESC, id`)).map((r) => r.slug)

  t.same(await search('harbour'), ['in-title', 'in-summary', 'in-body'], 'ranked title, summary, body')
  t.same(await search('cafe'), ['accents'], 'cafe finds Café')
  t.same(await search('dock'), ['accents'], 'dock finds docked')
  t.same(await search('the'), ['in-summary', 'in-body'], '"the" is a word like any other')
  t.same(await search('harbour & ferry'), ['in-body'], 'every word')
  t.same(await search('harb:*'), ['in-title', 'in-summary', 'in-body'], 'a prefix')

  // An edit re-indexes the article; search_terms counts the articles holding each word.
  await db.execute(sql`UPDATE articles SET title = 'Harbour at night', summary = NULL WHERE slug = 'in-summary'`)
  t.same(await search('harbour'), ['in-title', 'in-summary', 'in-body'], 'moved to its title')
  const docs = async (term: string) => (await rows<{ docs: number }>(db, sql`SELECT docs FROM search_terms WHERE term = ${term}`))[0]?.docs
  t.equal(await docs('harbour'), 3)
  t.equal(await docs('cafe'), 1, 'terms are folded lexemes')
  await db.execute(sql`DELETE FROM articles WHERE slug = 'in-body'`)
  t.equal(await docs('harbour'), 2, 'a deleted article leaves the counts')
  t.equal(await docs('ferri'), 0)
})

test('tags: in the document as #<id>, counted, and moving the public change clock', async (t) => {
  const { db } = await testDatabase(t)
  const [tag] = await db.insert(schema.tags).values({ slug: 'ports', name: 'Ports', createdAt: 1, updatedAt: 1 }).returning()
  const past = Date.now() - 60_000
  const [published] = await db.insert(schema.articles)
    .values(article('published', { status: 'published', publishedAt: past, body: 'Cranes and containers.', section: 'Business' })).returning()
  const [draft] = await db.insert(schema.articles).values(article('draft')).returning()
  await db.insert(schema.articleTags).values([
    { articleId: published!.id, tagId: tag!.id, position: 0 },
    { articleId: draft!.id, tagId: tag!.id, position: 0 }
  ])
  const tagged = async () => (await rows<{ slug: string }>(db, sql`
    SELECT slug FROM articles WHERE search @@ ${`'#${tag!.id}'`}::tsquery ORDER BY id`)).map((r) => r.slug)
  t.same(await tagged(), ['published', 'draft'], 'both articles carry the tag token')
  t.same(await rows(db, sql`SELECT article_count, published_count FROM tags`), [{ article_count: 2, published_count: 1 }])
  t.same(await rows(db, sql`SELECT total, published FROM article_counts WHERE kind = 'section'`), [{ total: 1, published: 1 }])

  const clock = async () => (await rows<{ changed_at: number }>(db, sql`SELECT changed_at FROM public_changes`))[0]!.changed_at
  t.equal(await clock(), 0)
  await db.execute(sql`DELETE FROM article_tags WHERE article_id = ${draft!.id}`)
  t.equal(await clock(), 0, 'a draft losing its tag changes nothing public')
  t.same(await tagged(), ['published'], 'the draft is re-indexed without it')
  await db.execute(sql`DELETE FROM article_tags WHERE article_id = ${published!.id}`)
  t.ok(await clock() >= past, 'a visible article losing its tag moves the clock')
  t.same(await tagged(), [], 're-indexed')
  t.same(await rows(db, sql`SELECT article_count, published_count FROM tags`), [{ article_count: 0, published_count: 0 }])

  await db.execute(sql`UPDATE articles SET status = 'draft' WHERE id = ${published!.id}`)
  t.same(await rows(db, sql`SELECT total, published FROM article_counts WHERE kind = 'section'`), [{ total: 1, published: 0 }], 'unpublishing is counted')
})

test('a phrase matches within one part of the document, never across two', async (t) => {
  const { db } = await testDatabase(t)
  await db.insert(schema.articles).values([
    article('across', { title: 'Out at the harbour', summary: 'Lights went on', body: 'Nothing else.' }),
    article('within', { title: 'Harbour lights', body: 'Nothing else.' })
  ])
  const phrase = async (query: string) => (await rows<{ slug: string }>(db, sql`
    SELECT slug FROM articles WHERE search @@ phraseto_tsquery('gazette', ${query}) ORDER BY id`)).map((r) => r.slug)
  t.same(await phrase('harbour lights'), ['within'])
  t.same(await phrase('on nothing'), [], 'nor from the summary into the body')
})

// Every trigger function and branch of migrations/pg/0002_triggers.sql runs here at least once: PL/pgSQL
// plans a statement only when it first runs, so a wrong column name would otherwise wait for the adapter.
test('every trigger keeps its counts through inserts, updates, moves and deletes', async (t) => {
  const { db } = await testDatabase(t)
  const past = Date.now() - 60_000
  const future = Date.now() + 3_600_000
  const [ports, ships] = await db.insert(schema.tags).values([
    { slug: 'ports', name: 'Ports', createdAt: 1, updatedAt: 1 },
    { slug: 'ships', name: 'Ships', createdAt: 1, updatedAt: 1 }
  ]).returning()
  const [a, b] = await db.insert(schema.articles).values([
    article('a', { status: 'published', publishedAt: past, section: 'News' }),
    article('b', { status: 'published', publishedAt: future, section: 'News' })
  ]).returning()
  await db.insert(schema.articleAuthors).values([{ articleId: a!.id, name: 'Ann' }, { articleId: b!.id, name: 'Ann' }])
  await db.insert(schema.articleTags).values([{ articleId: a!.id, tagId: ports!.id, position: 0 }, { articleId: b!.id, tagId: ports!.id, position: 0 }])
  const counts = async () => rows(db, sql`SELECT kind, key, total, published, visible FROM article_counts ORDER BY kind, key`)
  const tagCounts = async () => rows(db, sql`SELECT slug, article_count, published_count, visible_count FROM tags ORDER BY slug`)
  const clock = async () => (await rows<{ changed_at: number }>(db, sql`SELECT changed_at FROM public_changes`))[0]!.changed_at

  // b is due later than the settled time: published, not yet visible in the stored counts.
  t.same(await counts(), [
    { kind: 'all', key: '', total: 2, published: 2, visible: 1 },
    { kind: 'author', key: 'Ann', total: 2, published: 2, visible: 1 },
    { kind: 'section', key: 'News', total: 2, published: 2, visible: 1 }
  ])
  t.same(await tagCounts(), [
    { slug: 'ports', article_count: 2, published_count: 2, visible_count: 1 },
    { slug: 'ships', article_count: 0, published_count: 0, visible_count: 0 }
  ])

  // An article_tags row moved to another tag (UPDATE): counts and documents follow.
  await db.execute(sql`UPDATE article_tags SET tag_id = ${ships!.id} WHERE article_id = ${a!.id}`)
  t.same(await tagCounts(), [
    { slug: 'ports', article_count: 1, published_count: 1, visible_count: 0 },
    { slug: 'ships', article_count: 1, published_count: 1, visible_count: 1 }
  ], 'tag moved')
  t.same(await rows(db, sql`SELECT slug FROM articles WHERE search @@ ${`'#${ships!.id}'`}::tsquery`), [{ slug: 'a' }], 'a re-indexed with its new tag')

  // Renaming a tag the public sees moves the clock; one only a scheduled article carries does not.
  await db.execute(sql`UPDATE tags SET name = 'Harbours' WHERE id = ${ports!.id}`)
  t.equal(await clock(), 0, 'ports: only b, not yet due')
  await db.execute(sql`UPDATE tags SET name = 'Boats' WHERE id = ${ships!.id}`)
  const renamed = await clock()
  t.ok(renamed > 0, 'ships: a visible article')

  // Deleting a tag (the mark), then sweeping its rows: the clock moves at the mark; the counts of a
  // deleted tag are left alone and its token stays in the document, never searched again.
  await db.execute(sql`UPDATE tags SET deleted_at = 1 WHERE id = ${ships!.id}`)
  t.ok(await clock() >= renamed, 'moved at the mark')
  await db.execute(sql`DELETE FROM article_tags WHERE tag_id = ${ships!.id}`)
  t.same((await tagCounts())[1], { slug: 'ships', article_count: 1, published_count: 1, visible_count: 1 }, 'deleted tag untouched')

  // Authors leaving, an article moving section and status, comments withdrawn and deleted.
  await db.execute(sql`DELETE FROM article_authors WHERE article_id = ${b!.id}`)
  await db.execute(sql`UPDATE articles SET section = 'Sport', status = 'draft' WHERE id = ${b!.id}`)
  t.same(await counts(), [
    { kind: 'all', key: '', total: 2, published: 1, visible: 1 },
    { kind: 'author', key: 'Ann', total: 1, published: 1, visible: 1 },
    { kind: 'section', key: 'News', total: 1, published: 1, visible: 1 },
    { kind: 'section', key: 'Sport', total: 1, published: 0, visible: 0 }
  ])
  const [c1, c2] = await db.insert(schema.comments).values([1, 2].map(() => ({
    articleId: a!.id, authorName: 'R', authorEmail: 'r@example.com', avatarHash: 'x', body: 'Hi', bodyHtml: '<p>Hi</p>', status: 'approved' as const, createdAt: 1, updatedAt: 1
  }))).returning()
  await db.execute(sql`UPDATE public_changes SET changed_at = 0`)
  await db.execute(sql`UPDATE comments SET status = 'trash' WHERE id = ${c1!.id}`)
  t.ok(await clock() > 0, 'an approved comment withdrawn from a visible article')
  await db.execute(sql`UPDATE public_changes SET changed_at = 0`)
  await db.execute(sql`DELETE FROM comments WHERE id = ${c2!.id}`)
  t.ok(await clock() > 0, 'an approved comment deleted')

  // Deleting the articles uncounts them everywhere, and their cascades count nothing twice.
  await db.execute(sql`UPDATE public_changes SET changed_at = 0`)
  await db.execute(sql`DELETE FROM articles`)
  t.ok(await clock() > 0, 'a visible article deleted')
  t.same(await counts(), [
    { kind: 'all', key: '', total: 0, published: 0, visible: 0 },
    { kind: 'author', key: 'Ann', total: 0, published: 0, visible: 0 },
    { kind: 'section', key: 'News', total: 0, published: 0, visible: 0 },
    { kind: 'section', key: 'Sport', total: 0, published: 0, visible: 0 }
  ])
  t.same((await tagCounts())[0], { slug: 'ports', article_count: 0, published_count: 0, visible_count: 0 })
  t.same(await rows(db, sql`SELECT count(*)::int AS n FROM search_terms WHERE docs <> 0`), [{ n: 0 }], 'no word counted any more')
})

test('the query budget on PostgreSQL: a statement past statement_timeout is cancelled, 57014', async (t) => {
  const { url } = await testDatabase(t)
  const budgeted = openPgDatabase(url, { poolSize: 1, statementTimeoutMs: 200 })
  t.teardown(() => budgeted.$client.end())
  t.same((await budgeted.execute(sql`SELECT 1 AS n FROM pg_sleep(0.05)`)).rows, [{ n: 1 }], 'within the budget')
  const started = performance.now()
  const err = await budgeted.execute(sql`SELECT pg_sleep(5)`).then(() => undefined, (e: unknown) => e)
  t.match(err, { cause: { code: QUERY_CANCELED } }, 'cancelled by the server')
  t.ok(performance.now() - started < 2000, 'after about the budget, not the 5 s asked')
  t.same((await budgeted.execute(sql`SELECT 1 AS n`)).rows, [{ n: 1 }], 'the connection serves the next statement')
})
