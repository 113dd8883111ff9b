// The stored article counts (src/articles/counts.ts) against a fresh count, after every kind of write and
// across due times: articles created, edited (status, date, section, tags, authors) and deleted, tags renamed
// and deleted, the clock moving forward past scheduled articles and back, and the counts being settled. Each
// step checks what is stored against a count made from scratch at the settled time, and what the API answers
// (a tag's articleCount, `include=total` of all articles, a tag, a section, an author) against a count made
// from scratch at the clock's time, for the public and for editors.
import t, { type Test } from 'tap'
import { seededRandom } from '../../bench/content.js'
import { build, createArticle, type TestApp, onSqlite } from '../helper.js'

const TAGS = ['Harbour', 'Council', 'Budget', 'Ferry', 'Opera']
const SECTIONS = ['World', 'Sport', 'Culture']
const AUTHORS = ['Anna Petrova', 'Boris Okafor', 'Chiara Rossi']
const HOUR = 3600_000

interface Fresh { total: number, published: number, visible: number }

/** Counts made from scratch with plain SQL: articles per tag, section, author and in all, visible at `at`. */
function freshCounts (a: TestApp, at: number) {
  const db = a.app.db.$client
  const per = (join: string, key: string, where = '') => new Map((db.prepare(`SELECT ${key} AS key, count(*) AS total,
    coalesce(sum(a.status = 'published'), 0) AS published, coalesce(sum(a.status = 'published' AND a.published_at <= @at), 0) AS visible
    FROM articles a ${join} ${where} GROUP BY ${key}`).all({ at }) as (Fresh & { key: string | number })[]).map((r) => [r.key, r]))
  return {
    tags: per('JOIN article_tags at ON at.article_id = a.id', 'at.tag_id'),
    sections: per('', 'a.section', 'WHERE a.section IS NOT NULL'),
    authors: per('JOIN article_authors aa ON aa.article_id = a.id', 'aa.name'),
    all: per('', "''").get('') ?? { total: 0, published: 0, visible: 0 }
  }
}

async function check (t: Test, a: TestApp, step: string): Promise<void> {
  const db = a.app.db.$client
  const settled = db.prepare('SELECT at FROM counts_settled WHERE id = 1').pluck().get() as number
  // What is stored is exact at the settled time.
  const atSettled = freshCounts(a, settled)
  const stored = db.prepare('SELECT id, curated, slug, article_count AS total, published_count AS published, visible_count AS visible FROM tags WHERE deleted_at IS NULL')
    .all() as ({ id: number, curated: number, slug: string } & Fresh)[]
  const zero = { total: 0, published: 0, visible: 0 }
  for (const tag of stored) {
    const { total, published, visible } = atSettled.tags.get(tag.id) ?? zero
    t.same({ total: tag.total, published: tag.published, visible: tag.visible }, { total, published, visible }, `${step}: stored counts of ${tag.slug}`)
  }
  const keys = db.prepare('SELECT kind, key, total, published, visible FROM article_counts').all() as ({ kind: string, key: string } & Fresh)[]
  for (const row of keys) {
    const fresh = row.kind === 'all' ? atSettled.all : (row.kind === 'section' ? atSettled.sections : atSettled.authors).get(row.key) ?? zero
    t.same({ total: row.total, published: row.published, visible: row.visible },
      { total: fresh.total, published: fresh.published, visible: fresh.visible }, `${step}: stored counts of ${row.kind} ${row.key}`)
  }

  // What the API answers is exact at the clock's time.
  const now = freshCounts(a, a.clock.now)
  for (const tag of stored) {
    const fresh = now.tags.get(tag.id) ?? zero
    const pub = await a.inject({ method: 'GET', url: `/v1/tags/${tag.slug}` })
    if (tag.curated === 0 && fresh.visible === 0) t.equal(pub.statusCode, 404, `${step}: ${tag.slug} is hidden from the public`)
    else t.equal(pub.json().articleCount, fresh.visible, `${step}: public articleCount of ${tag.slug}`)
    t.equal((await a.as('editor', { method: 'GET', url: `/v1/tags/${tag.slug}` })).json().articleCount, fresh.total, `${step}: editors' articleCount of ${tag.slug}`)
  }
  const total = async (query: string, role?: 'editor') => {
    const opts = { method: 'GET' as const, url: `/v1/articles?limit=1&include=total${query}` }
    const res = role === undefined ? await a.inject(opts) : await a.as(role, opts)
    t.equal(res.statusCode, 200, `${step}: ${query} answers (${res.body.slice(0, 200)})`)
    return res.json().page.total as number
  }
  const lists: [string, Fresh][] = [
    ['', now.all],
    ...SECTIONS.map((s): [string, Fresh] => [`&section=${s}`, now.sections.get(s) ?? zero]),
    ...AUTHORS.map((n): [string, Fresh] => [`&author=${encodeURIComponent(n)}`, now.authors.get(n) ?? zero]),
    ...stored.map((tag): [string, Fresh] => [`&tag=${tag.slug}`, now.tags.get(tag.id) ?? zero])
  ]
  for (const [query, fresh] of lists) {
    t.equal(await total(query), fresh.visible, `${step}: public total${query}`)
    t.equal(await total(query, 'editor'), fresh.total, `${step}: editors' total${query}`)
    t.equal(await total(`${query}&status=published`, 'editor'), fresh.published, `${step}: editors' published total${query}`)
  }
}

