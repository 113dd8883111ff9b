// The search migration indexes the articles that existed before it: a database migrated only to
// 0000_init, with articles and tags in it, is then opened by the app (which runs every migration).
import t from 'tap'
import { databaseMigratedTo } from './migrated.js'
import { build } from '../helper.js'

t.test('existing articles and their tag names are searchable after the migration', async (t) => {
  // Migrated up to the first migration only.
  const { path, sqlite } = databaseMigratedTo(t, (e) => e.tag === '0000_init')
  const at = Date.parse('2026-07-01T00:00:00.000Z')
  sqlite.prepare(`INSERT INTO articles (id, slug, title, summary, body, status, published_at, created_at, updated_at)
    VALUES (1, 'old-news', 'Old news', 'From before search', 'Written <before> the index existed.', 'published', ?, ?, ?)`).run(at, at, at)
  sqlite.prepare("INSERT INTO tags (id, slug, name, created_at, updated_at) VALUES (1, 'archive', 'Archive', 0, 0)").run()
  sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) VALUES (1, 1, 0)').run()
  t.throws(() => sqlite.prepare('SELECT * FROM article_search').all(), /no such table/, 'no index before the migration')
  sqlite.close()

  const a = await build(t, { databasePath: path })
  for (const q of ['before', 'archive', 'old']) {
    const res = await a.inject({ method: 'GET', url: `/v1/articles?q=${q}` })
    t.same(res.json().data.map((x: { slug: string }) => x.slug), ['old-news'], `q=${q}`)
  }
  t.match((await a.inject({ method: 'GET', url: '/v1/articles?q=before' })).json().data[0].snippet, /<mark>before<\/mark>/)
  a.app.db.$client.prepare("INSERT INTO article_search (article_search, rank) VALUES ('integrity-check', 1)").run()
})
