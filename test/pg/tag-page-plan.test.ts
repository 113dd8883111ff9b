// A public page of a tag on PostgreSQL is one range of article_tags_public_idx in date order
// (src/articles/listing/index.pg.ts, migrations/pg/0011): the tag rows of published articles, whose
// public_at the triggers keep equal to the article's published_at. Walking the published articles by date
// and probing each for the tag read hundreds of rows for a page of a tag that is on few of them. Here the
// app's own statement is run under EXPLAIN ANALYZE, and the triggers' column is checked against the
// articles after every kind of write that moves it.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { pgMigrationsFolder } from '../../src/db/pg/connection.js'
import { EVENT_LOG_LOCK } from '../../src/events/outbox.pg.js'
import { build, createArticle, type TestApp } from '../helper.js'
import { analyzed, planNodes as nodes, rowsRead, statementsSent, type PlanNode } from './sent.js'

/** Tag rows whose public_at is not what the triggers promise: the article's published_at while it is published. */
async function drifted (a: TestApp): Promise<unknown[]> {
  return (await a.pg!.db.execute(sql`SELECT m.article_id, m.tag_id, m.public_at, a.status, a.published_at
    FROM article_tags m JOIN articles a ON a.id = m.article_id
    WHERE m.public_at IS DISTINCT FROM (CASE WHEN a.status = 'published' THEN a.published_at END)`)).rows
}

t.test("a tag's public page reads that tag's rows, one range in date order", async (t) => {
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres' })
  const db = a.pg!.db
  // 5,000 published articles, one in twenty with the tag, the rest another's; ten drafts with the tag, newer.
  const at = a.clock.now - 6000 * 60_000
  await db.execute(sql`INSERT INTO tags (slug, name, created_at, updated_at) VALUES ('rare', 'Rare', ${at}::bigint, ${at}::bigint), ('common', 'Common', ${at}::bigint, ${at}::bigint)`)
  await db.execute(sql`INSERT INTO articles (slug, title, body, body_html, status, published_at, created_at, updated_at)
    SELECT 'a-' || i, 'Article ' || i, 'Text.', '<p>Text.</p>', CASE WHEN i > 5000 THEN 'draft' ELSE 'published' END,
      CASE WHEN i > 5000 THEN NULL ELSE ${at}::bigint + i * 60000 END, ${at}::bigint, ${at}::bigint
    FROM generate_series(1, 5010) AS i`)
  await db.execute(sql`INSERT INTO article_tags (article_id, tag_id, position)
    SELECT a.id, t.id, 0 FROM articles a JOIN tags t ON t.slug = CASE WHEN (substr(a.slug, 3)::int % 20 = 0 OR a.status = 'draft') THEN 'rare' ELSE 'common' END`)
  await db.execute(sql`ANALYZE articles`)
  await db.execute(sql`ANALYZE article_tags`)
  t.same(await drifted(a), [], 'rows inserted after their articles take their public dates')

  const { result: res, sent } = await statementsSent(() => a.inject({ method: 'GET', url: '/v1/articles?tag=rare&limit=20' }))
  t.equal(res.statusCode, 200)
  const slugs = res.json().data.map((article: { slug: string }) => article.slug)
  t.same(slugs, Array.from({ length: 20 }, (_, i) => `a-${5000 - i * 20}`), 'the tag\'s newest published articles, newest first')
  const pages = sent.filter((q) => /from "article_tags" "d"/.test(q.text))
  t.equal(pages.length, 1, 'one page statement, driven by the tag')
  const plan = await analyzed(db.$client, pages[0]!)
  t.ok(rowsRead(plan, 'article_tags') <= 21, `the page's rows and one more, not every article walked by date (read ${rowsRead(plan, 'article_tags')})`)
  t.ok(rowsRead(plan, 'articles') <= 21, `each row's article by key (read ${rowsRead(plan, 'articles')})`)

  // The app runs this page as a named statement: after five runs PostgreSQL may keep a generic plan, made
  // without the tag's id or the time. That plan must be the same range, whatever the tag.
  const client = await db.$client.connect()
  try {
    await client.query(`PREPARE probe AS ${pages[0]!.text}`)
    await client.query('SET plan_cache_mode = force_generic_plan')
    // Its values are numbers (the tag's id, the time, the limit), written in as literals.
    const values = pages[0]!.values.map((v) => { if (typeof v !== 'number') throw new Error(`not a number: ${String(v)}`); return v })
    const generic = (await client.query(`EXPLAIN (FORMAT JSON) EXECUTE probe(${values.join(', ')})`)).rows[0]['QUERY PLAN'][0].Plan as PlanNode
    t.ok(nodes(generic).some((n) => /\$1/.test(n['Index Cond'] ?? '')), 'a generic plan: the tag is a parameter')
    t.ok(nodes(generic).some((n) => n['Index Name'] === 'article_tags_public_idx'), 'the generic plan reads the tag\'s own index')
    t.notOk(nodes(generic).some((n) => n['Node Type'] === 'Sort'), 'in the page\'s order, without a sort')
  } finally {
    // The app's own pool: drop only this statement (node-postgres remembers which of the app's named
    // statements each connection holds), and throw the connection away all the same.
    try { await client.query('DEALLOCATE probe; RESET plan_cache_mode') } finally { client.release(true) }
  }

  // The next page follows on from the cursor, in the same range.
  const next = await a.inject({ method: 'GET', url: res.headers.link!.toString().match(/<([^>]+)>; rel="next"/)![1]!.replace(/^https?:\/\/[^/]+/, '') })
  t.same(next.json().data.map((article: { slug: string }) => article.slug), Array.from({ length: 20 }, (_, i) => `a-${4600 - i * 20}`), 'the second page')
})

