// GET /v1/articles/{slug} answers from the representation stored at write time (src/articles/stored.ts).
// After every write of a random sequence — create, patch, tags, publish/unpublish/schedule, the clock
// passing a scheduled time, comments approved/unapproved/deleted, erasure, tag rename/re-slug/delete,
// revision restore, article delete — every article's answer, to the public and to an editor, must be the
// bytes and ETag of a fresh assembly, and every article must have its stored form (a write path that
// forgot to store one would leave it missing: the trigger of migration 0015 drops it with the update).
// On both engines (TEST_ENGINE=postgres: src/articles/stored.pg.ts).
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import { build, onSqlite, type TestApp } from '../helper.js'
import { seededRandom } from '../../bench/content.js'
import { freshArticle as fresh, freshList } from './fresh-article.js'

// Seeded, so a failure can be replayed: STORED_SEED=… STORED_STEPS=… npx tap …
const SEED = Number(process.env.STORED_SEED ?? 20261130)
const STEPS = Number(process.env.STORED_STEPS ?? 120)

// Text that tests the escaping and the cut points: quotes, backslashes, the markers themselves, HTML,
// non-ASCII, a line separator, astral characters.
const WEIRD = ['plain', 'with "quotes"', 'back\\slash', '],"status":"x"', ',"commentCount":7,"revision":1', '<b>bold</b> & co', 'Zürich 日本', 'line\u2028sep', 'emoji 🗞️', 'tab\there']
const TAG_NAMES = ['World', 'Politics', 'Japan', 'tags"quoted"', '],"status":', 'Ünïcode', 'A\\B', 'Navy 2', 'e-mail', 'zeta']

/** Runs `text` on the test's own database of either engine: the first column of each row it gives. */
async function column (a: TestApp, text: string): Promise<unknown[]> {
  if (a.pg === undefined) {
    const statement = a.app.db.$client.prepare(text)
    if (!statement.reader) { statement.run(); return [] }
    return statement.pluck().all()
  }
  return (await a.pg.db.execute(sql.raw(text))).rows.map((row) => Object.values(row)[0])
}

async function check (t: Test, a: TestApp, slugs: Set<string>, step: string): Promise<void> {
  const missing = await column(a, `SELECT a.slug FROM articles a
    WHERE NOT EXISTS (SELECT 1 FROM article_representations r WHERE r.article_id = a.id)`)
  t.same(missing, [], `${step}: every article has its stored form`)
  if (a.pg === undefined) {
    t.same(await column(a, 'SELECT a.slug FROM articles a WHERE NOT EXISTS (SELECT 1 FROM article_summaries s WHERE s.article_id = a.id)'), [],
      `${step}: every article has its stored summary`)
  }
  // Lists: the public's, an editor's of every status, a search (with snippets), a tag's.
  for (const [who, url] of [['public', '/v1/articles?limit=100'], ['editor', '/v1/articles?limit=100&status=any'],
    ['editor', '/v1/articles?limit=100&status=any&q=plain'], ['public', '/v1/articles?limit=100&tag=world']] as const) {
    const res = who === 'public' ? await a.inject({ method: 'GET', url }) : await a.as('editor', { method: 'GET', url })
    t.equal(res.statusCode, 200, `${step}: ${url}`)
    const want = await freshList(a, res.body)
    if (res.body !== want) t.equal(res.body, want, `${step}: ${who} ${url}: a fresh assembly's bytes`)
  }
  for (const slug of slugs) {
    const want = await fresh(a, slug)
    const pub = await a.inject({ method: 'GET', url: `/v1/articles/${slug}` })
    const ed = await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })
    if (want === undefined) {
      t.not(pub.statusCode, 200, `${step}: ${slug} is gone for the public`)
      t.not(ed.statusCode, 200, `${step}: ${slug} is gone for editors`)
      continue
    }
    if (ed.body !== want.payload) t.equal(ed.body, want.payload, `${step}: ${slug}: the editor's bytes are a fresh assembly's`)
    t.equal(ed.headers.etag, want.etag, `${step}: ${slug}: the editor's ETag is a fresh assembly's`)
    if (want.visibleAt(a.clock.now)) {
      if (pub.body !== want.payload) t.equal(pub.body, want.payload, `${step}: ${slug}: the public's bytes are a fresh assembly's`)
      t.equal(pub.statusCode, 200, `${step}: ${slug}: visible`)
      t.equal(pub.headers.etag, want.etag, `${step}: ${slug}: the public's ETag is a fresh assembly's`)
    } else {
      t.equal(pub.statusCode, 404, `${step}: ${slug}: not visible, never served (${pub.body.slice(0, 80)})`)
    }
  }
}

