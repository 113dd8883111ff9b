// Restoring a revision: a new revision with that state, If-Match honoured in the write's own
// transaction, slugs and tags brought back with care.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { assertProblem, build, createArticle, type TestApp, onSqlite } from '../helper.js'
import { loadNative } from '../../src/db/native.js'

const restore = (a: TestApp, slug: string, n: number, headers: Record<string, string> = {}) =>
  a.as('editor', { method: 'POST', url: `/v1/articles/${slug}/revisions/${n}/restore`, headers })
const get = (a: TestApp, slug: string) => a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })
const history = async (a: TestApp, slug: string) =>
  (await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}/revisions` })).json().data as Record<string, unknown>[]
const patch = (a: TestApp, slug: string, payload: Record<string, unknown>) =>
  a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload })

t.test('a restore makes the old state current as a new revision', async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Dam opens', body: 'First.\n', tags: ['Energy'], authors: ['Anna Petrova'], status: 'published' })
  a.clock.advance(1000)
  await patch(a, art.slug, { title: 'Dam opens late', body: 'Second.\n', tags: ['Energy', 'Rivers'], authors: [], commentsOpen: false })
  a.clock.advance(1000)
  const desk = (await a.app.tokens.create('Copy desk', 'editor')).token
  const res = await a.inject({ method: 'POST', url: `/v1/articles/${art.slug}/revisions/1/restore`, headers: { authorization: `Bearer ${desk}` } })
  t.equal(res.statusCode, 200)
  const restored = res.json()
  t.match(restored, {
    title: 'Dam opens',
    body: 'First.\n',
    bodyHtml: '<p>First.</p>\n',
    tags: [{ slug: 'energy' }],
    authors: ['Anna Petrova'],
    commentsOpen: true,
    revision: 3,
    updatedAt: '2026-07-08T09:00:02.000Z',
    createdAt: art.createdAt,
    publishedAt: art.publishedAt
  })
  t.equal(restored.tags.length, 1)
  const current = await get(a, art.slug)
  t.same(current.json(), restored)
  t.equal(res.headers.etag, current.headers.etag, 'the ETag of the article now')
  t.same((await history(a, art.slug))[0], {
    revision: 3, createdAt: '2026-07-08T09:00:02.000Z', author: 'Copy desk', changed: ['title', 'body', 'authors', 'tags', 'commentsOpen'], restoredFrom: 1
  })

  // Restoring what is already current changes nothing and makes no revision.
  const again = await restore(a, art.slug, 3)
  t.equal(again.statusCode, 200)
  t.equal(again.json().revision, 3)
  const same = await restore(a, art.slug, 1)
  t.equal(same.json().revision, 3, 'revision 1 is the state already current')
  t.equal((await history(a, art.slug)).length, 3)

  assertProblem(t, await restore(a, art.slug, 9), 404, 'not-found')
  assertProblem(t, await restore(a, 'no-such-article', 1), 404, 'not-found')
  assertProblem(t, await a.as('editor', { method: 'POST', url: `/v1/articles/${art.slug}/revisions/01x/restore` }), 422, 'validation')
})

t.test('If-Match on restore: current, star, stale, malformed', async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Tram line', body: 'One.' })
  const second = await patch(a, art.slug, { body: 'Two.' })
  const etag = second.headers.etag as string

  const stale = await restore(a, art.slug, 1, { 'if-match': '"not-the-current-one"' })
  assertProblem(t, stale, 412, 'precondition-failed')
  const malformed = await restore(a, art.slug, 1, { 'if-match': 'no quotes' })
  t.match(assertProblem(t, malformed, 422, 'validation').errors, [{ in: 'header', pointer: '/if-match' }])
  const exists = await restore(a, art.slug, 1, { 'if-none-match': '*' })
  assertProblem(t, exists, 412, 'precondition-failed')
  t.equal((await get(a, art.slug)).json().body, 'Two.', 'nothing changed')
  t.equal((await history(a, art.slug)).length, 2, 'and no revision was made')

  const ok = await restore(a, art.slug, 1, { 'if-match': etag })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().body, 'One.')
  assertProblem(t, await restore(a, art.slug, 2, { 'if-match': etag }), 412, 'precondition-failed')
  const star = await restore(a, art.slug, 2, { 'if-match': '*' })
  t.equal(star.json().body, 'Two.')
  t.equal(star.json().revision, 4)
})

t.test('If-Match is checked in the write\'s transaction: a change committed after the first check is a 412', onSqlite, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-restore-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'gazette.db')
  const a = await build(t, { databasePath: path })
  const art = await createArticle(a, { title: 'Bridge', body: 'Old text.' })
  const edited = await patch(a, art.slug, { body: 'New text.' })

  // Another process (a second connection to the same file) commits a change between the route's
  // first look at the article and the restore's write: the restore service reads the clock there.
  const other = new Database(path)
  loadNative(other) // the triggers call Gazette's SQLite functions, as in any process that writes
  t.teardown(() => other.close())
  let armed = true
  let value = a.clock.now
  Object.defineProperty(a.clock, 'now', {
    configurable: true,
    get () {
      if (armed) {
        armed = false
        other.prepare("UPDATE articles SET title = 'Bridge (updated elsewhere)', revision = revision + 1 WHERE id = ?").run(art.id)
      }
      return value
    },
    set (v: number) { value = v }
  })
  const res = await restore(a, art.slug, 1, { 'if-match': edited.headers.etag as string })
  t.equal(armed, false, 'the other write happened during the request')
  assertProblem(t, res, 412, 'precondition-failed')
  const now = (await get(a, art.slug)).json()
  t.equal(now.title, 'Bridge (updated elsewhere)', 'the other change stands')
  t.equal(now.body, 'New text.', 'the restore wrote nothing')
  t.same(other.prepare('SELECT max(revision) AS r FROM article_revisions WHERE article_id = ?').get(art.id), { r: 2 }, 'no revision was recorded')
})

t.test('slugs: an old slug comes back, a slug another article holds is a 409', async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Floods', slug: 'floods', status: 'published' })
  await patch(a, 'floods', { slug: 'river-floods', title: 'River floods' })
  await patch(a, 'river-floods', { slug: 'floods-in-the-north' })
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/floods' })).headers.location, '/v1/articles/floods-in-the-north')

  // Back to its first slug: that URL is live again, the slug it leaves redirects.
  const back = await restore(a, 'floods-in-the-north', 1)
  t.equal(back.statusCode, 200)
  t.match(back.json(), { slug: 'floods', title: 'Floods', revision: 4 })
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/floods' })).statusCode, 200)
  for (const old of ['river-floods', 'floods-in-the-north']) {
    const moved = await a.inject({ method: 'GET', url: `/v1/articles/${old}` })
    t.equal(moved.statusCode, 301)
    t.equal(moved.headers.location, '/v1/articles/floods')
  }

  // Another article takes "river-floods" (it was only a redirect): restoring revision 2 is then a
  // 409, and nothing changes.
  const other = await createArticle(a, { title: 'Other floods', slug: 'river-floods' })
  const clash = await restore(a, 'floods', 2)
  t.match(assertProblem(t, clash, 409, 'conflict').detail, /river-floods/)
  t.match((await get(a, 'floods')).json(), { slug: 'floods', revision: 4 })
  t.equal((await history(a, 'floods')).length, 4)
  t.equal((await get(a, other.slug)).json().id, other.id)

  // A slug lost to a race between the check and the write (the unique index) is a 409 too, not a 500.
  const row = (await a.app.articles.findRowBySlug('floods', null))!
  const { title, summary, body, bodyHtml, section, dateline, source, status, publishedAt, commentsOpen, imageUrl, imageAlt, imageCaption, imageCredit, canonicalUrl } = row
  const write = { slug: 'river-floods', title, summary, body, bodyHtml, section, dateline, source, authors: [], status, publishedAt, commentsOpen, imageUrl, imageAlt, imageCaption, imageCredit, canonicalUrl }
  const raced = a.app.articles.update(row, write, undefined, a.clock.now, () => true, { author: 'test' })
  const err = await raced.then(() => undefined, (e: unknown) => e as { status?: number, problem?: string })
  t.match(err, { status: 409, problem: 'conflict' })
  t.equal((await get(a, 'floods')).json().revision, 4)
  t.ok(art)
})

t.test('tags come back, a deleted one is created again; status comes back too', async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Storm', tags: ['Weather', 'Coast'], status: 'published' })
  t.equal((await a.inject({ method: 'GET', url: `/v1/articles/${art.slug}` })).statusCode, 200)
  await patch(a, art.slug, { tags: ['Weather'], status: 'draft' })
  t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/tags/coast' })).statusCode, 204)
  await a.as('editor', { method: 'PATCH', url: '/v1/tags/weather', payload: { name: 'Weather & climate' } })
  const back = await restore(a, art.slug, 1)
  t.same(back.json().tags, [{ slug: 'weather', name: 'Weather & climate' }, { slug: 'coast', name: 'Coast' }])
  t.equal(back.json().status, 'published')
  t.equal((await a.inject({ method: 'GET', url: `/v1/articles/${art.slug}` })).statusCode, 200, 'published again')
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags/coast' })).statusCode, 200)

  // And back to the draft: the public's cached copy goes too.
  t.equal((await a.inject({ method: 'GET', url: `/v1/articles/${art.slug}` })).statusCode, 200)
  await restore(a, art.slug, 2)
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/articles/${art.slug}` }), 404, 'not-found')
})