t.test('the tag rows follow their article: published, re-dated, scheduled, unpublished, retagged', async (t) => {
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres' })
  const page = async () => (await a.inject({ method: 'GET', url: '/v1/articles?tag=harbour' })).json().data.map((x: { slug: string }) => x.slug)
  const one = await createArticle(a, { title: 'One', body: 'x', status: 'published', tags: ['Harbour', 'Ferries'] })
  const two = await createArticle(a, { title: 'Two', body: 'x', status: 'draft', tags: ['Harbour'] })
  t.same(await drifted(a), [])
  t.same(await page(), ['one'], 'a draft is not on the page')
  const steps: [string, () => Promise<unknown>, string[]][] = [
    ['the draft published', () => a.as('editor', { method: 'PATCH', url: `/v1/articles/${two.slug as string}`, payload: { status: 'published' } }), ['two', 'one']],
    ['re-dated into the past', () => a.as('editor', { method: 'PATCH', url: '/v1/articles/two', payload: { publishedAt: new Date(a.clock.now - 3600_000).toISOString() } }), ['one', 'two']],
    ['scheduled for later', () => a.as('editor', { method: 'PATCH', url: '/v1/articles/one', payload: { publishedAt: new Date(a.clock.now + 3600_000).toISOString() } }), ['two']],
    ['unpublished', () => a.as('editor', { method: 'PATCH', url: '/v1/articles/two', payload: { status: 'draft' } }), []],
    ['retagged while scheduled', () => a.as('editor', { method: 'PATCH', url: '/v1/articles/one', payload: { tags: ['Ferries', 'Harbour', 'Weather'] } }), []],
    ['its time come', async () => { a.clock.advance(2 * 3600_000) }, ['one']],
    ['published again, and its tags replaced', () => a.as('editor', { method: 'PATCH', url: '/v1/articles/two', payload: { status: 'published', tags: ['Weather', 'Harbour'] } }), ['one', 'two']],
    ['deleted', () => a.as('editor', { method: 'DELETE', url: `/v1/articles/${one.slug as string}` }), ['two']]
  ]
  for (const [what, write, expected] of steps) {
    const res = await write() as { statusCode: number, body: string } | undefined
    if (res !== undefined) t.ok([200, 204].includes(res.statusCode), `${what}: done`, { body: res.body })
    t.same(await drifted(a), [], `${what}: every tag row has its article's public date`)
    t.same(await page(), expected, `${what}: the tag's page`)
  }
})

