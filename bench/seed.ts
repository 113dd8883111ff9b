// Builds a large Gazette database fast, for the benchmarks: direct batched inserts through better-sqlite3
// in one transaction. The search triggers are lifted for the load and the FTS index is rebuilt once at
// the end (the same statements the search migration uses for its backfill), then the triggers return.
import { openDatabase } from '../src/db/connection.js'

/** A small deterministic PRNG (mulberry32), so every run builds the same database. */
function random (seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = ('harbour fleet frigate minister summit treaty election budget council river bridge railway ' +
  'museum festival orchestra theatre novel season league striker goalkeeper vaccine hospital clinic ' +
  'research laboratory satellite launch orbit climate drought harvest wheat export tariff currency ' +
  'bank inflation market shares merger startup software network outage storm flood rescue volunteer ' +
  'school teacher student university protest strike union factory wages pension court verdict judge ' +
  'police inquiry mayor village island coast mountain glacier forest wildfire café naïve résumé ' +
  'Zürich São Paulo Kraków Ålesund diplomacy embassy border customs port cargo container ship').split(' ')
// Plus 5,000 made-up words, so the vocabulary is large enough for search to be selective.
const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tas', 'vu', 'gor', 'phi', 'den', 'sul', 'bra', 'not', 'qui', 'zel', 'ham', 'tri']
const VOCABULARY = [...WORDS, ...Array.from({ length: 5000 }, (_, i) =>
  [i % 16, (i >> 4) % 16, (i >> 8) % 16].map((s) => SYLLABLES[s]).join('') + (i >= 4096 ? 'x' : ''))]
const SECTIONS = ['World', 'Politics & Diplomacy', 'Business', 'Science', 'Culture', 'Sport', 'Opinion', 'Local']
const AUTHORS = Array.from({ length: 50 }, (_, i) => `Reporter ${i + 1}`)
const TAGS = Array.from({ length: 200 }, (_, i) => `Topic ${i + 1}`)

export interface SeedResult { articles: number, published: number, tags: number, ms: number }

/** Creates (or extends) the database at `path` with `count` articles, as of `now`. */
export function seedArticles (path: string, count: number, now = Date.now()): SeedResult {
  const started = performance.now()
  const db = openDatabase(path)
  const sqlite = db.$client
  const rnd = random(42)
  const pick = <T>(list: T[]): T => list[Math.floor(rnd() * list.length)]!
  // Zipf-like: tag i is chosen with weight 1/(i+1), so a few tags are common and most are rare.
  const zipf = TAGS.map((_, i) => 1 / (i + 1))
  const zipfSum = zipf.reduce((s, w) => s + w, 0)
  const pickTag = (): number => {
    let r = rnd() * zipfSum
    for (let i = 0; i < zipf.length; i++) { r -= zipf[i]!; if (r <= 0) return i }
    return zipf.length - 1
  }
  // Skewed towards the start of the vocabulary (the real words), as word frequencies are in text.
  const word = (): string => VOCABULARY[Math.floor(rnd() ** 3 * VOCABULARY.length)]!
  const sentence = (n: number): string => Array.from({ length: n }, word).join(' ')

  const triggers = sqlite.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'article_search%'").all() as { name: string, sql: string }[]
  const insertTag = sqlite.prepare('INSERT OR IGNORE INTO tags (slug, name, created_at, updated_at) VALUES (?, ?, ?, ?)')
  const tagId = sqlite.prepare('SELECT id FROM tags WHERE slug = ?').pluck()
  const insertArticle = sqlite.prepare(`INSERT INTO articles (slug, title, summary, body, body_html, section, dateline,
    source, authors, status, published_at, created_at, updated_at, comments_open, comment_count, revision)
    VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, 1, 0, 1)`)
  const insertArticleTag = sqlite.prepare('INSERT INTO article_tags (article_id, tag_id, position) VALUES (?, ?, ?)')
  const insertAuthor = sqlite.prepare('INSERT INTO article_authors (article_id, name) VALUES (?, ?)')
  let published = 0

  sqlite.transaction(() => {
    for (const t of triggers) sqlite.exec(`DROP TRIGGER ${t.name}`)
    const ids = TAGS.map((name) => {
      const slug = name.toLowerCase().replace(/ /g, '-')
      insertTag.run(slug, name, now, now)
      return tagId.get(slug) as number
    })
    const base = (sqlite.prepare('SELECT coalesce(max(id), 0) FROM articles').pluck().get() as number) + 1
    for (let i = 0; i < count; i++) {
      const n = base + i
      const roll = rnd()
      const status = roll < 0.03 ? 'draft' : roll < 0.04 ? 'archived' : 'published'
      // Published over the last three years, some scheduled for the coming week.
      const publishedAt = status === 'draft' ? null : roll > 0.99 ? now + Math.floor(rnd() * 7 * 86400_000) : now - Math.floor(rnd() * 3 * 365 * 86400_000)
      if (status === 'published' && publishedAt! <= now) published++
      const title = `${sentence(6)} ${n}`
      const body = Array.from({ length: 4 }, () => sentence(40)).join('\n\n')
      const author = pick(AUTHORS)
      const created = (publishedAt ?? now) - 3600_000
      const id = Number(insertArticle.run(`story-${n}`, title, sentence(18), body, `<p>${body}</p>`, pick(SECTIONS),
        JSON.stringify([author]), status, publishedAt, created, created + Math.floor(rnd() * 86400_000)).lastInsertRowid)
      insertAuthor.run(id, author)
      const chosen = new Set<number>()
      const tagCount = 1 + Math.floor(rnd() * 4)
      while (chosen.size < tagCount) chosen.add(ids[pickTag()]!)
      let position = 0
      for (const tag of chosen) insertArticleTag.run(id, tag, position++)
    }
    sqlite.exec(`DELETE FROM article_search_tags;
      INSERT INTO article_search_tags (article_id, names)
      SELECT at.article_id, group_concat(t.name, ' ' ORDER BY at.position) FROM article_tags at JOIN tags t ON t.id = at.tag_id
      GROUP BY at.article_id;
      INSERT INTO article_search (article_search) VALUES ('rebuild');`)
    for (const t of triggers) sqlite.exec(t.sql)
    // Visible articles count as announced in the event log (no article.published for the archive at start).
    sqlite.prepare("UPDATE articles SET announced = 1 WHERE status = 'published' AND published_at <= ?").run(now)
  })()
  const articles = sqlite.prepare('SELECT count(*) FROM articles').pluck().get() as number
  sqlite.close()
  return { articles, published, tags: TAGS.length, ms: Math.round(performance.now() - started) }
}
