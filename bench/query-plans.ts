// Prints the EXPLAIN QUERY PLAN of every article-list query shape (bench/list-cases.ts) as Markdown,
// on a database built by bench/seed.ts: `node --import tsx bench/query-plans.ts [articles] > bench/query-plans.md`.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { defaultConfig } from '../src/config.js'
import { listCases } from './list-cases.js'
import { seedArticles } from './seed.js'

const count = Number(process.argv[2] ?? 20_000)
const dir = mkdtempSync(join(tmpdir(), 'gazette-plans-'))
try {
  const path = join(dir, 'plans.db')
  const now = Date.now()
  const seeded = seedArticles(path, count, now)
  const app = await buildApp({ config: { ...defaultConfig, databasePath: path, seedDemo: false }, clock: () => now })
  await app.ready()
  const out: string[] = [
    '# Article list query plans',
    '',
    `EXPLAIN QUERY PLAN of each statement \`GET /v1/articles\` issues, per query shape, on a ${seeded.articles.toLocaleString('en')}-article`,
    'database from bench/seed.ts (no ANALYZE statistics, as a fresh Gazette database has none). Regenerate with',
    '`node --import tsx bench/query-plans.ts > bench/query-plans.md`; test/articles/query-plan.test.ts fails when a',
    'list query scans the articles table without an index or sorts a date-ordered list in a temporary B-tree.',
    '',
    'Reading them: `SEARCH … USING INDEX x (a=? AND b<?)` is an index range (cost grows with the page, not',
    'with the depth of the page); `SCAN … USING INDEX` walks an index in order and stops at the page\'s end;',
    '`USE TEMP B-TREE FOR ORDER BY` sorts the candidate rows, which is only allowed where they are few (a rare',
    'tag or author, whose articles drive the query) or must all be ranked anyway (search by relevance).',
    ''
  ]
  const names = { rareTag: 'topic-190', commonTag: 'topic-1', rareAuthor: 'Nobody Yet', commonAuthor: 'Reporter 7' }
  for (const c of listCases(now, names)) {
    out.push(`## ${c.name}`, '')
    for (const s of await app.articles.explainList(c.params)) {
      out.push(`${s.name}:`, '', '```', ...s.plan, '```', '')
    }
  }
  await app.close()
  console.log(out.join('\n'))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