t.test('stored counts equal a fresh count after every kind of write and across due times', onSqlite, async (t) => {
  const a = await build(t, { responseCacheMb: 0 })
  const rng = seededRandom(18)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)]!
  const some = <T>(list: readonly T[]): T[] => list.filter(() => rng() < 0.4)
  const when = () => new Date(a.clock.now + Math.round((rng() * 6 - 2) * HOUR)).toISOString()
  const fields = (): Record<string, unknown> => ({
    status: pick(['draft', 'published', 'published', 'archived']),
    ...(rng() < 0.7 ? { publishedAt: when() } : {}),
    section: rng() < 0.8 ? pick(SECTIONS) : null,
    tags: some(TAGS),
    authors: some(AUTHORS)
  })
  const slugs: string[] = []
  let tagNames = [...TAGS]
  for (let i = 0; i < 8; i++) slugs.push((await createArticle(a, { title: `Seed ${i}`, ...fields() })).slug)
  await check(t, a, 'seeded')

  for (let step = 0; step < 36; step++) {
    const op = pick(['create', 'patch', 'patch', 'patch', 'delete', 'rename', 'delete tag', 'advance', 'advance', 'back', 'settle'])
    let what: string = op
    if (op === 'create') {
      slugs.push((await createArticle(a, { title: `Article ${step}`, ...fields() })).slug)
    } else if (op === 'patch' && slugs.length > 0) {
      const slug = pick(slugs)
      const all = fields()
      const patch = Object.fromEntries(Object.entries(all).filter(() => rng() < 0.5))
      what = `patch ${slug} ${JSON.stringify(patch)}`
      const res = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload: patch })
      t.equal(res.statusCode, 200, what)
    } else if (op === 'delete' && slugs.length > 1) {
      const slug = slugs.splice(Math.floor(rng() * slugs.length), 1)[0]!
      t.equal((await a.as('editor', { method: 'DELETE', url: `/v1/articles/${slug}` })).statusCode, 204)
    } else if (op === 'rename') {
      const listed = (await a.as('editor', { method: 'GET', url: '/v1/tags?limit=100' })).json().data as { slug: string, name: string }[]
      if (listed.length === 0) continue
      const tag = pick(listed)
      const name = `${tag.name} ${step}`
      what = `rename ${tag.slug} to ${name}`
      t.equal((await a.as('editor', { method: 'PATCH', url: `/v1/tags/${tag.slug}`, payload: { name } })).statusCode, 200)
      tagNames = tagNames.map((n) => n === tag.name ? name : n)
    } else if (op === 'delete tag') {
      const listed = (await a.as('editor', { method: 'GET', url: '/v1/tags?limit=100' })).json().data as { slug: string }[]
      if (listed.length === 0) continue
      const tag = pick(listed)
      what = `delete tag ${tag.slug}`
      t.equal((await a.as('editor', { method: 'DELETE', url: `/v1/tags/${tag.slug}` })).statusCode, 204)
      if (rng() < 0.5) await a.app.upkeep.sweep()
    } else if (op === 'advance') {
      a.clock.advance(Math.round(rng() * 2 * HOUR))
    } else if (op === 'back') {
      a.clock.advance(-Math.round(rng() * HOUR))
    } else {
      await a.app.upkeep.settle()
    }
    await check(t, a, `step ${step} (${what})`)
  }
  await a.app.upkeep.sweep()
  await a.app.upkeep.settle()
  await check(t, a, 'swept and settled')
})
