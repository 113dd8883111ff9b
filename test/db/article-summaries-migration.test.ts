// Migration 0016 (stored summaries) upgrades a database with data made by the migrations before it: every
// existing article gets its stored summary from the backfill at start, and until then (and after) every list
// page answers what a fresh assembly would, to the public and to editors, searches and tags included.
import t from 'tap'
import { databaseMigratedTo, oldArchive } from './migrated.js'
import { build } from '../helper.js'
import { freshList } from '../articles/fresh-article.js'

t.test('lists from before the migration answer as before, then from stored summaries', async (t) => {
  const { path, sqlite } = databaseMigratedTo(t, (e, all) => e.idx < all.find((x) => x.tag.endsWith('_article_summaries'))!.idx)
  t.throws(() => sqlite.prepare('SELECT 1 FROM article_summaries').all(), /no such table/, 'the table is new')
  oldArchive(sqlite)
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
