// Migration 0016 (stored summaries) upgrades a database with data made by the migrations before it: every
// existing article gets its stored summary from the backfill at start, and until then (and after) every list
// page answers what a fresh assembly would, to the public and to editors, searches and tags included.
import t from 'tap'
import { databaseMigratedTo } from './migrated.js'
import { build } from '../helper.js'
import { freshList } from '../articles/fresh-article.js'

t.test('lists from before the migration answer as before, then from stored summaries', async (t) => {
  const { path, sqlite } = databaseMigratedTo(t, (e, all) => e.idx < all.find((x) => x.tag.endsWith('_article_summaries'))!.idx)
  t.throws(() => sqlite.prepare('SELECT 1 FROM article_summaries').all(), /no such table/, 'the table is new')
  const at = Date.parse('2026-07-08T08:00:00.000Z')
  const article = sqlite.prepare(`INSERT INTO articles (id, slug, title, summary, body, body_html, section, authors, status, published_at, created_at, updated_at, comment_count, image_url, image_alt)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`)
  // 1,200 articles: more than one slice of the backfill (500).
  for (let id = 1; id <= 1200; id++) {
    const status = id % 3 === 0 ? 'draft' : 'published'
    const publishedAt = status === 'draft' ? null : id % 7 === 0 ? at + 86400000 : at - id * 1000
    article.run(id, `old-${id}`, `Old "${id}" harbour`, id % 2 === 0 ? null : 'A <summary>', `Body ${id} **bold**`, `<p>Body ${id} <strong>bold</strong></p>\n`,
      id % 5 === 0 ? 'World' : null, JSON.stringify(['Ann', `B\\${id}`]), status, publishedAt, at - 5000, at - id, id % 4 === 0 ? 'https://img.example/x.jpg' : null, id % 4 === 0 ? 'alt' : null)
  }
  sqlite.prepare("INSERT INTO tags (id, slug, name, created_at, updated_at) VALUES (1, 'world', 'World', ?, ?), (2, 'quoted', 'The \"Q\"', ?, ?)").run(at, at, at, at)
  sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) SELECT id, 2, 0 FROM articles WHERE id % 2 = 1').run()
  sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) SELECT id, 1, 1 FROM articles WHERE id % 3 = 1').run()
  sqlite.prepare(`INSERT INTO comments (article_id, author_name, author_email, avatar_hash, body, body_html, status, created_at, updated_at)
    SELECT id, 'R', 'r@example.org', '${'ab'.repeat(32)}', 'Hi', '<p>Hi</p>', 'approved', ?, ? FROM articles WHERE id % 4 = 1`).run(at, at)
  sqlite.prepare("UPDATE articles SET comment_count = (SELECT count(*) FROM comments c WHERE c.article_id = articles.id AND c.status = 'approved')").run()
  sqlite.close()

  const a = await build(t, { databasePath: path, responseCacheMb: 0 })
  const pages = [['public', '/v1/articles?limit=100'], ['editor', '/v1/articles?limit=100&status=any&sort=-updatedAt'],
    ['public', '/v1/articles?limit=50&tag=quoted&section=World'], ['public', '/v1/articles?limit=30&q=harbour'], ['editor', '/v1/articles?limit=20&q=harbour&sort=-publishedAt']] as const
  const compare = async (when: string) => {
    for (const [who, url] of pages) {
      const res = who === 'public' ? await a.inject({ method: 'GET', url }) : await a.as('editor', { method: 'GET', url })
      t.equal(res.statusCode, 200)
      t.ok(res.json().data.length > 0, `${when}: ${url} lists articles`)
      t.equal(res.body, await freshList(a, res.body), `${when}: ${who} ${url}: a fresh assembly's bytes`)
    }
  }
  // The backfill started with the app; the lists do not depend on how far it got.
  await compare('during the backfill')
  const before = (await a.inject({ method: 'GET', url: pages[0][1] })).body
  await a.app.upkeep.fillRepresentations()
  t.equal(a.app.db.$client.prepare('SELECT count(*) FROM article_summaries').pluck().get(), 1200, 'every article has its stored summary')
  await compare('from the stored summaries')
  t.equal((await a.inject({ method: 'GET', url: pages[0][1] })).body, before, 'the same bytes as before the backfill')
})
