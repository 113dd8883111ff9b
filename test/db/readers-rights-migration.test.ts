// The readers' rights migration upgrades a database with data made by the migrations before it: comments
// of every kind get `edited: false`, no reports and no edit token (their authors never received one), and
// every new route works on them.
import t from 'tap'
import { databaseMigratedTo } from './migrated.js'
import { assertProblem, build } from '../helper.js'

t.test('comments from before the migration are kept, and work with edits, reports, export and erasure', async (t) => {
  // Migrated up to the migration just before this one.
  const { path, sqlite } = databaseMigratedTo(t, (e, all) => e.idx < all.find((x) => x.tag.endsWith('_readers_rights'))!.idx)
  t.throws(() => sqlite.prepare('SELECT edited FROM comments').all(), /no such column/, 'the columns are new')
  const at = Date.parse('2026-07-08T08:00:00.000Z')
  sqlite.prepare(`INSERT INTO articles (id, slug, title, status, published_at, created_at, updated_at, comment_count)
    VALUES (1, 'before', 'Before', 'published', ?, ?, ?, 2)`).run(at, at, at)
  const comment = sqlite.prepare(`INSERT INTO comments (id, article_id, parent_id, author_name, author_email, avatar_hash, body, body_html, status, ip, user_agent, created_at, updated_at)
    VALUES (?, 1, ?, 'Old', ?, '${'ab'.repeat(32)}', ?, '<p>x</p>', ?, ?, 'OldAgent', ?, ?)`)
  comment.run(1, null, 'old@example.org', 'Approved before', 'approved', '203.0.113.1', at, at)
  comment.run(2, 1, 'other@example.org', 'A reply', 'approved', '203.0.113.2', at, at)
  comment.run(3, null, 'OLD@example.org', 'Pending before', 'pending', '203.0.113.1', at, at)
  comment.run(4, null, 'ancient@example.org', 'From last year', 'approved', '203.0.113.4', at - 365 * 86400000, at - 365 * 86400000)
  sqlite.prepare('UPDATE articles SET comment_count = 3 WHERE id = 1').run()
  sqlite.close()

  const a = await build(t, { databasePath: path, commentModeration: 'none', commentRateLimit: 1000 })
  const first = (await a.inject({ method: 'GET', url: '/v1/comments/1' })).json()
  t.match(first, { id: 1, body: 'Approved before', edited: false, status: 'approved' })
  t.match((await a.as('moderator', { method: 'GET', url: '/v1/comments/1' })).json(), { reportCount: 0, ip: '203.0.113.1', userAgent: 'OldAgent' })
  t.match((await a.as('moderator', { method: 'GET', url: '/v1/comments/4' })).json(), { ip: null, userAgent: null }, 'the retention job cleared the old one at start')
  assertProblem(t, await a.inject({ method: 'PATCH', url: '/v1/comments/1', payload: { body: 'x' }, headers: { 'comment-token': 'gzc_guess' } }), 403, 'forbidden')
  t.pass('a comment from before has no edit token: nobody can use one')
  t.equal((await a.inject({ method: 'POST', url: '/v1/comments/1/reports', payload: { reason: 'abuse' } })).statusCode, 202)
  t.equal((await a.as('moderator', { method: 'GET', url: '/v1/comments?sort=-reportCount&limit=1' })).json().data[0].id, 1)
  const exported = (await a.as('admin', { method: 'POST', url: '/v1/privacy/export', payload: { email: 'old@example.org' } })).json()
  t.same(exported.data.map((c: { id: number }) => c.id), [1, 3])
  t.same((await a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email: 'old@example.org' } })).json(), { erased: 2 })
  const thread = (await a.inject({ method: 'GET', url: '/v1/articles/before/comments' })).json().data
  t.match(thread, [{ id: 4 }, { id: 1, status: 'deleted' }, { id: 2, status: 'approved' }])
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/before' })).json().commentCount, 2)
})
