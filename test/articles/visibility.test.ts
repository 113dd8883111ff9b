// The one rule of who sees an article (src/articles/visibility.ts) agrees with itself in every form: for each
// status and publishedAt (none, past, now, 1 ms ahead, future), the JavaScript rule, a Drizzle query with
// publicAtSql, the raw text publicAtText (and its complement scheduledAfterText), the stored `visible` count
// after a recount, and what the public gets from GET /v1/articles/{slug}.
import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { inArray } from 'drizzle-orm'
import { recountArticleCounts } from '../../src/articles/counts.js'
import { ARTICLE_STATUSES, type ArticleStatus } from '../../src/articles/status.js'
import { isPublicAt, isVisible, publicAtSql, publicAtText, scheduledAfterText, viewOf } from '../../src/articles/visibility.js'
import { articles } from '../../src/db/schema.js'
import { build, onSqlite } from '../helper.js'

t.test('the rule agrees in JavaScript, SQL, the stored counts and over HTTP', onSqlite, async (t) => {
  const a = await build(t)
  const now = a.clock.now
  const times: Record<string, number | null> = { none: null, past: now - 86_400_000, now, 'now+1ms': now + 1, future: now + 86_400_000 }
  const rows: { id: number, slug: string, status: ArticleStatus, publishedAt: number | null }[] = []
  const insert = a.app.db.$client.prepare(`INSERT INTO articles (slug, title, body, status, published_at, created_at, updated_at)
    VALUES (?, ?, 'Body.', ?, ?, ?, ?) RETURNING id`).pluck()
  for (const status of ARTICLE_STATUSES) {
    for (const [when, publishedAt] of Object.entries(times)) {
      const slug = `${status}-${when.replace(/\W/g, '')}`
      rows.push({ id: insert.get(slug, slug, status, publishedAt, now - 1000, now - 1000) as number, slug, status, publishedAt })
    }
  }
  const ids = rows.map((r) => r.id)
  const expected = rows.filter((r) => isPublicAt(r, now)).map((r) => r.id)
  t.same(rows.filter((r) => r.status === 'published' && r.publishedAt !== null && r.publishedAt <= now).map((r) => r.id), expected, 'isPublicAt: published and due')
  t.same(expected.length, 2, 'due in the past and exactly now')
  for (const r of rows) {
    t.equal(isVisible(r, null), true, `${r.slug}: editors see it`)
    t.equal(isVisible(r, { visibleAt: now }), isPublicAt(r, now), `${r.slug}: the public's visibility is isPublicAt`)
  }

  const drizzle = a.app.db.select({ id: articles.id }).from(articles).where(publicAtSql(now)).all().map((r) => r.id).filter((id) => ids.includes(id))
  t.same(drizzle.sort((x, y) => x - y), expected, 'publicAtSql selects the same articles')
  const text = a.app.db.$client.prepare(`SELECT id FROM articles WHERE ${publicAtText()} ORDER BY id`).pluck().all(now) as number[]
  t.same(text, expected, 'publicAtText selects the same articles')
  const aliased = a.app.db.$client.prepare(`SELECT a.id FROM articles a WHERE ${publicAtText('a.', '@now')} ORDER BY a.id`).pluck().all({ now }) as number[]
  t.same(aliased, expected, 'with an alias and a named parameter too')
  const scheduled = a.app.db.$client.prepare(`SELECT id FROM articles WHERE ${scheduledAfterText()} ORDER BY id`).pluck().all(now) as number[]
  t.same(scheduled, rows.filter((r) => r.status === 'published' && r.publishedAt !== null && r.publishedAt > now).map((r) => r.id),
    'scheduledAfterText: published, not yet due')
  t.same(a.app.db.select({ id: articles.id }).from(articles).where(inArray(articles.id, [...expected, ...scheduled])).all().length,
    rows.filter((r) => r.status === 'published' && r.publishedAt !== null).length, 'together, every dated published article')

  recountArticleCounts(a.app.db, now)
  const visible = a.app.db.$client.prepare("SELECT visible FROM article_counts WHERE kind = 'all' AND key = ''").pluck().get()
  t.equal(visible, expected.length, 'the recounted visible count')

  for (const r of rows) {
    const res = await a.inject({ method: 'GET', url: `/v1/articles/${r.slug}` })
    t.equal(res.statusCode, expected.includes(r.id) ? 200 : 404, `GET ${r.slug} as the public`)
    const editor = await a.as('editor', { method: 'GET', url: `/v1/articles/${r.slug}` })
    t.equal(editor.statusCode, 200, `GET ${r.slug} as an editor`)
  }
})

t.test("the caller's view", async (t) => {
  const view = (role: 'public' | 'admin' | 'editor' | 'moderator') => viewOf({ caller: { role, tokenId: null } } as unknown as FastifyRequest, 42)
  t.same(view('public'), { at: 42, articles: { visibleAt: 42 }, editor: false, moderator: false }, 'the public')
  t.same(view('moderator'), { at: 42, articles: { visibleAt: 42 }, editor: false, moderator: true }, 'a moderator sees what the public sees of articles')
  t.same(view('editor'), { at: 42, articles: null, editor: true, moderator: true }, 'an editor sees every article')
  t.same(view('admin'), { at: 42, articles: null, editor: true, moderator: true }, 'an admin too')
})
