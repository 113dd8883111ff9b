// A search's snippets ask FTS5 for the body's snippet only where it could have more marks than the title's
// and the summary's (src/articles/search-index.ts, snippetReader). The answers must be those of asking for
// all three snippets of every hit and keeping the one with the most marks: checked here against that, on
// articles where the title wins, the summary wins, the body wins (more marks than the title), ties, and
// an article found by a tag name alone. The page's rows are reached one of two ways, by how many articles
// match (SCAN_MATCHES): both must give the same snippets.
import t from 'tap'
import { parseSearch } from '../../src/articles/search.js'
import { searchPlanner, snippetReader } from '../../src/articles/search-index.js'
import { build, createArticle, onSqlite } from '../helper.js'

t.test('snippets are those of the best of title, summary and body', onSqlite, async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 })
  const filler = 'words that say nothing much about anything at all here '.repeat(12)
  await createArticle(a, { title: 'Harbour in the title', body: `${filler} no mark here`, status: 'published' })
  await createArticle(a, { title: 'Plain title', summary: 'The harbour, in the summary', body: filler, status: 'published' })
  await createArticle(a, { title: 'Harbour once', body: `Harbour, harbour and harbour again: the harbour. ${filler}`, status: 'published' })
  await createArticle(a, { title: 'Harbour and harbour', summary: 'harbour harbour', body: `one harbour ${filler} harbour`, status: 'published' })
  await createArticle(a, { title: 'Ships', summary: 'Fleet news', body: `${filler} the fleet in the harbour, fleet and fleet`, status: 'published', tags: ['Docks'] })
  await createArticle(a, { title: 'Tagged only', body: filler, status: 'published', tags: ['Harbour Works', 'Other'] })
  await createArticle(a, { title: 'Fleet week', summary: 'The fleet', body: `${filler} fleet fleet fleet harbour harbour`, status: 'published' })

  const planner = searchPlanner(a.app.db)
  let bodies = 0
  for (const q of ['harbour', 'fleet', 'harbour fleet', 'harb*', '"harbour again"', 'docks', 'works']) {
    const res = await a.inject({ method: 'GET', url: `/v1/articles?q=${encodeURIComponent(q)}&limit=50` })
    t.equal(res.statusCode, 200, q)
    const got = res.json().data as { id: number, snippet: string }[]
    t.ok(got.length > 0, `${q}: hits`)
    // The reference: all three snippets of every hit, the one with the most marks (the first on a tie).
    const plan = planner.plan(parseSearch(q))
    const open = '\u0002o\u0003'
    const close = '\u0003c\u0002'
    const rows = a.app.db.$client.prepare(`SELECT rowid AS id, snippet(article_search, 0, @open, @close, '…', 32) AS title,
      snippet(article_search, 1, @open, @close, '…', 32) AS summary, snippet(article_search, 3, @open, @close, '…', 32) AS body
      FROM article_search WHERE article_search MATCH @fts`).all({ fts: plan.fts, open, close }) as { id: number, title: string | null, summary: string | null, body: string | null }[]
    const marks = (x: string | null) => x === null ? 0 : x.split(open).length - 1
    for (const item of got) {
      const r = rows.find((x) => x.id === item.id)!
      const best = [r.title, r.summary, r.body].reduce((x, y) => marks(y) > marks(x) ? y : x)
      if (best === r.body && marks(r.body) > 0) bodies++
      if (marks(best) === 0) {
        t.match(item.snippet, /<mark>/, `${q}, ${item.id}: a tag name marked`)
        continue
      }
      const expected = (best ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
        .replaceAll(open, '<mark>').replaceAll(close, '</mark>')
      t.equal(item.snippet, expected, `${q}, article ${item.id}`)
    }
  }
  t.ok(bodies >= 3, `the body's snippet won ${bodies} times (it must still be asked for then)`)

  // The HTTP answers above ran the search once per page (few matches); the same snippets once per row.
  const byId = snippetReader(a.app.db, 0)
  const byScan = snippetReader(a.app.db, Infinity)
  const tagsOf = (ids: number[]) => new Map(ids.map((id) => [id, [{ slug: 'harbour-works', name: `Tags of ${id}` }]]))
  for (const q of ['harbour', 'fleet', 'harbour fleet', 'harb*', '"harbour again"', 'docks', 'works']) {
    const plan = planner.plan(parseSearch(q))
    const ids = a.app.db.$client.prepare('SELECT rowid FROM article_search WHERE article_search MATCH ? ORDER BY rowid').pluck().all(plan.fts) as number[]
    const scanned = [...byScan(plan, ids.length, ids, tagsOf)].sort(([x], [y]) => x - y)
    t.ok(scanned.length > 0, `${q}: snippets`)
    t.same([...byId(plan, ids.length, ids, tagsOf)].sort(([x], [y]) => x - y), scanned, `${q}: the same snippets either way`)
  }
})
