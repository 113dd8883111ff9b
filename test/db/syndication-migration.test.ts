// Migrations 0005 (image, canonical URL, sitemap index) and 0006 (the public change clock) upgrade a
// database with data: one migrated only to 0004 is filled, then opened by the app, which runs the rest.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { migrationsFolder } from '../../src/db/connection.js'
import { build } from '../helper.js'

t.test('articles from before syndication get no image, appear in feeds and sitemaps, and move the change clock', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-migration-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const before = join(dir, 'migrations')
  cpSync(migrationsFolder, before, { recursive: true })
  const journalPath = join(before, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] }
  const upTo = journal.entries.findIndex((e) => e.tag === '0004_search_visibility')
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, upTo + 1) }))

  const path = join(dir, 'old.db')
  const sqlite = new Database(path)
  migrate(drizzle(sqlite), { migrationsFolder: before })
  const at = Date.parse('2026-07-01T00:00:00.000Z')
  const insert = sqlite.prepare(`INSERT INTO articles (id, slug, title, summary, body, body_html, section, authors, status, published_at, created_at, updated_at)
    VALUES (?, ?, ?, NULL, 'Body', '<p>Body</p>', 'World', '["Anna"]', ?, ?, ?, ?)`)
  insert.run(1, 'old-news', 'Old news', 'published', at, at, at)
  insert.run(2, 'old-draft', 'Old draft', 'draft', null, at, at)
  insert.run(3, 'old-wire', 'Old wire', 'published', at + 1000, at, at + 5000)
  sqlite.prepare("INSERT INTO tags (id, slug, name, created_at, updated_at) VALUES (1, 'archive', 'Archive', 0, 0)").run()
  sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) VALUES (1, 1, 0), (2, 1, 0)').run()
  sqlite.prepare("INSERT INTO comments (article_id, author_name, author_email, avatar_hash, body, body_html, status, created_at, updated_at) VALUES (1, 'Olga', 'olga@example.org', 'h', 'Hi', '<p>Hi</p>', 'approved', ?, ?)").run(at, at)
  t.throws(() => sqlite.prepare('SELECT image_url FROM articles').all(), /no such column/, 'no image column before the migration')
  sqlite.close()

  const a = await build(t, { databasePath: path })
  const article = (await a.inject({ method: 'GET', url: '/v1/articles/old-news' })).json()
  t.equal(article.image, null)
  t.equal(article.canonicalUrl, null)
  t.same((await a.inject({ method: 'GET', url: '/feeds/json' })).json().items.map((i: { title: string }) => i.title), ['Old wire', 'Old news'])
  t.same((await a.inject({ method: 'GET', url: '/feeds/json?tag=archive' })).json().items.map((i: { title: string }) => i.title), ['Old news'])
  t.equal((await a.inject({ method: 'GET', url: '/feeds/json?comments=old-news' })).json().items.length, 1)
  const page = (await a.inject({ method: 'GET', url: '/sitemaps/articles-1.xml' })).body
  t.match(page, '<loc>http://localhost/v1/articles/old-news</loc><lastmod>2026-07-01T00:00:00Z</lastmod>')
  t.match(page, '<loc>http://localhost/v1/articles/old-wire</loc><lastmod>2026-07-01T00:00:05Z</lastmod>')
  t.notMatch(page, /old-draft/)

  const plans = await a.app.syndication.explainSitemaps()
  t.same(plans.page, ['SEARCH articles USING COVERING INDEX articles_sitemap_idx (<expr>=?)'], 'a page is a range of the sitemap index')
  t.same(plans.index, [
    'SEARCH articles USING COVERING INDEX articles_sitemap_idx (<expr>>?)',
    'SEARCH articles USING COVERING INDEX articles_sitemap_idx (<expr>=?)'
  ], 'the index: a seek per block')
  t.notMatch([...plans.page, ...plans.index].join('\n'), /TEMP B-TREE/, 'no sort')

  t.equal(await a.app.syndication.publicChangedAt(), 0, 'the change clock starts at 0')
  const res = await a.as('editor', { method: 'DELETE', url: '/v1/articles/old-news' })
  t.equal(res.statusCode, 204)
  t.ok(await a.app.syndication.publicChangedAt() > Date.now() - 60_000, 'a deletion moved it')
})
