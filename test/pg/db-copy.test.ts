// Moving up (src/db/copy.ts, `npm run db:copy`): a SQLite database written through the API, copied into a
// new PostgreSQL database while its app stays open, answers the same on PostgreSQL — the same articles,
// ETags, lists, totals, search results and event log, the same tokens, and idempotency records that still
// replay. A database that already holds data is refused, and a copy that fails half-way leaves nothing.
// The 100,000-article run is `npm run bench:db-copy` (bench/db-copy.ts).
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { COPIED, DERIVED, PG_ONLY, copySqliteToPostgres } from '../../src/db/copy.js'
import { build, createArticle, postComment, type TestApp } from '../helper.js'
import { testDatabase } from './cluster.js'

const HOUR = 3600_000

function tempFile (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-copy-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'gazette.db')
}

/** Writes a bit of everything through the API: published, draft and scheduled articles, tags, authors, edits, comments, an idempotent POST. */
async function newsroom (t: Test, a: TestApp, opts: { comments: boolean } = { comments: true }): Promise<{ key: string, idempotentSlug: string }> {
  await createArticle(a, { title: 'Harbour reopens', summary: 'After the storm.', body: 'The *harbour* is open.\n\nTabs\tand \\ backslashes.', section: 'World', status: 'published', tags: ['Harbour', 'Council'], authors: ['Anna Petrova', 'Boris Okafor'] })
  a.clock.advance(1000)
  await createArticle(a, { title: 'Budget talks', body: 'A draft about the budget.', tags: ['Budget', 'Council'], authors: ['Anna Petrova'] })
  await createArticle(a, { title: 'Ferry timetable', body: 'Ferries run hourly.', status: 'published', publishedAt: new Date(a.clock.now + HOUR).toISOString(), tags: ['Ferry'] })
  for (let i = 0; i < 5; i++) {
    a.clock.advance(1000)
    await createArticle(a, { title: `Council minutes ${i}`, body: `Minutes of meeting ${i}: the harbour budget.`, status: 'published', section: i % 2 === 0 ? 'Local' : 'World', tags: ['Council'] })
  }
  const harbour = await a.as('editor', { method: 'GET', url: '/v1/articles/harbour-reopens' })
  const patched = await a.as('editor', { method: 'PATCH', url: '/v1/articles/harbour-reopens', headers: { 'if-match': String(harbour.headers.etag) }, payload: { title: 'Harbour reopens at last', slug: 'harbour-open' } })
  t.equal(patched.statusCode, 200)
  const key = 'copy-test-key-1'
  const idempotent = await a.as('editor', { method: 'POST', url: '/v1/articles', headers: { 'idempotency-key': key }, payload: { title: 'Retried once', status: 'published' } })
  t.equal(idempotent.statusCode, 201)
  if (!opts.comments) return { key, idempotentSlug: idempotent.json().slug }
  const first = await postComment(a, 'harbour-open', { authorName: 'Ada', authorEmail: 'ada@example.com', body: 'Good news.' })
  t.equal(first.statusCode, 201)
  const reply = await postComment(a, 'harbour-open', { authorName: 'Ben', authorEmail: 'ben@example.com', body: 'Agreed.', parentId: first.json().id })
  t.equal(reply.statusCode, 201, reply.body)
  return { key, idempotentSlug: idempotent.json().slug }
}

/** What a reader and an editor see of the ported repositories (articles, tags, comments, revisions, tokens, idempotency, events). */
async function view (a: TestApp): Promise<unknown[]> {
  const seen: unknown[] = []
  for (const url of ['/v1/articles?include=total', '/v1/articles?tag=council&include=total', '/v1/articles?section=World', '/v1/articles?q=harbour', '/v1/articles/harbour-open', '/v1/articles/harbour-reopens', '/v1/articles/harbour-open/comments', '/v1/tags', '/v1/tags?sort=-articleCount']) {
    const res = await a.inject({ method: 'GET', url })
    seen.push([url, res.statusCode, res.headers.etag ?? null, res.headers.location ?? null, res.body])
  }
  for (const url of ['/v1/articles?status=draft&include=total', '/v1/articles/budget-talks', '/v1/articles/harbour-open/revisions', '/v1/articles/harbour-open/revisions/1', '/v1/events?limit=100']) {
    const res = await a.as('editor', { method: 'GET', url })
    seen.push([url, res.statusCode, res.headers.etag ?? null, res.body])
  }
  return seen
}

