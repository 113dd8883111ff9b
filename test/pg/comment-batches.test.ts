// PostgreSQL writes the comments that wait for a transaction together (group commit, src/comments/
// repository.pg.ts): one order lock, ids drawn together, one COMMIT. What a batch must still do: each
// comment written once and counted, a comment whose write fails failing alone (the batch is rolled back
// and each comment written again on its own), and none acknowledged that is not stored.
import { sql } from 'drizzle-orm'
import t from 'tap'
import { build, createArticle, eventLog, postComment } from '../helper.js'

t.test('comments posted at once: written together, and one that fails fails alone', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 }, { engine: 'postgres' })
  const db = a.pg!.db
  const first = await createArticle(a, { title: 'First', body: 'Text.', status: 'published' })
  const second = await createArticle(a, { title: 'Second', body: 'Text.', status: 'published' })
  // A comment PostgreSQL refuses in the middle of its insert (as a broken disk or a bug would): its
  // transaction aborts, with the rest of its batch.
  await db.execute(sql.raw(`
    CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
    CREATE TRIGGER refuse_boom BEFORE INSERT ON comments FOR EACH ROW WHEN (NEW.body = 'boom') EXECUTE FUNCTION refuse_boom();`))
  const before = (await eventLog(a)).length

  const bodies = ['one', 'two', 'boom', 'three', 'four', 'five']
  const responses = await Promise.all(bodies.map((body, i) =>
    postComment(a, i % 2 === 0 ? first.slug : second.slug, { authorName: `Reader ${i}`, authorEmail: `r${i}@example.com`, body })))
  t.same(responses.map((r) => r.statusCode), [201, 201, 500, 201, 201, 201], 'only the refused comment fails')

  const stored = (await db.execute<{ body: string, article_id: number }>(sql`SELECT body, article_id FROM comments ORDER BY id`)).rows
  t.same(stored.map((r) => r.body).sort(), ['five', 'four', 'one', 'three', 'two'], 'each stored once; the refused one not at all')
  // 'one' went alone; the other five waited and were written together, failed with 'boom', and then 'boom'
  // was written alone and the four others together again.
  const writers = async (like: string): Promise<number> =>
    (await db.execute<{ n: number }>(sql`SELECT count(DISTINCT xmin::text)::int AS n FROM comments WHERE body = ANY(string_to_array(${like}, ','))`)).rows[0]!.n
  t.equal(await writers('two,three,four,five'), 1, 'the four beside the refused one, written together after it failed')
  const counts = async (slug: string) => (await a.inject({ method: 'GET', url: `/v1/articles/${slug}` })).json().commentCount
  t.equal(await counts(first.slug), 2)
  t.equal(await counts(second.slug), 3)
  const events = (await eventLog(a)).slice(before)
  t.equal(events.filter((e) => e.type === 'comment.submitted').length, 5, 'one comment.submitted each')

  // Without a failing one, comments posted at once share transactions: the rows' xmin says which wrote them.
  const more = await Promise.all(Array.from({ length: 8 }, (_, i) =>
    postComment(a, first.slug, { authorName: `More ${i}`, authorEmail: `m${i}@example.com`, body: `More ${i}` })))
  t.same(more.map((r) => r.statusCode), Array(8).fill(201))
  const more8 = Array.from({ length: 8 }, (_, i) => `More ${i}`).join(',')
  const used = await writers(more8)
  t.ok(used < 8, `8 comments written by ${used} transactions`)
  t.equal(await counts(first.slug), 10)
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
  const bodies = ['alone', 'b', 'late', 'c']
  const responses = await Promise.all(bodies.map((body, i) =>
    postComment(a, article.slug, { authorName: `Reader ${i}`, authorEmail: `r${i}@example.com`, body })))
  // The first is written at once, alone; the three that waited for it form one batch.
  t.same(responses.map((r) => r.statusCode), [201, 500, 500, 500])
  t.same((await db.execute<{ body: string }>(sql`SELECT body FROM comments`)).rows.map((r) => r.body), ['alone'], 'none of the batch stored')
  t.equal((await a.inject({ method: 'GET', url: `/v1/articles/${article.slug}` })).json().commentCount, 1)
})
