// migrations/0008–0009 upgrade a database made before them: counts filled from the articles, tags that only
// hidden articles carry kept from the public (and tags without articles kept public, as made on purpose),
// the search index rebuilt with tag ids, and the token counts taken from it. The database is built by the
// migrations up to 0007 and filled the way the app of that time wrote, then opened by the app.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { migrationsFolder } from '../../src/db/connection.js'
import { build } from '../helper.js'

t.test('a database from before the bounded counts and search index upgrades in place', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-migration-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const before = join(dir, 'migrations')
  cpSync(migrationsFolder, before, { recursive: true })
  const journalPath = join(before, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] }
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.filter((e) => e.tag < '0008') }))

  const path = join(dir, 'old.db')
  const sqlite = new Database(path)
  migrate(drizzle(sqlite), { migrationsFolder: before })
  const past = Date.parse('2020-01-01T00:00:00.000Z')
  const future = Date.parse('2100-01-01T00:00:00.000Z')
  const article = sqlite.prepare(`INSERT INTO articles (id, slug, title, body, section, status, published_at, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)`)
  article.run(1, 'harbour-reopens', 'Harbour reopens', 'The ferry runs again.', 'World', 'published', past)
  article.run(2, 'secret-merger', 'Secret merger', 'Embargoed.', 'Business', 'draft', null)
  article.run(3, 'later', 'Later', 'Scheduled.', 'World', 'published', future)
  const tag = sqlite.prepare('INSERT INTO tags (id, slug, name, created_at, updated_at) VALUES (?, ?, ?, 0, 0)')
  tag.run(1, 'harbour', 'Harbour')
  tag.run(2, 'acme-merger', 'Acme Merger')
  tag.run(3, 'made-on-purpose', 'Made on purpose')
  const link = sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) VALUES (?, ?, ?)')
  link.run(1, 1, 0)
  link.run(2, 2, 0)
  link.run(3, 1, 0)
  link.run(3, 2, 1)
  sqlite.prepare("INSERT INTO article_authors (article_id, name) VALUES (1, 'Anna'), (2, 'Anna'), (3, 'Boris')").run()
  t.equal(sqlite.prepare('SELECT names FROM article_search_tags WHERE article_id = 3').pluck().get(), 'Harbour Acme Merger', 'the old index held tag names')
  sqlite.close()

  const a = await build(t, { databasePath: path })
  const db = a.app.db.$client
  t.same(db.prepare('SELECT slug, article_count, published_count, visible_count, curated FROM tags ORDER BY id').all(), [
    { slug: 'harbour', article_count: 2, published_count: 2, visible_count: 1, curated: 0 },
    { slug: 'acme-merger', article_count: 2, published_count: 1, visible_count: 0, curated: 0 },
    { slug: 'made-on-purpose', article_count: 0, published_count: 0, visible_count: 0, curated: 1 }
  ], 'counts from the articles; a tag without articles was made on purpose')
  t.same(db.prepare('SELECT kind, key, total, published, visible FROM article_counts ORDER BY kind, key').all(), [
    { kind: 'all', key: '', total: 3, published: 2, visible: 1 },
    { kind: 'author', key: 'Anna', total: 2, published: 1, visible: 1 },
    { kind: 'author', key: 'Boris', total: 1, published: 1, visible: 0 },
    { kind: 'section', key: 'Business', total: 1, published: 0, visible: 0 },
    { kind: 'section', key: 'World', total: 2, published: 2, visible: 1 }
  ])
  t.equal(db.prepare('SELECT names FROM article_search_tags WHERE article_id = 3').pluck().get(), 't1 t2', 'the index holds tag ids now')
  db.prepare("INSERT INTO article_search (article_search, rank) VALUES ('integrity-check', 1)").run()

  const publicTags = (await a.inject({ method: 'GET', url: '/v1/tags' })).json().data.map((x: { slug: string, articleCount: number }) => [x.slug, x.articleCount])
  t.same(publicTags, [['harbour', 1], ['made-on-purpose', 0]], 'the draft-only tag is gone from the public, the unused one stays')
  const search = async (q: string, role?: 'editor') => {
    const opts = { method: 'GET' as const, url: `/v1/articles?q=${encodeURIComponent(q)}` }
    const res = role === undefined ? await a.inject(opts) : await a.as(role, opts)
    return res.json().data.map((x: { slug: string }) => x.slug).sort()
  }
  t.same(await search('harbour'), ['harbour-reopens'])
  t.same(await search('acme'), [], 'the public finds nothing through a hidden tag')
  t.same(await search('acme', 'editor'), ['later', 'secret-merger'], 'editors find articles by their tag names')
  t.same(await search('ferr*'), ['harbour-reopens'])
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles?include=total&section=World' })).json().page.total, 1)
  t.same(db.prepare("SELECT docs FROM search_terms WHERE term IN ('ferri', 'harbour', 'secret') ORDER BY term").pluck().all(), [1, 1, 1],
    'tokens counted from the index')
})