t.test('the migration takes the writers\' order lock before it locks a table', async (t) => {
  // Spelled as a number in the SQL: if EVENT_LOG_LOCK ever changed, the migration would lock nothing anyone waits on.
  const text = readFileSync(join(pgMigrationsFolder, '0011_public_tag_pages.sql'), 'utf8')
  const lock = text.indexOf(`SELECT pg_advisory_xact_lock(${EVENT_LOG_LOCK});`)
  t.ok(lock >= 0, 'the event log\'s order lock, by its value')
  t.ok(lock < text.indexOf('LOCK TABLE'), 'before any table lock')
})

t.test("a list page's tags are looked up by key, however many tags the site has", async (t) => {
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres' })
  const db = a.pg!.db
  // 20,000 tags, ids spread; 300 published articles with ten tags each, taken from across the whole range.
  const at = a.clock.now - 1000 * 60_000
  await db.execute(sql`INSERT INTO tags (slug, name, created_at, updated_at) SELECT 'topic-' || n, 'Topic ' || n, 0, 0 FROM generate_series(1, 20000) AS n`)
  await db.execute(sql`INSERT INTO articles (slug, title, body, body_html, status, published_at, created_at, updated_at)
    SELECT 'a-' || i, 'Article ' || i, 'Text.', '<p>Text.</p>', 'published', ${at}::bigint + i * 60000, ${at}::bigint, ${at}::bigint
    FROM generate_series(1, 300) AS i`)
  await db.execute(sql`INSERT INTO article_tags (article_id, tag_id, position)
    SELECT a.id, t.id, k FROM articles a CROSS JOIN generate_series(0, 9) AS k JOIN tags t ON t.slug = 'topic-' || (a.id * 67 + k * 1999) % 20000 + 1`)
  await db.execute(sql`ANALYZE tags`)
  await db.execute(sql`ANALYZE article_tags`)
  // Articles loaded behind the API's back have no stored form: the app's backfill (started when it became
  // ready) stores them, reading their tags with the very statement the page uses. Its pass over first, so
  // that the statements counted are the page's own (on a loaded CI machine a late pass crossed the request).
  await a.app.upkeep.fillRepresentations()

  const { result: res, sent } = await statementsSent(() => a.inject({ method: 'GET', url: '/v1/articles?limit=20' }))
  t.equal(res.statusCode, 200)
  const items = res.json().data as { slug: string, tags: { slug: string }[] }[]
  t.equal(items.length, 20)
  t.ok(items.every((item) => item.tags.length === 10), 'every article with its ten tags')
  // The page's own statement (tagsOfArticlesNamedPg: the tag ids, named from the process's dictionary) and
  // the look-up of the names it has not met yet (src/tags/tag-refs.pg.ts). The counts' settling, on
  // upkeep's timer, reads article_tags too.
  const reads = sent.filter((q) => /"articleId", array_agg\(at\.tag_id ORDER BY at\.position\) AS ids/.test(q.text))
  t.equal(reads.length, 1, 'one statement reads the page\'s tags', { texts: reads.map((q) => q.text.slice(0, 120)) })
  const plan = await analyzed(db.$client, reads[0]!)
  t.ok(rowsRead(plan, 'article_tags') <= 200, `the page's own tag rows (read ${rowsRead(plan, 'article_tags')})`)
  t.equal(rowsRead(plan, 'tags'), 0, 'as ids: no tag read')
  const names = sent.filter((q) => /\bFROM unnest\(\$1::int\[\]\) AS u\(id\)/.test(q.text))
  t.equal(names.length, 1, 'the names looked up in one statement')
  const looked = await analyzed(db.$client, names[0]!)
  t.ok(rowsRead(looked, 'tags') <= 200, `each tag by its key, not the whole tags table (read ${rowsRead(looked, 'tags')})`)
})
