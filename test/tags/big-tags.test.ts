// A tag on many articles: renaming it rewrites one row (the search index holds tag ids, not names), and
// deleting it answers at once and hides it from every reader at once, its article rows leaving afterwards
// in bounded slices (src/tags/sweeper.ts). Before, both rewrote every article's search index entry in the
// request: 20 s for a tag on 88,557 articles at a million (issue 18).
import t from 'tap'
import { tagSweeper } from '../../src/tags/sweeper.js'
import { assertProblem, build, createArticle, type TestApp, onSqlite } from '../helper.js'

// Enough articles to tell one row from one per article; the sweeper's slices are made small to match.
const MANY = 250
const SLICE = 100

/**
 * MANY published articles tagged `slug` (and "Other"), inserted directly; the triggers index and count them.
 * Announced, as the app leaves a visible article (the event log told consumers): not due publications.
 */
async function tagged (a: TestApp, name: string): Promise<number> {
  await createArticle(a, { title: 'Via the API', status: 'published', tags: [name, 'Other'] })
  const sqlite = a.app.db.$client
  const tagId = sqlite.prepare('SELECT id FROM tags WHERE name = ?').pluck().get(name) as number
  const other = sqlite.prepare("SELECT id FROM tags WHERE name = 'Other'").pluck().get() as number
  sqlite.transaction(() => {
    const article = sqlite.prepare(`INSERT INTO articles (slug, title, body, status, published_at, created_at, updated_at, announced)
      VALUES (?, ?, 'A report.', 'published', ?, ?, ?, 1)`)
    const link = sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) VALUES (?, ?, ?)')
    for (let i = 1; i < MANY; i++) {
      const at = a.clock.now - i * 1000
      const id = article.run(`report-${i}`, `Report ${i}`, at, at, at).lastInsertRowid
      link.run(id, tagId, 0)
      link.run(id, other, 1)
    }
  })()
  return tagId
}

const changesDuring = async (a: TestApp, request: () => Promise<unknown>): Promise<number> => {
  const changes = a.app.db.$client.prepare('SELECT total_changes()').pluck()
  const before = changes.get() as number
  await request()
  return (changes.get() as number) - before
}
const total = async (a: TestApp, query: string, role?: 'editor') => {
  const opts = { method: 'GET' as const, url: `/v1/articles?limit=1&include=total&sort=-publishedAt&${query}` }
  const res = role === undefined ? await a.inject(opts) : await a.as(role, opts)
  t.equal(res.statusCode, 200, `${query}: ${res.body.slice(0, 200)}`)
  return res.json().page.total as number
}
const integrity = (a: TestApp) => a.app.db.$client.prepare("INSERT INTO article_search (article_search, rank) VALUES ('integrity-check', 1)").run()

t.test('renaming a tag on many articles rewrites one row, and searches follow the new name', onSqlite, async (t) => {
  const a = await build(t)
  await tagged(a, 'Harbour')
  t.equal(await total(a, 'q=harbour'), MANY)
  let res: Awaited<ReturnType<TestApp['as']>> | undefined
  const changes = await changesDuring(a, async () => {
    res = await a.as('editor', { method: 'PATCH', url: '/v1/tags/harbour', payload: { name: 'Seaport', slug: 'seaport' } })
  })
  t.equal(res!.statusCode, 200)
  t.equal(res!.json().articleCount, MANY)
  t.ok(changes < 20, `the rename changed ${changes} rows, not one per article`)
  t.equal(await total(a, 'q=seaport'), MANY, 'found by the new name')
  t.equal(await total(a, 'q=harbour'), 0, 'not by the old one')
  t.equal(await total(a, 'q=seap*'), MANY, 'and by a prefix of it')
  t.same((await a.inject({ method: 'GET', url: '/v1/articles/via-the-api' })).json().tags, [{ slug: 'seaport', name: 'Seaport' }, { slug: 'other', name: 'Other' }])
  integrity(a)
})

