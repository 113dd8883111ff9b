import { createHash } from 'node:crypto'
import t from 'tap'
import { assertProblem, build, countComments, createArticle, postComment } from '../helper.js'

const reader = { authorName: 'Ivan', authorEmail: 'ivan@example.com', body: 'Good to see them **home**.' }

t.test('a reader leaves a comment: 201, Location, ETag, safe HTML, public shape', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Fleet returns', status: 'published' })
  const res = await postComment(a, 'fleet-returns', {
    ...reader,
    authorUrl: 'https://ivan.example/blog',
    body: 'Hi <script>alert(1)</script> [click](javascript:alert(1)) [ok](https://ok.example) **bold**'
  }, { 'user-agent': 'TestAgent/1.0' })
  t.equal(res.statusCode, 201)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  const c = res.json()
  t.equal(res.headers.location, `/v1/comments/${c.id}`)
  t.match(res.headers.etag, /^"[\w-]+"$/)
  t.same(Object.keys(c).sort(), ['articleSlug', 'authorName', 'authorUrl', 'avatarHash', 'body', 'bodyHtml', 'createdAt', 'editToken', 'edited', 'id', 'parentId', 'status', 'updatedAt'],
    'the public shape and the edit token, without authorEmail, ip or userAgent')
  t.match(c.editToken, /^gzc_[\w-]{43}$/, 'the edit token: 256 random bits')
  t.equal(c.edited, false)
  t.match(c, {
    articleSlug: 'fleet-returns',
    parentId: null,
    authorName: 'Ivan',
    authorUrl: 'https://ivan.example/blog',
    status: 'approved',
    createdAt: '2026-07-08T09:00:00.000Z',
    updatedAt: '2026-07-08T09:00:00.000Z'
  })
  t.notMatch(c.bodyHtml, /<script/, 'raw HTML is escaped')
  t.match(c.bodyHtml, /&lt;script&gt;/)
  t.notMatch(c.bodyHtml, /href="javascript/i, 'javascript: links are dropped')
  t.match(c.bodyHtml, /<a href="https:\/\/ok\.example" rel="nofollow ugc[^"]*">ok<\/a>/, 'links are nofollow ugc')
  t.match(c.bodyHtml, /<strong>bold<\/strong>/)

  const got = await a.inject({ method: 'GET', url: res.headers.location as string })
  t.equal(got.statusCode, 200)
  const { editToken: _shownOnce, ...comment } = c
  t.same(got.json(), comment, 'a GET shows the comment without its edit token')
  t.equal(got.headers.etag, res.headers.etag, 'the 201\'s ETag names the comment as GET shows it')
  const again = await a.inject({ method: 'GET', url: res.headers.location as string, headers: { 'if-none-match': res.headers.etag as string } })
  t.equal(again.statusCode, 304)
  t.equal(again.body, '')

  const mod = (await a.as('moderator', { method: 'GET', url: res.headers.location as string })).json()
  t.match(mod, { authorEmail: 'ivan@example.com', ip: '127.0.0.1', userAgent: 'TestAgent/1.0' }, 'moderators see where it came from')

  const anonymous = await postComment(a, 'fleet-returns', reader, { 'user-agent': '' })
  t.equal((await a.as('moderator', { method: 'GET', url: anonymous.headers.location as string })).json().userAgent, null, 'no user agent is stored as null')
  const long = await postComment(a, 'fleet-returns', reader, { 'user-agent': 'U'.repeat(2000) })
  t.equal((await a.as('moderator', { method: 'GET', url: long.headers.location as string })).json().userAgent.length, 512, 'a user agent is kept to 512 characters')

  const article = (await a.inject({ method: 'GET', url: '/v1/articles/fleet-returns' })).json()
  t.equal(article.commentCount, 3)
  t.equal(article.revision, 1, 'a comment is not a revision of the article')
})

t.test('avatarHash is a keyed HMAC of the normalised email, not a plain hash', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Avatars', status: 'published' })
  const one = (await postComment(a, 'avatars', { ...reader, authorEmail: 'Ivan@Example.COM' })).json()
  const two = (await postComment(a, 'avatars', { ...reader, authorEmail: 'ivan@example.com' })).json()
  const other = (await postComment(a, 'avatars', { ...reader, authorEmail: 'olga@example.com' })).json()
  t.match(one.avatarHash, /^[0-9a-f]{64}$/)
  t.equal(one.avatarHash, two.avatarHash, 'the same email in another case has the same avatar')
  t.not(one.avatarHash, other.avatarHash)
  const email = 'ivan@example.com'
  for (const algo of ['md5', 'sha1', 'sha256', 'sha512']) {
    for (const variant of [email, 'Ivan@Example.COM']) {
      const plain = createHash(algo).update(variant).digest('hex')
      t.not(one.avatarHash, plain, `not an unsalted ${algo} of the email`)
      t.notOk(plain.startsWith(one.avatarHash.slice(0, 32)), `nor a prefix of ${algo}`)
    }
  }
  const b = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(b, { title: 'Avatars', status: 'published' })
  const elsewhere = (await postComment(b, 'avatars', reader)).json()
  t.not(elsewhere.avatarHash, one.avatarHash, 'another server (another secret) gives another hash')
})

