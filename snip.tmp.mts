import { openDatabase } from './src/db/connection.js'
import { searchTerm } from './bench/content.js'
import { OPEN, CLOSE } from './src/articles/search-index.js'
const db = openDatabase(process.argv[2]!)
const d = db.$client
const fts = `"${searchTerm.toLowerCase()}"`
const matches = d.prepare('SELECT count(*) FROM article_search WHERE article_search MATCH ?').pluck().get(fts)
const ids = JSON.stringify(d.prepare("SELECT rowid FROM article_search WHERE article_search MATCH ? LIMIT 20").pluck().all(fts))
console.log(searchTerm, 'matches', matches)
const snippet = (c: number) => `snippet(article_search, ${c}, @open, @close, '…', 32)`
const where = 'WHERE article_search MATCH @fts AND rowid IN (SELECT value FROM json_each(@ids))'
const v: Record<string, string> = {
  heads: `SELECT rowid AS id, ${snippet(0)} AS title, ${snippet(1)} AS summary, gazette_hits(article_search, 3) AS bodyHits FROM article_search ${where}`,
  hitsOnly: `SELECT rowid AS id, gazette_hits(article_search, 3) AS bodyHits FROM article_search ${where}`,
  titleOnly: `SELECT rowid AS id, ${snippet(0)} AS title FROM article_search ${where}`,
  idsOnly: `SELECT rowid AS id FROM article_search ${where}`,
  bodySnip: `SELECT rowid AS id, ${snippet(3)} AS body FROM article_search ${where}`,
  idsPlus: `SELECT rowid AS id FROM article_search WHERE article_search MATCH @fts AND +rowid IN (SELECT value FROM json_each(@ids))`,
  headsPlus: `SELECT rowid AS id, ${snippet(0)} AS title, ${snippet(1)} AS summary, gazette_hits(article_search, 3) AS bodyHits FROM article_search WHERE article_search MATCH @fts AND +rowid IN (SELECT value FROM json_each(@ids))`,
  bodyPlus: `SELECT rowid AS id, ${snippet(3)} AS body FROM article_search WHERE article_search MATCH @fts AND +rowid IN (SELECT value FROM json_each(@ids))`,
  matchAll: `SELECT rowid AS id FROM article_search WHERE article_search MATCH @fts`,
  rowFetch: `SELECT id, title, summary, tags, length(body) FROM article_search_source WHERE id IN (SELECT value FROM json_each(@ids))`,
}
for (const [name, sql] of Object.entries(v)) {
  const st = d.prepare(sql)
  const args = { fts, ids, open: OPEN, close: CLOSE }
  const a = sql.includes('@open') ? args : sql.includes('@fts') ? { fts, ids } : { ids }
  for (let i = 0; i < 200; i++) st.all(a)
  const n = 2000; const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) st.all(a)
  console.log(name, (Number(process.hrtime.bigint() - t0) / n / 1000).toFixed(1), 'µs')
}