t.test('after each write of a random sequence, GET answers a fresh assembly\'s bytes and ETag', async (t) => {
  const a = await build(t, { responseCacheMb: 0, commentModeration: 'none', commentRateLimit: 100000 })
  const rnd = seededRandom(SEED)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
  const chance = (p: number) => rnd() < p
  const slugs = new Set<string>()
  const comments: { id: number, email: string }[] = []
  const tagSlugs = async (): Promise<string[]> =>
    (await a.as('editor', { method: 'GET', url: '/v1/tags?limit=100' })).json().data.map((x: { slug: string }) => x.slug)
  const someTags = () => TAG_NAMES.filter(() => chance(0.3))
  const status = () => pick(['draft', 'published', 'published', 'archived'] as const)
  const when = () => chance(0.5) ? null : new Date(a.clock.now + Math.floor((rnd() - 0.6) * 4 * 3600_000)).toISOString()
  const fields = () => {
    const body: Record<string, unknown> = {}
    if (chance(0.5)) body.title = `${pick(WEIRD)} ${Math.floor(rnd() * 1000)}`
    if (chance(0.4)) body.summary = chance(0.3) ? null : pick(WEIRD)
    if (chance(0.4)) body.body = `# ${pick(WEIRD)}\n\n${pick(WEIRD)} **${pick(WEIRD)}** <script>x</script>\n`
    if (chance(0.2)) body.section = chance(0.3) ? null : pick(WEIRD)
    if (chance(0.2)) body.dateline = chance(0.3) ? null : pick(WEIRD)
    if (chance(0.2)) body.source = chance(0.3) ? null : pick(WEIRD)
    if (chance(0.2)) body.authors = [pick(WEIRD), pick(WEIRD)]
    if (chance(0.3)) body.tags = someTags()
    if (chance(0.3)) body.status = status()
    if (chance(0.2)) body.publishedAt = when()
    if (chance(0.2)) body.commentsOpen = chance(0.7)
    if (chance(0.2)) body.image = chance(0.3) ? null : { url: 'https://img.example/a.jpg', alt: pick(WEIRD), ...(chance(0.5) ? { caption: pick(WEIRD) } : {}) }
    if (chance(0.1)) body.canonicalUrl = chance(0.5) ? null : 'https://wire.example/1'
    return body
  }
  const visibleSlug = async (): Promise<string | undefined> => {
    const visible: string[] = []
    for (const slug of slugs) if ((await fresh(a, slug))?.visibleAt(a.clock.now)) visible.push(slug)
    return visible.length === 0 ? undefined : pick(visible)
  }

  const ops: Record<string, () => Promise<string>> = {
    async create () {
      const res = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: pick(WEIRD), ...fields() } })
      t.equal(res.statusCode, 201, 'created')
      slugs.add(res.json().slug)
      return `create ${res.json().slug}`
    },
    async patch () {
      const slug = pick([...slugs])
      const res = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload: fields() })
      if (res.statusCode === 200) { slugs.delete(slug); slugs.add(res.json().slug) }
      return `patch ${slug}: ${res.statusCode}`
    },
    async tags () {
      const slug = pick([...slugs])
      await a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload: { tags: someTags() } })
      return `tags of ${slug}`
    },
    async publish () {
      const slug = pick([...slugs])
      await a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload: chance(0.5) ? { status: 'published', publishedAt: when() } : { status: pick(['draft', 'archived']) } })
      return `publish/unpublish ${slug}`
    },
    async time () {
      a.clock.advance(Math.floor(rnd() * 3600_000))
      return 'the clock moves (scheduled articles fall due)'
    },
    async comment () {
      const slug = await visibleSlug()
      if (slug === undefined) return 'comment: no visible article'
      const email = pick(['ann@example.org', 'bob@example.org', 'cy@example.org'])
      const res = await a.inject({ method: 'POST', url: `/v1/articles/${slug}/comments`, payload: { authorName: 'R', authorEmail: email, body: pick(WEIRD) } })
      if (res.statusCode === 201) comments.push({ id: res.json().id, email })
      return `comment on ${slug}: ${res.statusCode}`
    },
    async moderate () {
      if (comments.length === 0) return 'moderate: none'
      const c = pick(comments)
      const res = await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${c.id}`, payload: { status: pick(['approved', 'pending', 'spam']) } })
      return `moderate ${c.id}: ${res.statusCode}`
    },
    async removeComment () {
      if (comments.length === 0) return 'remove comment: none'
      const c = pick(comments)
      const res = await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${c.id}` })
      return `remove comment ${c.id}: ${res.statusCode}`
    },
    async erase () {
      const email = pick(['ann@example.org', 'bob@example.org', 'cy@example.org'])
      const res = await a.as('admin', { method: 'POST', url: '/v1/privacy/erase', payload: { email } })
      return `erase ${email}: ${res.statusCode}`
    },
    async renameTag () {
      const all = await tagSlugs()
      if (all.length === 0) return 'rename tag: none'
      const slug = pick(all)
      const payload = chance(0.5) ? { name: `${pick(WEIRD)} ${Math.floor(rnd() * 100)}` } : { slug: `t-${Math.floor(rnd() * 1e6)}` }
      const res = await a.as('editor', { method: 'PATCH', url: `/v1/tags/${slug}`, payload })
      return `rename tag ${slug}: ${res.statusCode}`
    },
    async deleteTag () {
      const all = await tagSlugs()
      if (all.length === 0) return 'delete tag: none'
      const slug = pick(all)
      const res = await a.as('editor', { method: 'DELETE', url: `/v1/tags/${slug}` })
      if (chance(0.5)) await a.app.upkeep.sweep()
      return `delete tag ${slug}: ${res.statusCode}`
    },
    async restore () {
      const slug = pick([...slugs])
      const editor = await a.as('editor', { method: 'GET', url: `/v1/articles/${slug}` })
      if (editor.statusCode !== 200) return `restore ${slug}: ${editor.statusCode}`
      const revision = editor.json().revision as number
      if (revision < 2) return `restore ${slug}: only one revision`
      const res = await a.as('editor', { method: 'POST', url: `/v1/articles/${slug}/revisions/${1 + Math.floor(rnd() * (revision - 1))}/restore`, headers: { 'if-match': editor.headers.etag as string } })
      if (res.statusCode === 200) { slugs.delete(slug); slugs.add(res.json().slug) }
      return `restore ${slug}: ${res.statusCode}`
    },
    async remove () {
      const slug = pick([...slugs])
      const res = await a.as('editor', { method: 'DELETE', url: `/v1/articles/${slug}` })
      return `delete ${slug}: ${res.statusCode}`
    }
  }
  const weights: [keyof typeof ops, number][] = [
    ['create', 4], ['patch', 4], ['tags', 2], ['publish', 2], ['time', 1], ['comment', 4], ['moderate', 2], ['removeComment', 1],
    ['erase', 1], ['renameTag', 2], ['deleteTag', 1], ['restore', 2], ['remove', 1]
  ]
  const total = weights.reduce((n, [, w]) => n + w, 0)
  const seen = new Set<string>()
  for (let i = 0; i < 3; i++) await ops.create!()
  for (let i = 0; i < STEPS; i++) {
    let r = rnd() * total
    let op = weights[0]![0]
    for (const [name, w] of weights) { if ((r -= w) < 0) { op = name; break } }
    if (slugs.size === 0 && op !== 'create') op = 'create'
    seen.add(op)
    const step = `step ${i} (seed ${SEED}): ${await ops[op]!()}`
    await check(t, a, slugs, step)
  }
  t.same([...seen].sort(), weights.map(([name]) => name).sort(), 'the sequence ran every kind of write')
})