t.test('deleting a tag on many articles: gone at once for every reader, its rows removed in slices after', onSqlite, async (t) => {
  const a = await build(t)
  const id = await tagged(a, 'Budget')
  const rows = a.app.db.$client.prepare('SELECT count(*) FROM article_tags WHERE tag_id = ?').pluck()
  const otherBefore = (await a.inject({ method: 'GET', url: '/v1/tags/other' })).json().articleCount
  const changedAt = a.app.db.$client.prepare('SELECT changed_at FROM public_changes WHERE id = 1').pluck()
  a.app.db.$client.prepare('UPDATE public_changes SET changed_at = 0').run()
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/tags/budget' })).statusCode, 204)
  t.ok((rows.get(id) as number) > 0, 'its article rows are still there, going in the background')
  // Its articles changed for the public at the mark: feeds' and sitemaps' Last-Modified must move then.
  t.ok((changedAt.get() as number) > 0, 'the public change clock moved with the mark, before any row went')

  // Nobody sees it any more, though its rows are not all gone yet.
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/tags/budget' }), 404, 'not-found')
  assertProblem(t, await a.as('editor', { method: 'GET', url: '/v1/tags/budget' }), 404, 'not-found')
  t.notOk((await a.as('editor', { method: 'GET', url: '/v1/tags?limit=100' })).json().data.some((x: { slug: string }) => x.slug === 'budget'))
  t.same((await a.inject({ method: 'GET', url: '/v1/articles/via-the-api' })).json().tags, [{ slug: 'other', name: 'Other' }])
  t.same((await a.inject({ method: 'GET', url: '/v1/articles?tag=budget' })).json().data, [])
  t.equal(await total(a, 'q=budget'), 0, 'its name finds nothing')
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags/other' })).json().articleCount, otherBefore, 'other tags keep their counts')
  // Its slug and name are free again at once.
  const again = await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Budget' } })
  t.equal(again.statusCode, 201)
  t.same(again.json(), { slug: 'budget', name: 'Budget', description: null, articleCount: 0 })
  t.equal((await a.as('editor', { method: 'PATCH', url: '/v1/articles/via-the-api', payload: { tags: ['Budget'] } })).json().tags[0].slug, 'budget')
  t.equal(await total(a, 'q=budget'), 1, 'the new Budget is searched by its own articles only')

  await a.app.upkeep.sweep()
  t.equal(rows.get(id), 0, 'every row of the deleted tag is gone')
  t.equal(a.app.db.$client.prepare('SELECT count(*) FROM tags WHERE id = ?').pluck().get(id), 0, 'and the tag itself')
  integrity(a)
})

t.test('sweeping a deleted tag writes nothing but the rows it removes', onSqlite, async (t) => {
  // The mark moved the public change clock and hid the tag; each swept row used to fire the triggers of an
  // ordinary removal too (the tag's counts, the clock), each reading its article's row behind the body: at
  // a million articles a slice of 2,000 then took 160 ms of CPU cold, past the query budget on a busy
  // machine, so slices were interrupted again and again and 212,188 rows would have taken hours.
  const a = await build(t)
  const id = await tagged(a, 'Ferry')
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/tags/ferry' })).statusCode, 204)
  const sqlite = a.app.db.$client
  sqlite.prepare('UPDATE public_changes SET changed_at = 0').run()
  sqlite.prepare('UPDATE tags SET article_count = 7, published_count = 7, visible_count = 7 WHERE id = ?').run(id)
  const rows = sqlite.prepare('SELECT count(*) FROM article_tags WHERE tag_id = ?').pluck()
  const sweeper = tagSweeper(a.app.db, SLICE)
  await sweeper.step()
  t.equal(rows.get(id), MANY - SLICE, 'a slice went')
  t.same(sqlite.prepare('SELECT article_count, published_count, visible_count FROM tags WHERE id = ?').get(id),
    { article_count: 7, published_count: 7, visible_count: 7 }, 'the deleted tag\'s counts are left alone')
  t.equal(sqlite.prepare('SELECT changed_at FROM public_changes').pluck().get(), 0, 'the public change clock is left alone')
  await a.app.upkeep.sweep()
  t.equal(rows.get(id), 0)
})

t.test('the sweeper removes at most a slice of rows per transaction', onSqlite, async (t) => {
  const a = await build(t)
  const id = await tagged(a, 'Ferry')
  const rows = a.app.db.$client.prepare('SELECT count(*) FROM article_tags WHERE tag_id = ?').pluck()
  // Marked deleted directly (no wake-up), then swept step by step.
  a.app.db.$client.prepare('UPDATE tags SET deleted_at = ? WHERE id = ?').run(a.clock.now, id)
  const sweeper = tagSweeper(a.app.db, SLICE)
  const seen: number[] = []
  while (await sweeper.step()) seen.push(rows.get(id) as number)
  t.same(seen, [MANY - SLICE, MANY - 2 * SLICE, 0, 0], 'a slice at a time, then the tag row')
  t.equal(a.app.db.$client.prepare('SELECT count(*) FROM tags WHERE id = ?').pluck().get(id), 0)
  t.equal(await sweeper.step(), false, 'nothing left to do')
})

