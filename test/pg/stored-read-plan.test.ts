// GET an article on PostgreSQL is one statement (src/articles/stored.pg.ts): its stored form, and its tags'
// ids beside it, named from the process's dictionary (src/tags/tag-refs.ts). Tags it has not met yet are
// looked up by key, once. Joined to `tags`, such a lookup was planned as a hash of the whole tags table,
// built again for every read (303 rows read to find 3); by key (a LATERAL subquery), it reads the article's
// tags alone. The statements are run as the app sends them, under EXPLAIN ANALYZE, on a site with many tags.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { build, createArticle } from '../helper.js'
import { analyzed, rowsRead, statementsSent } from './sent.js'

t.test("an article's read looks up its own tags, not the whole tags table", async (t) => {
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres' })
  const db = a.pg!.db
  await db.execute(sql`INSERT INTO tags (slug, name, description, created_at, updated_at, curated)
    SELECT 'other-' || i, 'Other ' || i, repeat('A description. ', 10), ${a.clock.now}::bigint, ${a.clock.now}::bigint, true FROM generate_series(1, 300) AS i`)
  await db.execute(sql`ANALYZE tags`)
  const article = await createArticle(a, { title: 'Tagged', body: 'Text.', status: 'published', tags: ['Harbour', 'Ferries', 'Weather'] })

  const { result: res, sent } = await statementsSent(() => a.inject({ method: 'GET', url: `/v1/articles/${article.slug as string}` }))
  t.equal(res.statusCode, 200)
  t.same(res.json().tags.map((tag: { slug: string }) => tag.slug), ['harbour', 'ferries', 'weather'], 'the tags, in the editor\'s order')
  const reads = sent.filter((q) => /article_representations/.test(q.text))
  t.equal(reads.length, 1, 'one statement reads the article')
  t.match(reads[0]!.name, /^gz_/, 'a named prepared statement: planned once per connection')
  t.equal(rowsRead(await analyzed(db.$client, reads[0]!), 'tags'), 0, 'its tags as ids: no tag read')
  const names = sent.filter((q) => /\bFROM unnest\(\$1::int\[\]\) AS u\(id\)/.test(q.text))
  t.equal(names.length, 1, 'the names this process had not met, looked up once')
  t.match(names[0]!.name, /^gz_/, 'by a named prepared statement')
  t.equal(rowsRead(await analyzed(db.$client, names[0]!), 'tags'), 3, 'the article\'s three tags, each by its key')

  // Read again: every name known, one statement.
  const again = await statementsSent(() => a.inject({ method: 'GET', url: `/v1/articles/${article.slug as string}` }))
  t.same(again.result.json().tags, res.json().tags, 'the same tags')
  t.same(again.sent.filter((q) => /\bfrom\b/i.test(q.text)).map((q) => /article_representations/.test(q.text)), [true], 'one statement, the article\'s')
})
