// A public page of a tag in date order is one range of article_tags_public_idx (migrations/0017): each tag
// row's public_at is its article's published_at while the article is published, else NULL, kept by
// triggers. Here every kind of write that moves an article in or out of a tag's public pages (create,
// publish, unpublish, reschedule, re-tag, delete, a scheduled article coming due) is followed by the same
// two checks: no tag row whose public_at differs from its article's, and every tag's public pages, page
// after page, equal to the articles and tags tables' own answer. And a database with data from before the
// migration gets its rows filled on upgrade.
import t, { type Test } from 'tap'
import type Database from 'better-sqlite3'
import { build, createArticle, onSqlite, type TestApp } from '../helper.js'
import { databaseMigratedTo, oldArchive } from './migrated.js'

const HOUR = 3600_000

/** Tag rows whose public_at is not their article's published_at-while-published. */
const drift = (sqlite: Database.Database): number => sqlite.prepare(`SELECT count(*) FROM article_tags m JOIN articles a ON a.id = m.article_id
  WHERE m.public_at IS NOT (CASE WHEN a.status = 'published' THEN a.published_at END)`).pluck().get() as number

/** A tag's public articles at `now`, newest first, from the articles and tags alone (not public_at). */
const expected = (sqlite: Database.Database, tag: string, now: number): string[] => sqlite.prepare(`SELECT a.slug FROM articles a
  JOIN article_tags m ON m.article_id = a.id JOIN tags t ON t.id = m.tag_id AND t.deleted_at IS NULL
  WHERE t.slug = ? AND a.status = 'published' AND a.published_at <= ? ORDER BY a.published_at DESC, a.id DESC`).pluck().all(tag, now) as string[]

/** Every page of a tag's public list (with `more` filters), by date newest first or oldest first, following nextCursor. */
async function pages (a: TestApp, tag: string, sort: '-publishedAt' | 'publishedAt', more = ''): Promise<string[]> {
  const slugs: string[] = []
  let cursor: string | null = null
  do {
    const url: string = `/v1/articles?tag=${tag}${more}&sort=${sort}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`
    const res = await a.inject({ method: 'GET', url })
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    const body = res.json() as { data: { slug: string }[], page: { nextCursor: string | null } }
    slugs.push(...body.data.map((x) => x.slug))
    cursor = body.page.nextCursor
  } while (cursor !== null)
  return slugs
}

interface Listed { slug: string, section: string | null, authors: string[], tags: { slug: string }[], publishedAt: string | null }

async function check (t: Test, a: TestApp, when: string, tags: string[], filtered = false): Promise<void> {
  const sqlite = a.app.db.$client
  t.equal(drift(sqlite), 0, `${when}: every tag row's public_at is its article's`)
  for (const tag of tags) {
    const newest = expected(sqlite, tag, a.clock.now)
    t.same(await pages(a, tag, '-publishedAt'), newest, `${when}: tag ${tag}, newest first`)
    t.same(await pages(a, tag, 'publishedAt'), [...newest].reverse(), `${when}: tag ${tag}, oldest first`)
  }
  if (!filtered) return
  // The other filters on the same path: a second tag, an author, a section, dates; each against the tag's
  // public articles (as above) filtered by what an editor's view of each article says.
  const all = (await a.as('editor', { method: 'GET', url: '/v1/articles?status=any&limit=100' })).json().data as Listed[]
  const bySlug = new Map(all.map((x) => [x.slug, x]))
  const from = new Date(a.clock.now - 7.5 * HOUR).toISOString()
  const to = new Date(a.clock.now - 2.5 * HOUR).toISOString()
  const variants: [string, (x: Listed) => boolean][] = [
    ['&tag=ferry', (x) => x.tags.some((g) => g.slug === 'ferry')],
    ['&author=Anna%20Petrova', (x) => x.authors.includes('Anna Petrova')],
    ['&section=World', (x) => x.section === 'World'],
    [`&publishedAfter=${from}&publishedBefore=${to}`, (x) => x.publishedAt! >= from && x.publishedAt! <= to]
  ]
  for (const [more, keep] of variants) {
    const newest = expected(sqlite, 'harbour', a.clock.now).filter((slug) => keep(bySlug.get(slug)!))
    t.same(await pages(a, 'harbour', '-publishedAt', more), newest, `${when}: harbour${more}, newest first`)
    t.same(await pages(a, 'harbour', 'publishedAt', more), [...newest].reverse(), `${when}: harbour${more}, oldest first`)
  }
}