t.test('renaming or deleting a tag moves the public change clock exactly when the public could see one of its articles', onSqlite, async (t) => {
  // The triggers read the tag's stored visible count, and the articles that fell due since the counts were
  // settled; they used to join the tag's rows with every published article by date (170–275 ms per write
  // for a big, recent tag at a million articles: DELETE answered 503 under the query budget). The database
  // clock is the real one, so these articles are dated by Date.now(), not by the test's clock.
  const a = await build(t)
  const sqlite = a.app.db.$client
  const clock = sqlite.prepare('SELECT changed_at FROM public_changes WHERE id = 1').pluck()
  const article = sqlite.prepare(`INSERT INTO articles (slug, title, body, status, published_at, created_at, updated_at)
    VALUES (?, ?, 'A report.', ?, ?, ?, ?)`)
  const link = sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) SELECT ?, id, 0 FROM tags WHERE slug = ?')
  const tagOn = async (name: string, status: 'draft' | 'published', publishedAt: number | null): Promise<void> => {
    t.equal((await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name } })).statusCode, 201)
    const slug = name.toLowerCase().replace(/ /g, '-')
    link.run(article.run(slug, name, status, publishedAt, Date.now(), Date.now()).lastInsertRowid, slug)
  }
  const moves = async (request: Parameters<TestApp['as']>[1]): Promise<boolean> => {
    sqlite.prepare('UPDATE public_changes SET changed_at = 0').run()
    const res = await a.as('editor', request)
    t.ok(res.statusCode < 300, `${request.method} ${request.url}: ${res.statusCode}`)
    return (clock.get() as number) > 0
  }

  sqlite.prepare('UPDATE counts_settled SET at = ? WHERE id = 1').run(Date.now())
  await tagOn('Long ago', 'published', Date.now() - 86_400_000)
  await tagOn('Just due', 'published', Date.now() + 300)
  await tagOn('Just due too', 'published', Date.now() + 300)
  await tagOn('Still a draft', 'draft', null)
  await tagOn('Next week', 'published', Date.now() + 7 * 86_400_000)
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.same(sqlite.prepare("SELECT slug, visible_count FROM tags WHERE slug IN ('long-ago', 'just-due') ORDER BY slug").all(),
    [{ slug: 'just-due', visible_count: 0 }, { slug: 'long-ago', visible_count: 1 }], 'the due article is not in the stored count yet')

  t.ok(await moves({ method: 'DELETE', url: '/v1/tags/long-ago' }), 'a tag on a visible article (stored count)')
  t.ok(await moves({ method: 'DELETE', url: '/v1/tags/just-due' }), 'a tag on an article due since the counts were settled')
  t.ok(await moves({ method: 'PATCH', url: '/v1/tags/just-due-too', payload: { name: 'Due and renamed' } }), 'renamed, the same')
  t.notOk(await moves({ method: 'DELETE', url: '/v1/tags/still-a-draft' }), 'a draft\'s tag moves nothing')
  t.notOk(await moves({ method: 'PATCH', url: '/v1/tags/next-week', payload: { name: 'Next month' } }), 'nor a scheduled article\'s')

  // And the window is read from the (status, published_at) index, never by walking every published article.
  for (const name of ['public_changes_tag_renamed', 'public_changes_tag_deleted']) {
    const text = sqlite.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?").pluck().get(name) as string
    const exists = /EXISTS \(\s*(SELECT[\s\S]*?)\)\)\s*BEGIN/.exec(text)
    t.ok(exists, `${name} has its EXISTS`)
    const plan = (sqlite.prepare(`EXPLAIN QUERY PLAN ${exists![1]!.replace(/old\.id/g, '?')}`).all(1) as { detail: string }[]).map((r) => r.detail)
    t.match(plan[0], /^SEARCH a USING COVERING INDEX articles_status_published_idx \(status=\? AND published_at>\? AND published_at<\?\)$/, `${name}: ${plan.join('; ')}`)
    t.notOk(plan.some((d) => d.startsWith('SCAN')), `${name}: no scan`)
  }
})