t.test('moderation mode "first" (default): trusted once an approved comment has that email', async (t) => {
  const a = await build(t, { commentRateLimit: 1000 })
  await createArticle(a, { title: 'First', status: 'published' })
  const first = (await postComment(a, 'first', reader)).json()
  t.equal(first.status, 'pending', 'a new email waits')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/comments/${first.id}` }), 404, 'not-found')
  t.equal((await postComment(a, 'first', reader)).json().status, 'pending', 'a pending comment does not make an email trusted')

  const approved = await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${first.id}`, payload: { status: 'approved' } })
  t.equal(approved.json().status, 'approved')
  t.equal((await postComment(a, 'first', { ...reader, authorEmail: 'IVAN@EXAMPLE.com' })).json().status, 'approved',
    'the email is compared case-insensitively')
  t.equal((await postComment(a, 'first', { ...reader, authorEmail: 'olga@example.com' })).json().status, 'pending')
  const links = (await postComment(a, 'first', { ...reader, body: 'see http://a.example http://b.example http://c.example' })).json()
  t.equal(links.status, 'pending', 'more than COMMENT_MAX_LINKS links waits even for a trusted email')
})

t.test('moderation modes "all" and "none", and the link count', async (t) => {
  const all = await build(t, { commentModeration: 'all', commentRateLimit: 1000 })
  await createArticle(all, { title: 'All', status: 'published' })
  const c = (await postComment(all, 'all', reader)).json()
  t.equal(c.status, 'pending')
  await all.as('moderator', { method: 'PATCH', url: `/v1/comments/${c.id}`, payload: { status: 'approved' } })
  t.equal((await postComment(all, 'all', reader)).json().status, 'pending', 'all: even a known email waits')

  const none = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(none, { title: 'None', status: 'published' })
  t.equal((await postComment(none, 'none', reader)).json().status, 'approved')
  t.equal((await postComment(none, 'none', { ...reader, body: '[a](https://a.example) and https://b.example' })).json().status, 'approved',
    'two links are allowed by default')
  t.equal((await postComment(none, 'none', { ...reader, body: '[a](https://a.example) https://b.example https://c.example' })).json().status, 'pending',
    'three links (bare URLs included) are not')

  const strict = await build(t, { commentModeration: 'none', commentMaxLinks: 0, commentRateLimit: 1000 })
  await createArticle(strict, { title: 'Strict', status: 'published' })
  t.equal((await postComment(strict, 'strict', { ...reader, body: 'https://a.example' })).json().status, 'pending')
  t.equal((await postComment(strict, 'strict', { ...reader, body: 'no links' })).json().status, 'approved')
})