t.test('every write that moves an article in or out of a tag\'s public pages keeps them right', onSqlite, async (t) => {
  const a = await build(t, { responseCacheMb: 0 })
  const tags = ['ferry', 'harbour', 'budget']
  const at = (hours: number) => new Date(a.clock.now + hours * HOUR).toISOString()
  const made: string[] = []
  for (let i = 0; i < 7; i++) {
    made.push((await createArticle(a, {
      title: `Story ${i}`,
      status: 'published',
      publishedAt: at(-10 + i),
      tags: i % 2 === 0 ? ['Ferry', 'Harbour'] : ['Harbour'],
      section: i % 3 === 0 ? 'World' : 'Sport',
      authors: i % 3 === 1 ? ['Anna Petrova'] : ['Boris Okafor']
    })).slug)
  }
  const draft = (await createArticle(a, { title: 'A draft', tags: ['Ferry', 'Budget'] })).slug
  const scheduled = (await createArticle(a, { title: 'Scheduled', status: 'published', publishedAt: at(2), tags: ['Ferry'] })).slug
  await check(t, a, 'created', tags, true)

  const patch = async (slug: string, payload: Record<string, unknown>) => {
    const res = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload })
    t.equal(res.statusCode, 200, `PATCH ${slug} ${JSON.stringify(payload)}: ${res.body.slice(0, 200)}`)
  }
  await patch(draft, { status: 'published', publishedAt: at(-3.5) })
  await check(t, a, 'a draft published, dated among the others', tags)
  await patch(made[2]!, { status: 'draft' })
  await check(t, a, 'a published article back to draft', tags)
  await patch(made[4]!, { publishedAt: at(-20) })
  await check(t, a, 'a published article re-dated to the oldest', tags)
  await patch(made[5]!, { tags: ['Budget', 'Ferry'] })
  await check(t, a, 'a published article re-tagged', tags)
  await patch(made[3]!, { publishedAt: at(5) })
  await check(t, a, 'a published article rescheduled into the future', tags)
  t.equal((await a.as('editor', { method: 'DELETE', url: `/v1/articles/${made[0]}` })).statusCode, 204)
  await check(t, a, 'an article deleted', tags)
  a.clock.advance(6 * HOUR)
  await check(t, a, 'the scheduled articles came due', tags, true)
  t.ok((await pages(a, 'ferry', '-publishedAt')).includes(scheduled), 'the scheduled one is listed once due')
})

t.test('a database from before the migration gets every tag row\'s public date', onSqlite, async (t) => {
  const { path, sqlite } = databaseMigratedTo(t, (e, all) => e.idx < all.find((x) => x.tag.endsWith('_public_tag_pages'))!.idx)
  oldArchive(sqlite)
  const tags = sqlite.prepare('SELECT DISTINCT t.slug FROM tags t JOIN article_tags m ON m.tag_id = t.id ORDER BY t.slug').pluck().all() as string[]
  t.ok(tags.length > 1, 'the archive has tagged articles')
  sqlite.close()
  const a = await build(t, { databasePath: path, responseCacheMb: 0 })
  t.ok(a.app.db.$client.prepare('SELECT count(*) FROM article_tags WHERE public_at IS NOT NULL').pluck().get() as number > 0, 'published articles\' rows are filled')
  await check(t, a, 'upgraded', tags)
})
