// Builds a realistic Gazette database of N articles directly with better-sqlite3, on the schema the real
// migrations create (openDatabase), so the server can be started on it as is.
//
//   node --import tsx bench/generate.ts --articles 10000 --out bench/results/gazette-10000.db [--seed 1]
//
// Speed for a million articles: Markdown is rendered for a fixed pool of bodies once and reused; rows go
// in through prepared statements in large transactions, with the journal and fsync off (the file is
// written under a temporary name and renamed only when complete, so a crash leaves no half database);
// secondary indexes are dropped first and built once at the end, which is far cheaper than keeping them
// up to date row by row. The search index's and the counts' triggers (migrations/0001_search.sql,
// 0009_bounded_counts_search.sql) are lifted for the load: they re-index an article once for itself and
// again for each of its tags (delete, then add the whole body), which made the rows 4.5x slower, and count
// every row one by one. The generator writes the tag snapshot they would have written (article_search_tags)
// itself, rebuilds the FTS5 index from the view once at the end, counts the tokens and the articles once,
// and puts the triggers back; test/bench/generate.test.ts checks that the database is the one the triggers
// make. Other triggers that later migrations add stay and fire.
import { existsSync, renameSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { recountArticleCounts } from '../src/articles/counts.js'
import { recountSearchTerms } from '../src/articles/search-index.js'
import { openDatabase } from '../src/db/connection.js'
import { renderArticleMarkdown, renderCommentMarkdown } from '../src/lib/markdown.js'
import { toSlug } from '../src/lib/slug.js'
import {
  articleBody, authorNames, between, place, commentBody, datelines, pick, sections, seededRandom, sentence, sources, tagNames, title, words
} from './content.js'
import { progressBar } from './progress.js'

export interface GenerateOptions {
  articles: number
  out: string
  seed?: number
  /** Mean comments per article (0–50 each, most articles have few); 5 gives 5M comments for 1M articles. */
  meanComments?: number
  /** Progress on stderr (default true). */
  progress?: boolean
  /**
   * How the full-text index is filled: `rebuild` (default) lifts its triggers and builds it once at the end;
   * `triggers` lets them fire on every insert, as the server's own writes do (slow; for the equivalence test).
   */
  searchIndex?: 'rebuild' | 'triggers'
}

export interface GenerateResult {
  path: string
  articles: number
  comments: number
  tags: number
  seconds: number
}

const DAY = 86_400_000
/** Publication dates end here, so a seed always gives the same database. Scheduled articles are far in the future. */
const ARCHIVE_END = Date.UTC(2026, 0, 1)
const ARCHIVE_YEARS = 10
const SCHEDULED_AT = Date.UTC(2100, 0, 1)
const BODY_POOL = 97
const COMMENT_POOL = 211
const BATCH = 2000
/** The one article with exactly this many approved comments (the comments-page scenario). */
export const BUSY_COMMENTS = 200

export function generate (opts: GenerateOptions): GenerateResult {
  const started = process.hrtime.bigint()
  const n = opts.articles
  const rng = seededRandom(opts.seed ?? 1)
  const meanComments = opts.meanComments ?? 5
  // count = floor(51 * u^k) has a mean of about 51/(k+1) - 1/2: pick k for the requested mean; always within 0–50.
  const skew = Math.max(0, 51 / (Math.max(meanComments, 0.01) + 0.5) - 1)
  const out = resolve(opts.out)
  const tmp = `${out}.partial`
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true })

  const db = openDatabase(tmp)
  const sqlite = db.$client
  sqlite.pragma('journal_mode = OFF')
  sqlite.pragma('synchronous = OFF')
  sqlite.pragma('foreign_keys = OFF')
  sqlite.pragma('cache_size = -200000')
  sqlite.pragma('temp_store = MEMORY')
  // Index builds sort; SQLite may use helper threads for that.
  sqlite.pragma('threads = 4')

  const bulkTables = ['articles', 'article_tags', 'article_authors', 'comments']
  const indexes = sqlite.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
    AND tbl_name IN (${bulkTables.map(() => '?').join(',')})`).all(...bulkTables) as { name: string, sql: string }[]
  for (const index of indexes) sqlite.exec(`DROP INDEX "${index.name}"`)
  const rebuildSearch = (opts.searchIndex ?? 'rebuild') === 'rebuild'
  // Counts are settled at the end of the archive, whichever way the database is made (the scheduled articles
  // are long after it): the triggers count against it during the load, or the recount at the end does.
  sqlite.prepare('UPDATE counts_settled SET at = ? WHERE id = 1').run(ARCHIVE_END)
  const searchTriggers = rebuildSearch
    ? sqlite.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger'
      AND (name LIKE 'article_search%' OR name LIKE '%_counts_%')`).all() as { name: string, sql: string }[]
    : []
  for (const trigger of searchTriggers) sqlite.exec(`DROP TRIGGER "${trigger.name}"`)
  // A tag row's public date (migrations/0017): its trigger reads the articles' narrow index, gone for the
  // load; the load writes public_at itself, in either mode, and the trigger comes back with the indexes.
  const publicAtTrigger = sqlite.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name = 'article_tags_public_at_ai'").all() as { name: string, sql: string }[]
  for (const trigger of publicAtTrigger) sqlite.exec(`DROP TRIGGER "${trigger.name}"`)
  // The snapshot of each article's tag tokens that the triggers keep: group_concat('t' || tag_id, ' ' ORDER BY position).
  const insertSearchTags = sqlite.prepare('INSERT INTO article_search_tags (article_id, names) VALUES (?, ?)')

  // Fixed pools, rendered once: bodies of 2–8 KB and short comments.
  const bodies = Array.from({ length: BODY_POOL }, () => {
    const md = articleBody(rng, between(rng, 2048, 7600))
    return { md, html: renderArticleMarkdown(md) }
  })
  const commentPool = Array.from({ length: COMMENT_POOL }, () => {
    const md = commentBody(rng)
    return { md, html: renderCommentMarkdown(md) }
  })
  const commenters = Array.from({ length: 500 }, (_, i) => {
    const name = `${pick(rng, authorNames.map((a) => a.split(' ')[0]!))} ${pick(rng, words)}`
    const hash = Array.from({ length: 8 }, () => Math.floor(rng() * 0x100000000).toString(16).padStart(8, '0')).join('')
    return { name, email: `reader${i}@example.com`, url: rng() < 0.2 ? `https://example.net/~reader${i}` : null, hash }
  })

  const insertTag = sqlite.prepare('INSERT INTO tags (id, slug, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
  const insertArticle = sqlite.prepare(`INSERT INTO articles (id, slug, title, summary, body, body_html, section, dateline, source,
    authors, status, published_at, created_at, updated_at, comments_open, comment_count, revision)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  // public_at as the trigger of migrations/0017 sets it (lifted for the load, below).
  const insertArticleTag = sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position, public_at) VALUES (?, ?, ?, ?)')
  const insertAuthor = sqlite.prepare('INSERT INTO article_authors (article_id, name) VALUES (?, ?)')
  const insertComment = sqlite.prepare(`INSERT INTO comments (id, article_id, parent_id, author_name, author_email, author_url,
    avatar_hash, body, body_html, status, ip, user_agent, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)

  sqlite.transaction(() => {
    tagNames.forEach((name, i) => {
      const at = ARCHIVE_END - ARCHIVE_YEARS * 365 * DAY + i * DAY
      insertTag.run(i + 1, toSlug(name, 64), name, rng() < 0.3 ? sentence(rng) : null, at, at)
    })
  })()

  // The busy article sits in the middle of the archive: published, open, visible to everyone.
  const busyId = Math.max(1, Math.ceil(n / 2))
  let commentId = 0
  const bar = progressBar('articles', n, opts.progress ?? true)

  const writeArticle = (id: number): void => {
    const kind = rng()
    const status = id === busyId ? 'published' : kind < 0.03 ? 'draft' : kind < 0.04 ? 'archived' : 'published'
    const scheduled = status === 'published' && id !== busyId && kind > 0.99
    // Ids grow with time, as they do in a newsroom: spread evenly over the archive with some jitter.
    const publishedAt = scheduled
      ? SCHEDULED_AT + id * 60_000
      : ARCHIVE_END - ARCHIVE_YEARS * 365 * DAY + Math.floor(((id - 1 + rng()) / n) * ARCHIVE_YEARS * 365 * DAY)
    const createdAt = publishedAt - between(rng, 1, 48) * 3_600_000
    const where = place(rng)
    const t = title(rng, where)
    const body = pick(rng, bodies)
    const authors = Array.from(new Set(Array.from({ length: between(rng, 1, 3) }, () => pick(rng, authorNames))))
    const tagCount = between(rng, 3, 5)
    const tagIds = new Set<number>()
    // Zipf-like popularity: a few tags are on many articles, most on few.
    while (tagIds.size < tagCount) tagIds.add(1 + Math.floor(tagNames.length * rng() ** 2))

    const total = id === busyId ? BUSY_COMMENTS : status === 'draft' || scheduled ? 0 : Math.floor(51 * rng() ** skew)
    const approvedIds: number[] = []
    let approved = 0
    const firstCommentAt = Math.min(publishedAt, ARCHIVE_END) + 600_000
    for (let c = 0; c < total; c++) {
      const roll = rng()
      const commentStatus = id === busyId || roll < 0.88 ? 'approved' : roll < 0.95 ? 'pending' : 'spam'
      const parentId = approvedIds.length > 0 && rng() < 0.35 ? pick(rng, approvedIds) : null
      const who = pick(rng, commenters)
      const text = pick(rng, commentPool)
      const at = firstCommentAt + c * between(rng, 60_000, 3_600_000)
      commentId++
      insertComment.run(commentId, id, parentId, who.name, who.email, who.url, who.hash, text.md, text.html, commentStatus,
        `203.0.113.${commentId % 250}`, 'Mozilla/5.0 (bench)', at, at)
      if (commentStatus === 'approved') { approved++; approvedIds.push(commentId) }
    }

    insertArticle.run(id, `${toSlug(t, 70)}-${id}`, t, rng() < 0.85 ? `${where}: ${sentence(rng)}` : null, body.md, body.html,
      pick(rng, sections), pick(rng, datelines), pick(rng, sources), JSON.stringify(authors),
      status, status === 'draft' ? null : publishedAt, createdAt, Math.max(createdAt, publishedAt), rng() < 0.95 || id === busyId ? 1 : 0,
      approved, between(rng, 1, 4))
    let position = 0
    for (const tagId of tagIds) insertArticleTag.run(id, tagId, position++, status === 'published' ? publishedAt : null)
    for (const name of authors) insertAuthor.run(id, name)
    if (rebuildSearch) insertSearchTags.run(id, Array.from(tagIds, (tagId) => `t${tagId}`).join(' '))
  }

  for (let from = 1; from <= n; from += BATCH) {
    const to = Math.min(n, from + BATCH - 1)
    sqlite.transaction(() => { for (let id = from; id <= to; id++) writeArticle(id) })()
    bar.update(to)
  }
  bar.done()

  if (rebuildSearch) {
    const searchBar = progressBar('search', 1, opts.progress ?? true)
    // A 64 MB in-memory buffer instead of FTS5's 1 MB: fewer, larger segments to merge (a third faster). Set
    // back to FTS5's default afterwards, as migrations/0009_bounded_counts_search.sql does after its rebuild.
    sqlite.exec(`INSERT INTO article_search (article_search, rank) VALUES ('hashsize', ${64 * 1024 * 1024});
      INSERT INTO article_search (article_search) VALUES ('rebuild');
      INSERT INTO article_search (article_search, rank) VALUES ('hashsize', ${1024 * 1024});`)
    // The rebuild leaves a dozen large segments on the same levels; the first writes after it (a PATCH, a new
    // article) would then pay, bit by bit, for FTS5's automerge of the whole index (PATCH at a million
    // articles: 29 req/s, p99 243 ms). Merged into one segment once here (40 s at a million): 330 req/s, p99 16 ms.
    sqlite.exec("INSERT INTO article_search (article_search) VALUES ('optimize')")
    searchBar.update(1)
    searchBar.done()
  }

  // What the public can already see counts as announced in the event log, as the migration does for an
  // existing database: the server starts without an article.published for the whole archive.
  sqlite.prepare("UPDATE articles SET announced = 1 WHERE status = 'published' AND published_at <= ?").run(Date.now())

  const indexBar = progressBar('indexes', indexes.length, opts.progress ?? true)
  indexes.forEach((index, i) => { sqlite.exec(index.sql); indexBar.update(i + 1) })
  indexBar.done()
  for (const trigger of publicAtTrigger) sqlite.exec(trigger.sql)

  if (rebuildSearch) {
    // The counts the lifted triggers would have kept (with the indexes back, the recount reads them).
    const countBar = progressBar('counts', 1, opts.progress ?? true)
    recountSearchTerms(db)
    recountArticleCounts(db, ARCHIVE_END)
    for (const trigger of searchTriggers) sqlite.exec(trigger.sql)
    countBar.update(1)
    countBar.done()
  }

  sqlite.pragma('journal_mode = WAL')
  sqlite.close()
  rmSync(out, { force: true })
  for (const f of [`${out}-wal`, `${out}-shm`]) rmSync(f, { force: true })
  renameSync(tmp, out)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return { path: out, articles: n, comments: commentId, tags: tagNames.length, seconds }
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      articles: { type: 'string', default: '10000' },
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'mean-comments': { type: 'string', default: '5' },
      force: { type: 'boolean', default: false }
    }
  })
  const articles = Number(values.articles)
  if (!Number.isInteger(articles) || articles < 1) throw new Error('--articles must be a positive integer')
  const out = values.out ?? `bench/results/gazette-${articles}.db`
  if (existsSync(out) && !values.force) {
    console.error(`${out} exists; pass --force to replace it`)
    process.exit(1)
  }
  const result = generate({ articles, out, seed: Number(values.seed), meanComments: Number(values['mean-comments']) })
  console.log(`${result.path}: ${result.articles.toLocaleString('en')} articles, ${result.comments.toLocaleString('en')} comments, ` +
    `${result.tags} tags in ${result.seconds.toFixed(1)} s`)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
