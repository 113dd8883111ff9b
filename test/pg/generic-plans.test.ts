// The list pages the app runs as named statements, followed past their first page: the front page, a
// tag's page and a ranked search. PostgreSQL parses a named statement once per connection and, after five
// runs, may keep a generic plan made without its values (the time, the tag, the cursor, the words). Each
// page's generic plan is run here (`plan_cache_mode = force_generic_plan`, EXPLAIN ANALYZE of EXECUTE with
// the values the app sent) on 5,000 articles: it must read about a page's rows, in the page's order,
// whatever the values it was made without. test/pg/tag-page-plan.test.ts and test/pg/search-plan.test.ts
// check the first pages of a tag and of a search the same way.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { build } from '../helper.js'
import { planNodes as nodes, rowsRead, statementsSent, type PlanNode, type SentStatement } from './sent.js'

const path = (link: string | string[] | number | undefined): string =>
  String(link).match(/<([^>]+)>; rel="next"/)![1]!.replace(/^https?:\/\/[^/]+/, '')

t.test('the named pages\' generic plans read a page, on every page', async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine: 'postgres' })
  const db = a.pg!.db
  // 5,000 published articles a minute apart, ten newer drafts; one in twenty tagged "rare", the rest
  // "common"; the word "lighthouse" in the body of one in a hundred (50 matches).
  const at = a.clock.now - 6000 * 60_000
  await db.execute(sql`INSERT INTO tags (slug, name, created_at, updated_at) VALUES ('rare', 'Rare', ${at}::bigint, ${at}::bigint), ('common', 'Common', ${at}::bigint, ${at}::bigint)`)
  await db.execute(sql`INSERT INTO articles (slug, title, body, body_html, status, published_at, created_at, updated_at)
    SELECT 'a-' || i, 'Article ' || i, CASE WHEN i % 100 = 0 THEN 'The lighthouse, ' || i || '.' ELSE 'Text ' || i || '.' END, '<p>Text.</p>',
      CASE WHEN i > 5000 THEN 'draft' ELSE 'published' END, CASE WHEN i > 5000 THEN NULL ELSE ${at}::bigint + i * 60000 END, ${at}::bigint, ${at}::bigint
    FROM generate_series(1, 5010) AS i`)
  await db.execute(sql`INSERT INTO article_tags (article_id, tag_id, position)
    SELECT a.id, t.id, 0 FROM articles a JOIN tags t ON t.slug = CASE WHEN substr(a.slug, 3)::int % 20 = 0 THEN 'rare' ELSE 'common' END`)
  await db.execute(sql`ANALYZE`)
  // The backfill stores the loaded articles' forms (it reads with statements of its own): over before the
  // pages are read, so that what is captured is theirs.
  await a.app.upkeep.fillRepresentations()

  const client = await db.$client.connect()
  t.teardown(() => { client.release(true) })
  await client.query('SET plan_cache_mode = force_generic_plan')
  let probes = 0
  /** The generic plan of `statement`, run with the values the app sent. */
  const generic = async (statement: SentStatement): Promise<PlanNode> => {
    const name = `probe${probes++}`
    await client.query(`PREPARE ${name} AS ${statement.text}`)
    // EXECUTE takes no bound parameters: the values written in as literals.
    const literal = (v: unknown): string => v === null
      ? 'NULL'
      : typeof v === 'number'
        ? String(v)
        : Array.isArray(v)
          ? client.escapeLiteral(`{${v.map((x) => `"${String(x).replace(/[\\"]/g, '\\$&')}"`).join(',')}}`)
          : client.escapeLiteral(String(v))
    const { rows: [explained] } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${name}(${statement.values.map(literal).join(', ')})`)
    return (explained as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan
  }
  /** The page's named statement, sent for `url`; and the answer's next page. */
  const page = async (url: string, pattern: RegExp) => {
    const { result: res, sent } = await statementsSent(() => a.inject({ method: 'GET', url }))
    t.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 200)}`)
    const statement = sent.find((s) => pattern.test(s.text))
    t.ok(statement?.name, `${url}: its page is a named statement`)
    return { slugs: (res.json().data as { slug: string }[]).map((x) => x.slug), next: path(res.headers.link), statement: statement! }
  }
  const describe = (plan: PlanNode) => JSON.stringify(nodes(plan).map((n) => [n['Node Type'], n['Relation Name'] ?? n['Index Name']]))

  // The front page and the one after it: the newest published articles, one index range in date order.
  const first = await page('/v1/articles?limit=20', /\bfrom "articles"/i)
  t.same(first.slugs, Array.from({ length: 20 }, (_, i) => `a-${5000 - i}`), 'the front page')
  const second = await page(first.next, /\bfrom "articles"/i)
  t.same(second.slugs, Array.from({ length: 20 }, (_, i) => `a-${4980 - i}`), 'the front page\'s second page')
  for (const [what, { statement }] of [['front page', first], ['its second page', second]] as const) {
    const plan = await generic(statement)
    t.notOk(nodes(plan).some((n) => n['Node Type'] === 'Sort' || n['Node Type'] === 'Seq Scan'), `${what}: no sort, no table read whole (${describe(plan)})`)
    // The page, the row past it, and the ten drafts an index of every status walks past.
    t.ok(rowsRead(plan, 'articles') <= 31, `${what}: a page's rows (read ${rowsRead(plan, 'articles')})`)
  }

  // A tag's second page: that tag's rows from its cursor on (its first page: test/pg/tag-page-plan.test.ts).
  const tagFirst = await page('/v1/articles?tag=rare&limit=20', /from "article_tags" "d"/)
  const tagSecond = await page(tagFirst.next, /from "article_tags" "d"/)
  t.same(tagSecond.slugs, Array.from({ length: 20 }, (_, i) => `a-${4600 - i * 20}`), 'the tag\'s second page')
  const tagPlan = await generic(tagSecond.statement)
  t.notOk(nodes(tagPlan).some((n) => n['Node Type'] === 'Sort' || n['Node Type'] === 'Seq Scan'), `a tag's second page: no sort, no table read whole (${describe(tagPlan)})`)
  t.ok(rowsRead(tagPlan, 'article_tags') <= 21, `a tag's second page: its rows and one more (read ${rowsRead(tagPlan, 'article_tags')})`)
  t.ok(rowsRead(tagPlan, 'articles') <= 21, `a tag's second page: each row's article by key (read ${rowsRead(tagPlan, 'articles')})`)

  // A ranked search's second page: its matches from the full-text index alone, as on the first page.
  const rankedFirst = await page('/v1/articles?q=lighthouse&limit=20', /\bts_rank\(/)
  const rankedSecond = await page(rankedFirst.next, /\bts_rank\(/)
  // The 50 rank alike (the same words, the same length): a page is the next ids down, the cursor's tie.
  t.same(rankedFirst.slugs, Array.from({ length: 20 }, (_, i) => `a-${5000 - i * 100}`), 'the search\'s first page')
  t.same(rankedSecond.slugs, Array.from({ length: 20 }, (_, i) => `a-${3000 - i * 100}`), 'its second page, from the cursor\'s tie on')
  for (const [what, { statement }] of [['a ranked search', rankedFirst], ['its second page', rankedSecond]] as const) {
    const plan = await generic(statement)
    t.ok(nodes(plan).some((n) => n['Index Name'] === 'articles_search_idx'), `${what}: the matches come from the full-text index`)
    // tag_refs_version is one row (the version the page's tag ids are named at): read whole, it is that row.
    t.notOk(nodes(plan).some((n) => n['Node Type'] === 'BitmapAnd' || (n['Node Type'] === 'Seq Scan' && n['Relation Name'] !== 'tag_refs_version')), `${what}: no other index ANDed in, no table read whole (${describe(plan)})`)
    // The 50 matches, and the shown rows' lookups by id for their excerpts and tags.
    t.ok(rowsRead(plan, 'articles') <= 50 + 2 * 20, `${what}: the matches and the shown rows (read ${rowsRead(plan, 'articles')})`)
  }
  // ts_rank reads a match's whole document: once a match on every page. A later page's cursor is compared
  // with the ranked column; written in the WHERE, ts_rank ranked every match there and again in the output.
  for (const [what, { statement }] of [['a ranked search', rankedFirst], ['its second page', rankedSecond]] as const) {
    const { rows: [explained] } = await db.$client.query(`EXPLAIN (VERBOSE, FORMAT JSON) ${statement.text}`, statement.values)
    const all = nodes((explained as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan)
    // Computed where the matches are read (the nodes above show the scan's output by its expression).
    const calls = all.filter((n) => n['Relation Name'] === 'articles')
      .flatMap((n) => [...(n.Output ?? []), n.Filter ?? ''].flatMap((x) => x.match(/\bts_rank\(/g) ?? []))
    t.equal(calls.length, 1, `${what}: each match ranked once, where it is read (${calls.length} calls)`)
  }
})