t.test('replies: the parent must be an approved comment of the same article', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'One', status: 'published' })
  await createArticle(a, { title: 'Two', status: 'published' })
  const parent = (await postComment(a, 'one', reader)).json()
  const reply = await postComment(a, 'one', { ...reader, body: 'I agree.', parentId: parent.id })
  t.equal(reply.statusCode, 201)
  t.equal(reply.json().parentId, parent.id)

  const elsewhere = (await postComment(a, 'two', reader)).json()
  const held = (await postComment(a, 'one', { ...reader, body: '1 http://a.example http://b.example http://c.example' })).json()
  t.equal(held.status, 'pending')
  const before = await countComments(a)
  for (const [why, parentId] of [['another article', elsewhere.id], ['a pending comment', held.id], ['no such comment', 99999]] as const) {
    const res = await postComment(a, 'one', { ...reader, parentId })
    const body = assertProblem(t, res, 422, 'validation')
    t.match(body.errors, [{ in: 'body', pointer: '/parentId' }], `parent is ${why}`)
  }
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${parent.id}`, payload: { status: 'spam' } })
  assertProblem(t, await postComment(a, 'one', { ...reader, parentId: parent.id }), 422, 'validation')
  t.equal(await countComments(a), before, 'nothing stored')
})

t.test('where comments may not go: drafts, scheduled, unknown, closed', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Draft' })
  await createArticle(a, { title: 'Later', status: 'published', publishedAt: '2026-07-09T09:00:00.000Z' })
  await createArticle(a, { title: 'Closed', status: 'published', commentsOpen: false })
  await createArticle(a, { title: 'Archived', status: 'archived' })

  for (const slug of ['draft', 'later', 'archived', 'no-such-article']) {
    assertProblem(t, await postComment(a, slug, reader), 404, 'not-found')
  }
  const closed = assertProblem(t, await postComment(a, 'closed', reader), 409, 'comments-closed')
  t.equal(closed.title, 'Comments Closed')
  const byEditor = await a.as('editor', { method: 'POST', url: '/v1/articles/draft/comments', payload: reader })
  assertProblem(t, byEditor, 409, 'comments-closed')
  t.equal(await countComments(a), 0, 'nothing stored')

  a.clock.advance(24 * 3600 * 1000)
  t.equal((await postComment(a, 'later', reader)).statusCode, 201, 'a scheduled article takes comments once it is due')
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/closed', payload: { commentsOpen: true } })
  t.equal((await postComment(a, 'closed', reader)).statusCode, 201, 'and a reopened one')
})

t.test('bad input: clear 4xx problems and nothing stored', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Bad', status: 'published' })
  const { authorName: _n, ...noName } = reader
  const { authorEmail: _e, ...noEmail } = reader
  const { body: _b, ...noBody } = reader
  const cases: [string, Record<string, unknown>, string][] = [
    ['no authorName', noName, '/authorName'],
    ['no authorEmail', noEmail, '/authorEmail'],
    ['no body', noBody, '/body'],
    ['empty authorName', { ...reader, authorName: '' }, '/authorName'],
    ['blank authorName', { ...reader, authorName: '   ' }, '/authorName'],
    ['authorName over 100', { ...reader, authorName: 'x'.repeat(101) }, '/authorName'],
    ['authorName not a string', { ...reader, authorName: 42 }, '/authorName'],
    ['invalid email', { ...reader, authorEmail: 'not-an-email' }, '/authorEmail'],
    ['email without domain', { ...reader, authorEmail: 'ivan@' }, '/authorEmail'],
    ['email over 254', { ...reader, authorEmail: `${'a'.repeat(243)}@example.com` }, '/authorEmail'],
    ['javascript: URL', { ...reader, authorUrl: 'javascript:alert(1)' }, '/authorUrl'],
    ['JavaScript: URL in capitals', { ...reader, authorUrl: 'JAVASCRIPT:alert(1)//http://x' }, '/authorUrl'],
    ['data: URL', { ...reader, authorUrl: 'data:text/html,<script>alert(1)</script>' }, '/authorUrl'],
    ['ftp: URL', { ...reader, authorUrl: 'ftp://files.example' }, '/authorUrl'],
    ['URL without host', { ...reader, authorUrl: 'http://' }, '/authorUrl'],
    ['not a URL', { ...reader, authorUrl: 'my site' }, '/authorUrl'],
    ['URL with a port out of range', { ...reader, authorUrl: 'http://example.com:99999' }, '/authorUrl'],
    ['URL with an empty host', { ...reader, authorUrl: 'http://:80' }, '/authorUrl'],
    ['empty body', { ...reader, body: '' }, '/body'],
    ['blank body', { ...reader, body: ' \n ' }, '/body'],
    ['body over 10000', { ...reader, body: 'x'.repeat(10001) }, '/body'],
    ['unknown field status', { ...reader, status: 'approved' }, '/status'],
    ['unknown field ip', { ...reader, ip: '1.2.3.4' }, '/ip'],
    ['parentId zero', { ...reader, parentId: 0 }, '/parentId'],
    ['parentId a string', { ...reader, parentId: 'abc' }, '/parentId'],
    ['parentId fractional', { ...reader, parentId: 1.5 }, '/parentId']
  ]
  for (const [why, payload, pointer] of cases) {
    const res = await postComment(a, 'bad', payload)
    const body = assertProblem(t, res, 422, 'validation')
    t.ok((body.errors as { pointer: string }[]).some((e) => e.pointer === pointer), `${why}: error at ${pointer} (${JSON.stringify(body.errors)})`)
  }
  assertProblem(t, await a.inject({ method: 'POST', url: '/v1/articles/bad/comments', headers: { 'content-type': 'application/json' }, payload: '{"authorName":' }), 400, 'malformed-request')
  assertProblem(t, await a.inject({ method: 'POST', url: '/v1/articles/bad/comments', headers: { 'content-type': 'text/plain' }, payload: 'hello' }), 415, 'unsupported-media-type')
  assertProblem(t, await a.inject({ method: 'POST', url: '/v1/articles/bad/comments', payload: [reader] }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'POST', url: '/v1/articles/Not%20A%20Slug/comments', payload: reader }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'POST', url: '/v1/articles/bad/comments?spam=1', payload: reader }), 422, 'validation')
  t.equal(await countComments(a), 0, 'nothing stored')
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/bad' })).json().commentCount, 0)

  const limits = await postComment(a, 'bad', {
    authorName: 'x'.repeat(100),
    authorEmail: `${'a'.repeat(242)}@example.com`,
    authorUrl: 'HTTP://Example.com/path?q=1#top',
    body: 'y'.repeat(10000)
  })
  t.equal(limits.statusCode, 201, 'values at the limits are accepted')
  t.equal(await countComments(a), 1)
})

t.test('a new comment adds to commentCount only when it is approved, and its 201 is what is stored', async (t) => {
  const a = await build(t, { commentRateLimit: 1000 })
  await createArticle(a, { title: 'Tally', status: 'published' })
  const count = async () => (await a.inject({ method: 'GET', url: '/v1/articles/tally' })).json().commentCount
  const first = (await postComment(a, 'tally', reader)).json()
  t.equal(first.status, 'pending')
  t.equal(await count(), 0, 'a pending comment is not counted')
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${first.id}`, payload: { status: 'approved' } })
  t.equal(await count(), 1, 'approving it counts it')
  t.equal((await postComment(a, 'tally', reader)).json().status, 'approved', 'the email is now trusted')
  t.equal(await count(), 2, 'an approved new comment adds one')
  t.equal((await postComment(a, 'tally', { ...reader, body: 'http://a.example http://b.example http://c.example' })).json().status, 'pending')
  t.equal(await count(), 2, 'a held one (too many links) does not')
  t.equal((await postComment(a, 'tally', { ...reader, authorEmail: 'new@example.com' })).json().status, 'pending')
  t.equal(await count(), 2, 'nor one from a new email')
  const listed = (await a.inject({ method: 'GET', url: '/v1/articles/tally/comments?include=total' })).json()
  t.equal(listed.page.total, 2, 'the count is the approved comments')

  // The 201 is built from what was written; it must be exactly what a later GET reads back, in both shapes.
  const byModerator = await a.as('moderator', {
    method: 'POST',
    url: '/v1/articles/tally/comments',
    payload: { ...reader, authorUrl: 'https://ivan.example', parentId: first.id, body: 'A *reply*.' },
    headers: { 'user-agent': 'ModAgent/2' }
  })
  t.equal(byModerator.statusCode, 201)
  const stored = await a.as('moderator', { method: 'GET', url: byModerator.headers.location as string })
  const { editToken, ...created } = byModerator.json()
  t.match(editToken, /^gzc_/, 'a comment posted with a token has an edit token too')
  t.same(stored.json(), created, 'the moderated shape (email, ip, user agent) matches the stored comment')
  t.equal(stored.headers.etag, byModerator.headers.etag)
  t.match(byModerator.json(), { authorEmail: 'ivan@example.com', ip: '127.0.0.1', userAgent: 'ModAgent/2', parentId: first.id, articleSlug: 'tally', bodyHtml: '<p>A <em>reply</em>.</p>\n' })
  t.equal(await count(), 3)
})

