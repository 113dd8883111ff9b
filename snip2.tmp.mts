import { openDatabase } from './src/db/connection.js'
const db = openDatabase(process.argv[2]!)
const d = db.$client
try { d.exec("CREATE VIRTUAL TABLE temp.article_search_vocab USING fts5vocab(main, article_search, 'row')") } catch {}
for (const target of [3000, 4000, 6000, 8000]) {
  const w = d.prepare(`SELECT term, doc FROM temp.article_search_vocab WHERE doc BETWEEN ? AND ? LIMIT 1`).get(target, target * 1.3) as { term: string, doc: number } | undefined
  if (!w) { console.log('none for', target); continue }
  const fts = `"${w.term}"`
  const ids = JSON.stringify(d.prepare("SELECT rowid FROM article_search WHERE article_search MATCH ? ORDER BY rank LIMIT 20").pluck().all(fts))
  const t = (sql: string) => { const st = d.prepare(sql); for (let i = 0; i < 50; i++) st.all({ fts, ids }); const n = 300; const t0 = process.hrtime.bigint(); for (let i = 0; i < n; i++) st.all({ fts, ids }); return (Number(process.hrtime.bigint() - t0) / n / 1000).toFixed(0) }
  console.log(w.term, w.doc, 'perRowid', t('SELECT rowid FROM article_search WHERE article_search MATCH @fts AND rowid IN (SELECT value FROM json_each(@ids))'),
    'scan', t('SELECT rowid FROM article_search WHERE article_search MATCH @fts AND +rowid IN (SELECT value FROM json_each(@ids))'))
}