t.test('HEAD and conditional GETs answer from the stored form', async (t) => {
  const a = await build(t, { responseCacheMb: 0 })
  const created = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Heads', body: 'The *body*.', tags: ['One', 'Two'], status: 'published' } })
  const get = await a.inject({ method: 'GET', url: '/v1/articles/heads' })
  t.equal(get.headers.etag, created.headers.etag, 'the create\'s ETag is the one GET gives')
  t.equal(get.body, created.body, 'and its bytes')
  const head = await a.inject({ method: 'HEAD', url: '/v1/articles/heads' })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
  t.equal(head.headers.etag, get.headers.etag)
  t.equal(head.headers['content-length'], String(Buffer.byteLength(get.body)))
  const notModified = await a.inject({ method: 'GET', url: '/v1/articles/heads', headers: { 'if-none-match': get.headers.etag as string } })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.body, '')
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles/heads', headers: { 'if-match': '"other"' } })).statusCode, 412)
  t.equal((await a.as('editor', { method: 'PATCH', url: '/v1/articles/heads', payload: { title: 'Heads 2' }, headers: { 'if-match': get.headers.etag as string } })).statusCode, 200,
    'GET\'s ETag is the one If-Match checks')
})

t.test('an article updated behind the writers\' back loses its stored form and is assembled afresh', async (t) => {
  const a = await build(t, { responseCacheMb: 0 })
  const count = async (): Promise<number> => Number((await column(a, 'SELECT count(*) FROM article_representations'))[0])
  await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Behind', status: 'published' } })
  t.equal(await count(), 1, 'the create stored its form')
  const before = await a.inject({ method: 'GET', url: '/v1/articles/behind' })
  // What a process of an older version, or an operator's SQL, would do.
  await column(a, "UPDATE articles SET title = 'Changed' WHERE slug = 'behind'")
  t.equal(await count(), 0, 'the trigger dropped the stored form')
  const after = await a.inject({ method: 'GET', url: '/v1/articles/behind' })
  t.equal(after.json().title, 'Changed', 'the read assembles afresh')
  t.not(after.headers.etag, before.headers.etag)
  const want = await fresh(a, 'behind')
  t.equal(after.body, want!.payload)
  t.equal(after.headers.etag, want!.etag)
  await column(a, "UPDATE articles SET comment_count = 0, announced = announced WHERE slug = 'behind'")
  await a.app.upkeep.fillRepresentations()
  t.equal(await count(), 1, 'the backfill stores it again')
  const again = await a.inject({ method: 'GET', url: '/v1/articles/behind' })
  t.equal(again.body, after.body)
  t.equal(again.headers.etag, after.headers.etag)
})

