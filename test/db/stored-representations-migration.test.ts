// Migration 0015 (stored representations) upgrades a database with data made by the migrations before it:
// every existing article, whatever its status, tags and comments, gets its stored form from the backfill
// at start, and until then (and after) its answers are a fresh assembly's, to the public and to editors.
import t from 'tap'
import { databaseMigratedTo, oldArchive } from './migrated.js'
import { build } from '../helper.js'
import { freshArticle } from '../articles/fresh-article.js'

t.test('articles from before the migration are served as before, then from their stored forms', async (t) => {
  const { path, sqlite } = databaseMigratedTo(t, (e, all) => e.idx < all.find((x) => x.tag.endsWith('_stored_representations'))!.idx)
  t.throws(() => sqlite.prepare('SELECT 1 FROM article_representations').all(), /no such table/, 'the table is new')
  oldArchive(sqlite)
  sqlite.close()

  const a = await build(t, { databasePath: path, responseCacheMb: 0 })
  const slugs = ['old-1', 'old-2', 'old-3', 'old-5', 'old-7', 'old-600', 'old-1199', 'old-1200']
  const compare = async (when: string) => {
    for (const slug of slugs) {
      const want = (await freshArticle(a, slug))!
      const ed = await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })
      t.equal(ed.body, want.payload, `${when}: ${slug}: the editor's bytes`)
      t.equal(ed.headers.etag, want.etag, `${when}: ${slug}: the editor's ETag`)
      const pub = await a.inject({ method: 'GET', url: `/v1/articles/${slug}` })
      if (want.visibleAt(a.clock.now)) {
        t.equal(pub.body, want.payload, `${when}: ${slug}: the public's bytes`)
        t.equal(pub.headers.etag, want.etag, `${when}: ${slug}: the public's ETag`)
      } else {
        t.equal(pub.statusCode, 404, `${when}: ${slug}: a draft or a scheduled article stays hidden`)
      }
    }
  }
  // The backfill started with the app; the reads do not depend on how far it got.
  await compare('during the backfill')
  await a.app.upkeep.fillRepresentations()
  t.equal(a.app.db.$client.prepare('SELECT count(*) FROM article_representations').pluck().get(), 1200, 'every article has its stored form')
  await compare('from the stored forms')
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/old-1' })).json().commentCount, 1)
  t.same((await a.inject({ method: 'GET', url: '/v1/articles/old-1' })).json().tags, [{ slug: 'quoted', name: 'The "Q"' }, { slug: 'world', name: 'World' }])
  // And the article's writes keep it up to date.
  t.equal((await a.as('editor', { method: 'PATCH', url: '/v1/articles/old-1', payload: { title: 'New' } })).statusCode, 200)
  await compare('after a write')
})
