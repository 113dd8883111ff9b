// The plans of the SQL the article list really issues (app.articles.explainList builds the same statements
// that list() runs), for every query shape in bench/list-cases.ts: none may scan the articles table without
// an index, and a date-ordered page may not sort in a temporary B-tree unless a rare tag or author (or a
// search) bounds the rows to sort. bench/query-plans.md lists the plans.
import t from 'tap'
import { listCases } from '../../bench/list-cases.js'
import { RARE_MEMBERSHIP } from '../../src/articles/listing/index.js'
import { build, createArticle, onSqlite } from '../helper.js'

t.test('every list query uses an index, at any page depth', onSqlite, async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Harbour news', status: 'published', tags: ['Rare'], authors: ['Rare Writer'], section: 'Sport' })
  // Enough articles with one tag and one author that neither counts as rare: they must not drive the query.
  const sqlite = a.app.db.$client
  sqlite.transaction(() => {
    const article = sqlite.prepare(`INSERT INTO articles (slug, title, body, status, published_at, created_at, updated_at)
      VALUES (?, ?, 'harbour', 'published', ?, ?, ?)`)
    const tagId = sqlite.prepare("INSERT INTO tags (slug, name, created_at, updated_at) VALUES ('common', 'Common', 0, 0) RETURNING id").pluck().get()
    for (let i = 0; i < RARE_MEMBERSHIP + 50; i++) {
      const at = a.clock.now - i * 60_000
      const id = article.run(`bulk-${i}`, `Bulk ${i}`, at, at, at).lastInsertRowid
      sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) VALUES (?, ?, 0)').run(id, tagId)
      sqlite.prepare("INSERT INTO article_authors (article_id, name) VALUES (?, 'Staff')").run(id)
    }
  })()

  const names = { rareTag: 'rare', commonTag: 'common', rareAuthor: 'Rare Writer', commonAuthor: 'Staff' }
  for (const c of listCases(a.clock.now, names)) {
    const statements = await a.app.articles.explainList(c.params)
    t.ok(statements.length > 0, `${c.name}: has statements`)
    const summaries = 'the page\'s stored summaries'
    for (const s of statements) {
      const plan = s.plan.join('\n')
      t.notMatch(plan, /^SCAN articles(?! USING)/m, `${c.name} (${s.name}): no full scan of articles\n${plan}`)
      if (!c.sorts && s.name !== 'total' && s.name !== summaries) t.notMatch(plan, /TEMP B-TREE/, `${c.name} (${s.name}): served in index order\n${plan}`)
      // Every page statement finds ids from indexes alone: no article row, whose listed columns lie behind the
      // body. (A section's page by updatedAt checks the section in the row: no index has both.)
      if (s.name.startsWith('page') && !c.name.includes('section, sort=-updatedAt')) t.notMatch(plan, /SEARCH articles USING (INDEX|INTEGER PRIMARY KEY)/, `${c.name} (${s.name}): no article row read\n${plan}`)
    }
    // The page's articles: by id, from the narrow index and the stored summaries (what sorts is one article's tags).
    t.match(statements.find((s) => s.name === summaries)?.plan.join('\n'),
      /^SCAN j VIRTUAL TABLE INDEX \d+:\nSEARCH n USING COVERING INDEX articles_listed_idx \(id=\?\)\nSEARCH s USING INTEGER PRIMARY KEY \(rowid=\?\) LEFT-JOIN\n/, `${c.name}: the page's articles are read by id`)
    const page = statements[0]!.plan.join('\n')
    if (c.name.startsWith('public, sort=-publishedAt')) t.match(page, /SEARCH articles USING COVERING INDEX articles_status_published_idx/)
    if (c.name.startsWith('public, sort=-updatedAt, later')) t.match(page, /SEARCH articles USING COVERING INDEX articles_status_updated_idx \(status=\? AND updated_at<\?\)/)
    if (c.name.startsWith('public, section, sort=-publishedAt')) t.match(page, /SEARCH articles USING COVERING INDEX articles_section_status_idx \(section=\? AND status=\? AND published_at<\?\)/)
    // A public page by date with a tag: one range of the smallest tag's rows in its own index, in date order.
    if (c.name.includes('public rows drive')) {
      t.match(page, /^SEARCH d USING COVERING INDEX article_tags_public_idx \(tag_id=\? AND /, `${c.name}: the tag's public rows drive\n${page}`)
      // A later page's range starts at its cursor, not at the newest row (its cost does not grow with depth).
      if (c.name.endsWith('later page')) t.match(page, /^SEARCH d USING COVERING INDEX article_tags_public_idx \(tag_id=\? AND \(public_at,article_id\)<\(\?,\?\)\)/, `${c.name}: the cursor starts the range`)
    }
    if (c.name.includes('common and rare tag')) t.match(page, /SEARCH m (EXISTS )?USING COVERING INDEX article_tags_tag_idx \(tag_id=\? AND article_id=\?\)/, `${c.name}: the common tag is checked per row`)
    if (c.name.includes('rare tag, sort=-updatedAt')) t.match(page, /^SEARCH article_tags USING COVERING INDEX article_tags_tag_idx/, `${c.name}: the rare tag drives`)
    if (c.name.includes('rare author')) t.match(page, /^SEARCH article_authors USING COVERING INDEX article_authors_name_idx/)
    if (c.name.startsWith('public, common tag, sort=-updatedAt')) t.notMatch(page, /^SEARCH (article_tags|d) USING/, `${c.name}: a common tag does not drive`)
    if (c.name.includes('sort=relevance')) {
      // The best matches are ranked from the full-text index alone, then checked through the narrow
      // index keyed by id (never the article rows, whose status and date sit behind the body).
      for (const s of statements.filter((s) => s.name.startsWith('page'))) {
        const plan = s.plan.join('\n')
        t.match(plan, /^(CO-ROUTINE candidates\n)?SCAN article_search VIRTUAL TABLE/, `${c.name} (${s.name}): the full-text index drives`)
        t.match(plan, /SEARCH articles USING COVERING INDEX articles_visibility_idx \(id=\?/, `${c.name} (${s.name}): filters read the narrow index`)
      }
      // Unfiltered, the page first tries the best candidates, and its exhaustive try is explained too; with
      // filters (a tag here) the page ranks every match at once.
      const filtered = c.params.tags.length > 0
      t.equal(statements.some((s) => s.name.startsWith('page over every match')), !filtered, `${c.name}: the exhaustive try, when there is one, is explained too`)
    }
  }
  t.same(await a.app.articles.explainList({ ...listCases(a.clock.now, names)[0]!.params, tags: ['no-such-tag'] }), [], 'an unknown tag runs nothing')

  // Both tag strategies page correctly: the common tag (EXISTS per row) and the rare one (driving).
  const walk = async (query: string) => {
    const seen: string[] = []
    let url: string | undefined = `/v1/articles?${query}&limit=100`
    while (url !== undefined) {
      const body = (await a.inject({ method: 'GET', url })).json() as { data: { slug: string }[], page: { nextCursor: string | null } }
      seen.push(...body.data.map((x) => x.slug))
      url = body.page.nextCursor === null ? undefined : `/v1/articles?${query}&limit=100&cursor=${body.page.nextCursor}`
    }
    return seen
  }
  const common = await walk('tag=common')
  t.equal(common.length, RARE_MEMBERSHIP + 50)
  t.same(common.slice(0, 3), ['bulk-0', 'bulk-1', 'bulk-2'], 'newest first')
  t.equal(new Set(common).size, common.length)
  t.same(await walk('tag=common&tag=rare'), [])
  t.same(await walk('tag=rare'), ['harbour-news'])
  t.equal((await walk('author=Staff&sort=publishedAt')).length, RARE_MEMBERSHIP + 50)
})
