import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import { bootstrap } from '../../src/db/bootstrap.js'
import { build } from '../helper.js'

t.test('a new database gets the welcome article with one approved comment, once', async (t) => {
  const a = await build(t, { seedDemo: true })
  await bootstrap(a.app)
  await bootstrap(a.app)
  const article = (await a.inject({ method: 'GET', url: '/v1/articles/welcome-to-gazette' })).json()
  t.equal(article.commentCount, 1)
  const thread = (await a.inject({ method: 'GET', url: '/v1/articles/welcome-to-gazette/comments' })).json()
  t.equal(thread.data.length, 1)
  t.match(thread.data[0], { status: 'approved', parentId: null, authorName: String, bodyHtml: /<p>/ })
  t.equal((await a.as('moderator', { method: 'GET', url: '/v1/comments?include=total' })).json().page.total, 1, 'seeded once')
  const seeded = (await a.as('moderator', { method: 'GET', url: `/v1/comments/${thread.data[0].id}` })).json()
  const claim = await a.inject({
    method: 'POST',
    url: '/v1/articles/welcome-to-gazette/comments',
    payload: { authorName: 'Impostor', authorEmail: seeded.authorEmail, body: 'Trust me.' }
  })
  t.equal(claim.statusCode, 422, 'nobody can post as the seeded (trusted) email')
})

t.test('the avatar secret is made once per database and survives restarts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-avatar-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const start = async (name: string) => {
    const app = await buildApp({ config: { ...defaultConfig, databasePath: join(dir, name), seedDemo: false, commentModeration: 'none' } })
    await app.ready()
    const token = (await app.tokens.create('editor', 'editor')).token
    await app.inject({
      method: 'POST', url: '/v1/articles', headers: { authorization: `Bearer ${token}` }, payload: { title: `Post ${Date.now()}`, status: 'published' }
    })
    const slug = (await app.inject({ method: 'GET', url: '/v1/articles?limit=1' })).json().data[0].slug
    const res = await app.inject({ method: 'POST', url: `/v1/articles/${slug}/comments`, payload: { authorName: 'Ivan', authorEmail: 'ivan@example.com', body: 'Hi' } })
    await app.close()
    return res.json().avatarHash as string
  }
  const first = await start('one.db')
  const second = await start('one.db')
  t.match(first, /^[0-9a-f]{64}$/)
  t.equal(second, first, 'the same email hashes the same after a restart')
  t.not(await start('two.db'), first, 'another database has another secret')
})