t.test('a SQLite database copied into PostgreSQL answers the same there', async (t) => {
  const path = tempFile(t)
  const sqlite = await build(t, { databasePath: path, commentModeration: 'none' })
  const { key, idempotentSlug } = await newsroom(t, sqlite)
  const before = await view(sqlite)

  const target = await testDatabase(t, { migrate: false })
  // The SQLite app stays open and keeps serving: the copy reads an online snapshot.
  const progress: string[] = []
  const report = await copySqliteToPostgres(path, target.url, { onProgress: (m) => progress.push(m) })
  const source = new Database(path, { readonly: true })
  const counted = Object.fromEntries(COPIED.map(({ table }) => [table, (source.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n]))
  source.close()
  t.same(report.rows, counted, 'every table\'s rows, as SQLite counts them')
  t.equal(report.rows.articles, 9)
  t.equal(report.rows.comments, 2)
  t.equal(report.rows.article_slug_history, 1)
  t.ok((report.rows.events ?? 0) >= 9, 'the event log is copied (an event per published article and more)')
  t.equal(report.checked.sampledRows, (counted.articles ?? 0) + (counted.comments ?? 0) + (counted.events ?? 0), 'every row of a small database is sampled')
  t.ok(report.checked.derivedCounts > 5, 'counts by section, author and tag were compared')
  t.same(Object.keys(report.rows), COPIED.map((c) => c.table))
  t.equal(progress.length, COPIED.length + 3)

  // Every table PostgreSQL has is copied or derived: a table added later and forgotten here fails this.
  const { rows: tables } = await target.db.$client.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1")
  t.same(tables.map((r) => r.name).sort(), [...COPIED.map((c) => c.table), ...DERIVED, ...PG_ONLY].sort())

  const copy = await build(t, { postgres: { url: target.url, poolSize: 4 } })
  copy.clock.now = sqlite.clock.now
  t.equal(copy.app.storage.engine, 'postgres')
  t.same(await view(copy), before, 'the same bodies, ETags, totals, search results and event log')

  // SQLite's tokens work on PostgreSQL, and a retried POST replays instead of writing twice.
  const bySqliteToken = await copy.app.inject({ method: 'GET', url: '/v1/articles/budget-talks', headers: { authorization: `Bearer ${sqlite.tokens.editor}` } })
  t.equal(bySqliteToken.statusCode, 200)
  const retried = await copy.app.inject({ method: 'POST', url: '/v1/articles', headers: { authorization: `Bearer ${sqlite.tokens.editor}`, 'idempotency-key': key }, payload: { title: 'Retried once', status: 'published' } })
  t.equal(retried.statusCode, 201)
  t.equal(retried.headers['idempotent-replayed'], 'true')
  t.equal(retried.json().slug, idempotentSlug)
  // The counts, search documents and term counts the copy derived in bulk are those PostgreSQL's triggers make when
  // the same articles are written through the API on PostgreSQL.
  const direct = await build(t, {}, { engine: 'postgres' })
  await newsroom(t, direct, { comments: false })
  const terms = async (db: typeof target.db) => (await db.$client.query('SELECT term, docs FROM search_terms ORDER BY term')).rows
  const documents = async (db: typeof target.db) => (await db.$client.query('SELECT slug, search::text FROM articles ORDER BY slug')).rows
  const copiedTerms = await terms(target.db)
  t.ok(copiedTerms.length > 20)
  t.same(copiedTerms, await terms(direct.pg!.db))
  t.same(await documents(target.db), await documents(direct.pg!.db))
  const counts = async (db: typeof target.db) => [
    (await db.$client.query('SELECT kind, key, total, published FROM article_counts WHERE total > 0 ORDER BY kind, key')).rows,
    (await db.$client.query('SELECT slug, article_count, published_count FROM tags ORDER BY slug')).rows
  ]
  // (Visible counts depend on each database's settled time; the copy's are checked against SQLite's by the copy.)
  t.same(await counts(target.db), await counts(direct.pg!.db), 'the counts the copy derived are those the triggers keep')
  // The copy rebuilds the search index around its derived UPDATE: every index is as the migrations made it.
  const indexes = async (db: typeof target.db) =>
    (await db.$client.query('SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname')).rows
  t.same(await indexes(target.db), await indexes(direct.pg!.db), 'the same indexes, with the same definitions')

  // New rows take new ids: the identities moved past the copied keys.
  const fresh = await createArticle(copy, { title: 'First on PostgreSQL', status: 'published' })
  t.equal(fresh.id, 10)

  // A database that holds data is refused, and is left as it was.
  await t.rejects(copySqliteToPostgres(path, target.url), { message: 'the PostgreSQL database already holds data (tokens, articles, article_authors, article_slug_history, article_revisions, tags, article_tags, article_representations, comments, idempotency_keys, events); copy into a new, empty one' })
  const { rows } = await target.db.$client.query('SELECT count(*)::int AS n FROM articles')
  t.equal(rows[0].n, 10)
})

t.test('a copy that fails half-way leaves nothing in PostgreSQL', async (t) => {
  const path = tempFile(t)
  const sqlite = await build(t, { databasePath: path, commentModeration: 'none' })
  await newsroom(t, sqlite)
  // A value PostgreSQL cannot store (text holding NUL), written behind the API's back into a late table.
  const raw = new Database(path)
  raw.prepare("UPDATE comments SET body = 'a' || char(0) || 'b' WHERE id = 1").run()
  raw.close()
  const target = await testDatabase(t)
  await t.rejects(copySqliteToPostgres(path, target.url), { message: 'a text value holds a NUL character, which PostgreSQL cannot store' })
  for (const table of ['articles', 'tags', 'tokens', 'events']) {
    const { rows } = await target.db.$client.query(`SELECT count(*)::int AS n FROM ${table}`)
    t.equal(rows[0].n, 0, `${table} is empty`)
  }
})

t.test('an INSERT trigger the copy does not know stops it', async (t) => {
  const path = tempFile(t)
  const sqlite = await build(t, { databasePath: path })
  await createArticle(sqlite, { title: 'One', status: 'published' })
  const target = await testDatabase(t)
  // As a later migration might add one: the copy must then say what stands in for it, not skip it.
  await target.db.$client.query(`CREATE FUNCTION later_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
    CREATE TRIGGER later_trigger AFTER INSERT ON comments FOR EACH ROW EXECUTE FUNCTION later_trigger()`)
  await t.rejects(copySqliteToPostgres(path, target.url), { message: 'db:copy does not know the trigger later_trigger on comments: src/db/copy.ts must say what stands in for it' })
  const { rows } = await target.db.$client.query('SELECT count(*)::int AS n FROM articles')
  t.equal(rows[0].n, 0)
})
