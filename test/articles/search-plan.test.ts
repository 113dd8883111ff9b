// The plans of the search's own SQL, beside those of the article list (test/articles/query-plan.test.ts):
// what prices a search before it runs (src/articles/search-index.ts) reads one key or one range of an index,
// never a whole table; and a search sorted by date runs the way its number of matches asks: very few, and
// the full-text index drives, the matches sorted through the narrow index (a walk along the date index cost
// a whole pass over it at a million articles for a word in no article: 65 ms); up to LISTED_MATCHES, they
// are a list the walk along the date index checks; more are checked article by article in the full-text
// index along the date index. Every walk is in the index's order, unsorted.
import t from 'tap'
import { LISTED_MATCHES } from '../../src/articles/listing/index.js'
import type { ArticleListParams } from '../../src/articles/repository.js'
import { parseSearch } from '../../src/articles/search.js'
import { searchPlanner } from '../../src/articles/search-index.js'
import { build, createArticle, onSqlite } from '../helper.js'

t.test('the search planner reads search_terms by key or range, and tag names through their index', onSqlite, async (t) => {
  const a = await build(t)
  const plans = new Map(searchPlanner(a.app.db).explain().map((s) => [s.name, s.plan.join('\n')]))
  t.match(plans.get('a word\'s count'), /^SEARCH search_terms USING INDEX sqlite_autoindex_search_terms_1 \(term=\?\)$/)
  for (const name of ['a prefix\'s size', 'a prefix\'s words']) {
    t.match(plans.get(name), /^SEARCH search_terms USING INDEX sqlite_autoindex_search_terms_1 \(term>\? AND term<\?\)$/, name)
  }
  t.match(plans.get('the tags a word names'), /^SCAN s VIRTUAL TABLE INDEX \d+:M\d*\nSEARCH t USING INTEGER PRIMARY KEY \(rowid=\?\)$/)
  t.match(plans.get('the matches, counted up to a limit'), /^CO-ROUTINE \(subquery-1\)\nSCAN article_search VIRTUAL TABLE INDEX \d+:M\d*\nSCAN \(subquery-1\)$/)
  for (const [name, plan] of plans) t.notMatch(plan, /^SCAN (search_terms|tags|articles)\b/m, `${name}: no table scan\n${plan}`)
})

t.test('sorted by either date: very few matches drive the page, more are checked along the date index', onSqlite, async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Harbour news', status: 'published' })
  const sqlite = a.app.db.$client
  // As if the archive held a million articles, and then as if the word were in more and more of them: the
  // counts decide the plan (article_counts and search_terms, drafts included).
  sqlite.prepare("UPDATE article_counts SET total = 1000000 WHERE kind = 'all'").run()
  const matches = (n: number) => sqlite.prepare("UPDATE search_terms SET docs = ? WHERE term = 'harbour'").run(n)
  const params: ArticleListParams = {
    limit: 20,
    after: undefined,
    visibility: { visibleAt: a.clock.now },
    status: 'published',
    tags: [],
    section: undefined,
    author: undefined,
    publishedAfter: undefined,
    publishedBefore: undefined,
    search: parseSearch('harbour'),
    sort: '-publishedAt',
    withTotal: false
  }
  const page = async (over: Partial<ArticleListParams>) => (await a.app.articles.explainList({ ...params, ...over }))[0]!.plan.join('\n')
  const shapes = (['-publishedAt', 'publishedAt', '-updatedAt'] as const).flatMap((sort): [string, Partial<ArticleListParams>][] =>
    [[`sort=${sort}`, { sort }], [`sort=${sort}, later page`, { sort, after: [a.clock.now - 86_400_000, 5000] }]])
  const walks = (plan: string, over: Partial<ArticleListParams>): boolean => new RegExp(
    `^SEARCH articles USING (COVERING )?INDEX ${over.sort === '-updatedAt' ? 'articles_status_updated_idx' : 'articles_status_published_idx'} \\(status=\\?`).test(plan)

  matches(1)
  for (const [name, over] of shapes) {
    const plan = await page(over)
    t.match(plan, /^(CO-ROUTINE candidates\n)?SCAN article_search VIRTUAL TABLE INDEX \d+:M/, `1 match, ${name}: the full-text index drives\n${plan}`)
    t.match(plan, /\nSEARCH articles USING COVERING INDEX articles_visibility_idx \(id=\?/, `1 match, ${name}: sorted through the narrow index\n${plan}`)
  }
  matches(LISTED_MATCHES)
  for (const [name, over] of shapes) {
    const plan = await page(over)
    t.ok(walks(plan, over), `${LISTED_MATCHES} matches, ${name}: the date index drives\n${plan}`)
    t.match(plan, /LIST SUBQUERY \d+\nSCAN article_search VIRTUAL TABLE INDEX \d+:M/, `${LISTED_MATCHES} matches, ${name}: checked against their list\n${plan}`)
    t.notMatch(plan, /TEMP B-TREE/, `${LISTED_MATCHES} matches, ${name}: no sort\n${plan}`)
  }
  matches(LISTED_MATCHES + 1)
  for (const [name, over] of shapes) {
    const plan = await page(over)
    t.ok(walks(plan, over), `more, ${name}: the date index drives\n${plan}`)
    t.match(plan, /SCAN article_search (EXISTS )?VIRTUAL TABLE INDEX \d+:=M/, `more, ${name}: each article checked in the full-text index\n${plan}`)
    t.notMatch(plan, /TEMP B-TREE/, `more, ${name}: no sort\n${plan}`)
  }
})