t.test('a restore is idempotent with an Idempotency-Key, and refused at an old slug', async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Mayor', body: 'A' })
  await patch(a, art.slug, { body: 'B', slug: 'mayor-resigns' })
  const first = await restore(a, 'mayor-resigns', 1, { 'idempotency-key': 'restore-1' })
  t.equal(first.json().revision, 3)
  t.equal(first.json().slug, 'mayor')
  assertProblem(t, await restore(a, 'mayor-resigns', 2, { 'idempotency-key': 'restore-2' }), 404, 'not-found')
  await patch(a, 'mayor', { body: 'C' })
  const again = await restore(a, 'mayor-resigns', 1, { 'idempotency-key': 'restore-1' })
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.json().revision, 3, 'the first response again')
  t.equal((await get(a, 'mayor')).json().body, 'C', 'no second restore')
})

t.test('the lead image and canonical URL are versioned: diffed and restored like every field', async (t) => {
  const a = await build(t)
  const image = { url: 'https://images.news.example/dam.jpg', alt: 'The dam at dawn', credit: 'Photo: Staff' }
  const art = await createArticle(a, { title: 'Dam opens', body: 'First.\n', status: 'published', image, canonicalUrl: 'https://wire.example/dam' })
  await patch(a, art.slug, { image: null, canonicalUrl: null })
  const diff = await a.as('editor', { method: 'GET', url: `/v1/articles/${art.slug}/revisions/2/diff?against=1` })
  t.equal(diff.statusCode, 200)
  t.same(diff.json().changed, ['image', 'canonicalUrl'])
  t.same(diff.json().fields, { image: { from: image, to: null }, canonicalUrl: { from: 'https://wire.example/dam', to: null } })
  const old = await a.as('editor', { method: 'GET', url: `/v1/articles/${art.slug}/revisions/1` })
  t.match(old.json().article, { image, canonicalUrl: 'https://wire.example/dam' })
  const restored = await restore(a, art.slug, 1)
  t.equal(restored.statusCode, 200)
  t.match(restored.json(), { revision: 3, image, canonicalUrl: 'https://wire.example/dam' })
})
