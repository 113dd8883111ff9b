// The generator lifts the search index's and the counts' triggers while it loads, and rebuilds the index
// and counts once at the end (bench/generate.ts). That is only a speed-up if the database it leaves is the
// one the triggers would have made: the same tag snapshot, the same index (same matches, same ranks, same
// snippets), the same token and article counts, the triggers back in place and still working, and no
// setting of the load left behind.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { generate } from '../../bench/generate.js'
import { loadNative } from '../../src/db/native.js'

const ARTICLES = 600

t.test('the rebuilt search index equals the one the triggers build row by row', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-generate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const rebuilt = generate({ articles: ARTICLES, out: join(dir, 'rebuilt.db'), meanComments: 1, progress: false })
  const triggered = generate({ articles: ARTICLES, out: join(dir, 'triggered.db'), meanComments: 1, progress: false, searchIndex: 'triggers' })
  t.equal(rebuilt.articles, ARTICLES)
  t.equal(rebuilt.comments, triggered.comments, 'the same seed gives the same rows')

  const a = new Database(rebuilt.path)
  const b = new Database(triggered.path)
  loadNative(a)
  loadNative(b)
  t.teardown(() => { a.close(); b.close() })
  const both = (sql: string, ...params: unknown[]) => [a, b].map((db) => db.prepare(sql).all(...params))

  const [triggersA, triggersB] = both("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
  t.ok((triggersA as unknown[]).length >= 7, 'the search triggers exist')
  t.same(triggersA, triggersB, 'every trigger is back, unchanged')

  const [tagsA, tagsB] = both('SELECT article_id, names FROM article_search_tags ORDER BY article_id')
  t.equal((tagsA as unknown[]).length, ARTICLES, 'every article has its tag snapshot')
  t.same(tagsA, tagsB, 'the snapshot is the one the triggers write')
  for (const table of ['search_terms ORDER BY term', 'article_counts ORDER BY kind, key', 'counts_settled',
    'tags ORDER BY id', 'tag_search WHERE tag_search MATCH \'harbour\' ORDER BY rowid']) {
    const [rowsA, rowsB] = both(`SELECT *${table.startsWith('tag_search') ? ', rowid' : ''} FROM ${table}`)
    t.ok((rowsA as unknown[]).length > 0, `${table}: has rows`)
    t.same(rowsA, rowsB, `${table}: the same as the triggers keep`)
  }
  // The load writes each tag row's public date itself, with migrations/0017's trigger lifted: as it would have.
  for (const db of [a, b]) {
    t.equal(db.prepare(`SELECT count(*) FROM article_tags m JOIN articles x ON x.id = m.article_id
      WHERE m.public_at IS NOT (CASE WHEN x.status = 'published' THEN x.published_at END)`).pluck().get(), 0, 'every tag row\'s public date is its article\'s')
  }
  const [configA, configB] = both('SELECT k, v FROM article_search_config ORDER BY k')
  t.same(configA, configB, 'no load-time setting is left in the index')

  // Words of every kind: place names and headline words (titles), tag names, body words, a prefix, a phrase.
  const words = (a.prepare('SELECT title, summary FROM articles WHERE id IN (1, 77, 300, 599)').all() as { title: string, summary: string | null }[])
    .flatMap((r) => `${r.title} ${r.summary ?? ''}`.split(/[^\p{L}]+/u)).filter((w) => w.length > 3)
  const tagWords = (a.prepare('SELECT name FROM tags WHERE id IN (1, 2, 150, 299)').pluck().all() as string[]).flatMap((n) => n.split(' '))
  const tagTokens = (a.prepare('SELECT id FROM tags WHERE id IN (1, 2, 150, 299)').pluck().all() as number[]).map((id) => `tags : t${id}`)
  const queries = [...new Set([...words, ...tagWords])].map((w) => `"${w}"`).concat(['"the"', '"harb"*', '"the city"', ...tagTokens])
  t.ok(queries.length > 10)
  const search = `SELECT rowid, round(bm25(article_search, 10.0, 4.0, 4.0, 1.0), 9) AS rank,
    round(gazette_rank(article_search, 600, 10.0, 4.0, 4.0, 1.0), 9) AS local,
    snippet(article_search, -1, '[', ']', '…', 32) AS snippet FROM article_search WHERE article_search MATCH ? ORDER BY rank, rowid`
  let matched = 0
  for (const q of queries) {
    const [ra, rb] = both(search, q)
    matched += (ra as unknown[]).length
    t.same(ra, rb, `search ${q}: same matches, ranks and snippets`)
  }
  t.ok(matched > ARTICLES, 'the queries match many articles')

  for (const db of [a, b]) {
    t.doesNotThrow(() => db.exec("INSERT INTO article_search (article_search, rank) VALUES ('integrity-check', 1)"), 'the index agrees with its content')
  }

  // The triggers work on the generated database: a retitled article is found by its new title only.
  a.prepare("UPDATE articles SET title = 'Zanzibarquux harbour' WHERE id = 5").run()
  t.same(a.prepare("SELECT rowid FROM article_search WHERE article_search MATCH 'zanzibarquux'").pluck().all(), [5])
  a.exec("INSERT INTO article_search (article_search, rank) VALUES ('integrity-check', 1)")
})