t.test('SQLite: a list item without its stored summary is assembled afresh, and the backfill stores it', onSqlite, async (t) => {
  const a = await build(t, { responseCacheMb: 0 })
  const summaries = async (): Promise<number> => Number((await column(a, 'SELECT count(*) FROM article_summaries'))[0])
  await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Listed "one"', summary: 'A ],"status": B', tags: ['World'], status: 'published' } })
  await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Listed two', status: 'published' } })
  t.equal(await summaries(), 2, 'the creates stored their summaries')
  const before = await a.inject({ method: 'GET', url: '/v1/articles' })
  t.equal(before.body, await freshList(a, before.body))
  await column(a, "UPDATE articles SET title = 'Changed' WHERE slug = 'listed-one'")
  t.equal(await summaries(), 1, 'the trigger dropped the changed one\'s summary')
  const after = await a.inject({ method: 'GET', url: '/v1/articles' })
  t.equal(after.json().data.find((x: { slug: string }) => x.slug === 'listed-one').title, 'Changed', 'the list assembles it afresh')
  t.equal(after.body, await freshList(a, after.body))
  t.not(after.headers.etag, before.headers.etag)
  // The body is not in a summary: changing it alone keeps the summary (the representation goes).
  await column(a, "UPDATE articles SET body = 'New body' WHERE slug = 'listed-two'")
  t.equal(await summaries(), 1)
  await a.app.upkeep.fillRepresentations()
  t.equal(await summaries(), 2, 'the backfill stores it again')
  const again = await a.inject({ method: 'GET', url: '/v1/articles' })
  t.equal(again.body, after.body)
  t.equal(again.headers.etag, after.headers.etag)
})