t.test('an editor posting where the public may not is told why (409), an unknown slug stays 404', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Later', status: 'published', publishedAt: '2026-07-09T09:00:00.000Z' })
  await createArticle(a, { title: 'Archived', status: 'archived' })
  for (const slug of ['later', 'archived']) {
    assertProblem(t, await a.as('editor', { method: 'POST', url: `/v1/articles/${slug}/comments`, payload: reader }), 409, 'comments-closed')
  }
  assertProblem(t, await a.as('editor', { method: 'POST', url: '/v1/articles/no-such-article/comments', payload: reader }), 404, 'not-found')
  t.equal(await countComments(a), 0, 'nothing stored')
})

t.test('a posted body renders and counts links as a moderator edit of the same Markdown renders it', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 1000 })
  await createArticle(a, { title: 'Rendering', status: 'published' })
  const body = 'See [the report][r] and https://bare.example, *not* <b>html</b>.\n\n> quoted\n\n[r]: https://ref.example "Ref"'
  const posted = (await postComment(a, 'rendering', { ...reader, body })).json()
  t.equal(posted.status, 'approved', 'two links (a reference link and a bare URL): within the default limit')
  t.match(posted.bodyHtml, /<a href="https:\/\/ref\.example" title="Ref" rel="nofollow ugc[^"]*">the report<\/a>/, 'reference links resolve')
  t.match(posted.bodyHtml, /<a href="https:\/\/bare\.example" rel="nofollow ugc[^"]*">/, 'bare URLs are linked')
  const other = (await postComment(a, 'rendering', { ...reader, body: 'placeholder' })).json()
  const edited = (await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${other.id}`, payload: { body } })).json()
  t.equal(edited.bodyHtml, posted.bodyHtml, 'one renderer for both paths')
  const third = (await postComment(a, 'rendering', { ...reader, body: `${body}\n\nand https://third.example` })).json()
  t.equal(third.status, 'pending', 'a third link (counted from the same parse) holds the comment')
})
