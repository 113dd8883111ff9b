import Database from 'better-sqlite3'
import { SUMMARIES_SQL } from './src/articles/stored.js'
const d = new Database(process.argv[2]!, { readonly: true })
const pages: string[] = []
const ids = d.prepare("select id from articles where status='published' order by published_at desc").pluck().all() as number[]
for (let i = 0; i < 50; i++) pages.push(JSON.stringify(ids.slice(i * 20, i * 20 + 20)))
const noTags = SUMMARIES_SQL.replace(/\(SELECT json_group_array[\s\S]*?n\.id\) AS tags/, "'[]' AS tags")
const unordered = SUMMARIES_SQL.replace(' ORDER BY at.position', '')
const variants: Record<string, string> = { current: SUMMARIES_SQL, noTags, unordered }
for (const [name, sql] of Object.entries(variants)) {
  const st = d.prepare(sql)
  for (let i = 0; i < 500; i++) st.all(pages[i % 50])
  const n = 5000; const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) st.all(pages[i % 50])
  console.log(name, (Number(process.hrtime.bigint() - t0) / n / 1000).toFixed(1), 'µs')
}
