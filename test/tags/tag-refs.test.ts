// Articles' tags are named from each process's dictionary (src/tags/tag-refs.ts): the reads take tag ids and
// the version of the tags (tag_refs_version, moved by triggers), and the dictionary forgets everything when
// the version moves. Every kind of change a reader could see must reach every read at once, on both
// engines, whichever process made it: here each change is made once through the API and once behind the
// app's back, in SQL, as another process would, and every read that shows tags is checked after it, with
// the response cache off. The last test removes the trigger and shows the reads then go stale: the checks
// above are what fails when an invalidation goes missing.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { sql } from 'drizzle-orm'
import { build, createArticle, type Engine, type TestApp } from '../helper.js'
import Database from 'better-sqlite3'
import { tagRefs, TagRefsMoved, withSettledTags } from '../../src/tags/tag-refs.js'
import { namedTagsPg } from '../../src/tags/tag-refs.pg.js'
import { loadNative } from '../../src/db/native.js'
import { lockEventOrder } from '../../src/events/outbox.pg.js'

/**
 * Runs SQL on the app's database, as another process would (no hook of this one sees it). On PostgreSQL
 * it takes the event log's order lock first, as every Gazette write does, so it never lands inside a slice
 * of this app's sweeper (src/tags/sweeper.pg.ts), which holds that lock. (That alone does not keep a sweep
 * from running between two such statements: see the wait for the sweep below. Only the 30 s upkeep tick
 * could still start one, which this test, a couple of seconds long, does not meet.)
 */
async function behindTheAppsBack (a: TestApp, text: string): Promise<void> {
  if (a.engine === 'postgres') {
    await a.pg!.db.transaction(async (tx) => {
      await lockEventOrder(tx)
      await tx.execute(sql.raw(text))
    })
  } else a.app.db.$client.exec(text)
}

/** The version of the tags on PostgreSQL (tag_refs_version), as a read takes it. */
const tagsVersion = async (db: NonNullable<TestApp['pg']>['db']): Promise<number> =>
  ((await db.execute(sql`SELECT version FROM tag_refs_version`)).rows[0] as { version: number }).version

type Tags = { slug: string, name: string }[]

/** The tags the article at `slug` shows in every read that shows them, as the public and as an editor. */
async function everyRead (t: Test, a: TestApp, slug: string, word: string): Promise<Record<string, Tags>> {
  const get = async (url: string, editor = false) => {
    const res = editor ? await a.as('editor', { method: 'GET', url }) : await a.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 200)}`)
    return res.json()
  }
  const fromList = async (url: string, editor = false): Promise<Tags> => {
    const item = ((await get(url, editor)).data as { slug: string, tags: Tags }[]).find((x) => x.slug === slug)
    t.ok(item, `${url}: the article is listed`)
    return item?.tags ?? []
  }
  return {
    article: (await get(`/v1/articles/${slug}`)).tags,
    'article, editor': (await get(`/v1/articles/${slug}`, true)).tags,
    list: await fromList('/v1/articles?limit=50'),
    'list, editor': await fromList('/v1/articles?limit=50', true),
    'list by tag': await fromList('/v1/articles?limit=50&tag=common'),
    'search, ranked': await fromList(`/v1/articles?limit=50&q=${word}`),
    'search, by date': await fromList(`/v1/articles?limit=50&q=${word}&sort=-publishedAt`)
  }
}

/** Every read shows these tags (slug and name, in this order). */
async function showsEverywhere (t: Test, a: TestApp, slug: string, word: string, expected: Tags, what: string): Promise<void> {
  const seen = await everyRead(t, a, slug, word)
  for (const [read, tags] of Object.entries(seen)) t.same(tags, expected, `${what}: ${read}`)
}

for (const engine of ['sqlite', 'postgres'] as const satisfies Engine[]) {
  t.test(`${engine}: every change of a tag reaches every read at once`, async (t) => {
    const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine })
    await createArticle(a, { title: 'Lighthouse keepers', body: 'The lighthouse.', status: 'published', tags: ['Common', 'Alpha', 'Beta', 'Gamma'] })
    await createArticle(a, { title: 'Lighthouse restored', body: 'The lighthouse again.', status: 'published', tags: ['Common', 'Beta'] })
    const slug = 'lighthouse-keepers'
    const word = 'lighthouse'
    await showsEverywhere(t, a, slug, word, [{ slug: 'common', name: 'Common' }, { slug: 'alpha', name: 'Alpha' }, { slug: 'beta', name: 'Beta' }, { slug: 'gamma', name: 'Gamma' }], 'at first')

    // Through the API: a rename, a re-slug, a deletion, a new tag on the article.
    t.equal((await a.as('editor', { method: 'PATCH', url: '/v1/tags/beta', payload: { name: 'Bravo' } })).statusCode, 200)
    await showsEverywhere(t, a, slug, word, [{ slug: 'common', name: 'Common' }, { slug: 'alpha', name: 'Alpha' }, { slug: 'beta', name: 'Bravo' }, { slug: 'gamma', name: 'Gamma' }], 'renamed')
    t.equal((await a.as('editor', { method: 'PATCH', url: '/v1/tags/beta', payload: { slug: 'bravo' } })).statusCode, 200)
    await showsEverywhere(t, a, slug, word, [{ slug: 'common', name: 'Common' }, { slug: 'alpha', name: 'Alpha' }, { slug: 'bravo', name: 'Bravo' }, { slug: 'gamma', name: 'Gamma' }], 're-slugged')
    t.equal((await a.as('editor', { method: 'DELETE', url: '/v1/tags/gamma' })).statusCode, 204)
    // The sweep the deletion woke, finished: left running (its slices rest between them, longer on a loaded
    // machine), it would find the tag deleted behind the app's back below and take it off its article
    // before the deletion is undone.
    await a.app.upkeep.sweep()
    await showsEverywhere(t, a, slug, word, [{ slug: 'common', name: 'Common' }, { slug: 'alpha', name: 'Alpha' }, { slug: 'bravo', name: 'Bravo' }], 'a tag deleted')
    t.equal((await a.as('editor', { method: 'PATCH', url: `/v1/articles/${slug}`, payload: { tags: ['Common', 'Delta', 'Alpha', 'Bravo'] } })).statusCode, 200)
    const retagged = [{ slug: 'common', name: 'Common' }, { slug: 'delta', name: 'Delta' }, { slug: 'alpha', name: 'Alpha' }, { slug: 'bravo', name: 'Bravo' }]
    await showsEverywhere(t, a, slug, word, retagged, 'a new tag, and the order changed')

    // Behind the app's back, as another process: a rename, a re-slug, a deletion (not yet swept), its undoing.
    await behindTheAppsBack(a, "UPDATE tags SET name = 'Alpha Two' WHERE slug = 'alpha'")
    retagged[2] = { slug: 'alpha', name: 'Alpha Two' }
    await showsEverywhere(t, a, slug, word, retagged, 'renamed by another process')
    await behindTheAppsBack(a, "UPDATE tags SET slug = 'delta-two' WHERE slug = 'delta'")
    retagged[1] = { slug: 'delta-two', name: 'Delta' }
    await showsEverywhere(t, a, slug, word, retagged, 're-slugged by another process')
    await behindTheAppsBack(a, "UPDATE tags SET deleted_at = 1 WHERE slug = 'bravo'")
    await showsEverywhere(t, a, slug, word, retagged.slice(0, 3), 'deleted by another process')
    await behindTheAppsBack(a, "UPDATE tags SET deleted_at = NULL WHERE slug = 'bravo'")
    await showsEverywhere(t, a, slug, word, retagged, 'the deletion undone')
    // A tag row removed outright (not deleted first): its article_tags rows go with it (ON DELETE CASCADE).
    await behindTheAppsBack(a, "DELETE FROM tags WHERE slug = 'delta-two'")
    await showsEverywhere(t, a, slug, word, [retagged[0]!, retagged[2]!, retagged[3]!], 'a tag row removed')
  })

  t.test(`${engine}: without the version's trigger, a rename by another process would not be seen`, async (t) => {
    const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine })
    await createArticle(a, { title: 'Lighthouse keepers', body: 'The lighthouse.', status: 'published', tags: ['Common', 'Alpha'] })
    const before = await everyRead(t, a, 'lighthouse-keepers', 'lighthouse')
    await behindTheAppsBack(a, 'DROP TRIGGER tag_refs_changed' + (engine === 'postgres' ? ' ON tags' : ''))
    await behindTheAppsBack(a, "UPDATE tags SET name = 'Alpha Two' WHERE slug = 'alpha'")
    const after = await everyRead(t, a, 'lighthouse-keepers', 'lighthouse')
    // Every read names its tags from the dictionary: each one still says Alpha, which is what the test above
    // catches when a change fails to move the version.
    for (const [read, tags] of Object.entries(after)) t.same(tags, before[read], `${read}: the old name, from the dictionary`)
  })
}

t.test('sqlite: a tag row removed outright, its article_tags rows left (foreign keys off), moves the version', async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine: 'sqlite' })
  await createArticle(a, { title: 'Lighthouse keepers', body: 'The lighthouse.', status: 'published', tags: ['Common', 'Alpha', 'Beta'] })
  const sqlite = a.app.db.$client
  // As the sqlite3 shell would, whose foreign keys are off unless asked: the article keeps a row for a tag that is gone.
  const removeOutright = (slug: string) => {
    sqlite.pragma('foreign_keys = OFF')
    try { sqlite.prepare('DELETE FROM tags WHERE slug = ?').run(slug) } finally { sqlite.pragma('foreign_keys = ON') }
  }
  const tags = async () => (await everyRead(t, a, 'lighthouse-keepers', 'lighthouse'))
  await tags()
  removeOutright('alpha')
  for (const [read, seen] of Object.entries(await tags())) t.same(seen, [{ slug: 'common', name: 'Common' }, { slug: 'beta', name: 'Beta' }], `${read}: the removed tag is gone`)
  // Without the trigger, the dictionary would go on naming it.
  sqlite.exec('DROP TRIGGER tag_refs_removed')
  removeOutright('beta')
  for (const [read, seen] of Object.entries(await tags())) t.same(seen, [{ slug: 'common', name: 'Common' }, { slug: 'beta', name: 'Beta' }], `${read}: without the trigger, still named`)
})

t.test('sqlite: an article read whose look-up of names finds the tags moved is made again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-tag-refs-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const a = await build(t, { responseCacheMb: 0, databasePath: join(dir, 'gazette.db') }, { engine: 'sqlite' })
  await createArticle(a, { title: 'Lighthouse keepers', body: 'The lighthouse.', status: 'published', tags: ['Alpha'] })
  // Another process renames the tag between the article's statement and the look-up of its name: the
  // look-up runs on this connection, and the rename on another, just before it.
  const other = new Database(a.app.db.$client.name)
  t.teardown(() => other.close())
  loadNative(other) // the tags' triggers call Gazette's SQLite functions
  const statement = Object.getPrototypeOf(a.app.db.$client.prepare('SELECT 1')) as { all: (...args: unknown[]) => unknown, get: (...args: unknown[]) => unknown }
  const { all, get } = statement
  let lookups = 0
  let reads = 0
  statement.all = function (this: { source: string }, ...args: unknown[]) {
    if (/FROM json_each\(\?\) j LEFT JOIN tags t/.test(this.source) && lookups++ === 0) other.prepare("UPDATE tags SET name = 'Alpha Two' WHERE slug = 'alpha'").run()
    return all.apply(this, args)
  }
  statement.get = function (this: { source: string }, ...args: unknown[]) {
    if (/LEFT JOIN article_representations/.test(this.source)) reads++
    return get.apply(this, args)
  }
  t.teardown(() => { Object.assign(statement, { all, get }) })
  const res = await a.inject({ method: 'GET', url: '/v1/articles/lighthouse-keepers' })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  t.same(res.json().tags, [{ slug: 'alpha', name: 'Alpha Two' }], 'the name as of the read made again')
  t.equal(reads, 2, 'the look-up found the version moved, and the article was read again')
  t.equal(lookups, 1, 'named by what that look-up found, kept at its own version')
})

t.test('postgres: a look-up of names that finds the tags moved since the read says so', async (t) => {
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres' })
  await createArticle(a, { title: 'Lighthouse keepers', body: 'The lighthouse.', status: 'published', tags: ['Alpha'] })
  const db = a.pg!.db
  const [{ version, id }] = (await db.execute(sql`SELECT (SELECT version FROM tag_refs_version) AS version, id FROM tags WHERE slug = 'alpha'`)).rows as [{ version: number, id: number }]
  await db.execute(sql`UPDATE tags SET name = 'Alpha Two' WHERE slug = 'alpha'`)
  const moved = await tagsVersion(db)
  t.not(moved, version, 'the rename moved the version')
  const refs = tagRefs()
  await t.rejects(namedTagsPg(db, refs, version, new Map([[1, [id]]])), { name: 'TagRefsMoved' }, 'a read at the old version is made again')
  t.same([...(await namedTagsPg(db, refs, moved, new Map([[1, [id]]])))], [[1, [{ slug: 'alpha', name: 'Alpha Two' }]]], 'and named at the new one')
})

// A database brought back to an older state while the processes run (a point-in-time recovery, a failover
// to a replica that lagged) goes on from an older version of the tags. Moved by one, its next change would
// give again the version this process learnt another name at, and the process would go on showing that
// name. migrations/pg/0014 moves it by a random step: this fails with a step of one (and, with the random
// step, once in about a million runs).
t.test('postgres: a database brought back to an older version of the tags, then changed, is not taken for the one a process knows', async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine: 'postgres' })
  await createArticle(a, { title: 'Lighthouse keepers', body: 'The lighthouse.', status: 'published', tags: ['Common', 'Alpha'] })
  const db = a.pg!.db
  const shows = async (name: string, what: string) => {
    const expected = [{ slug: 'common', name: 'Common' }, { slug: 'alpha', name }]
    for (const [read, tags] of Object.entries(await everyRead(t, a, 'lighthouse-keepers', 'lighthouse'))) t.same(tags, expected, `${what}: ${read}`)
  }
  await shows('Alpha', 'at first')
  const before = await tagsVersion(db)
  await db.execute(sql`UPDATE tags SET name = 'Alpha One' WHERE slug = 'alpha'`)
  await shows('Alpha One', 'renamed')
  const known = await tagsVersion(db)
  // Brought back: the name and the version as they were, as a restore writes them (no trigger of ours fires).
  await db.transaction(async (tx) => {
    await tx.execute(sql`ALTER TABLE tags DISABLE TRIGGER tag_refs_changed`)
    await tx.execute(sql`UPDATE tags SET name = 'Alpha' WHERE slug = 'alpha'`)
    await tx.execute(sql`UPDATE tag_refs_version SET version = ${before}`)
    await tx.execute(sql`ALTER TABLE tags ENABLE TRIGGER tag_refs_changed`)
  })
  // Changed again before this process reads anything: one move from the version it was brought back to.
  await db.execute(sql`UPDATE tags SET name = 'Alpha Again' WHERE slug = 'alpha'`)
  t.not(await tagsVersion(db), known, 'the change did not walk back onto the version the process learnt "Alpha One" at')
  await shows('Alpha Again', 'brought back, then renamed')
})

// The same, for a tag created in the abandoned history: the database brought back gives its id to the next
// tag it creates (an identity goes back with it). A tag's insert moves the version (migrations/pg/0014), so
// the id is looked up again; this fails without the trigger tag_refs_added.
t.test('postgres: a tag id given again after the database is brought back is named afresh', async (t) => {
  const a = await build(t, { responseCacheMb: 0, searchRateLimit: 1_000_000 }, { engine: 'postgres' })
  await createArticle(a, { title: 'Lighthouse keepers', body: 'The lighthouse.', status: 'published', tags: ['Common', 'Alpha'] })
  const db = a.pg!.db
  await everyRead(t, a, 'lighthouse-keepers', 'lighthouse')
  const before = await tagsVersion(db)
  await createArticle(a, { title: 'Lighthouse walkers', body: 'The lighthouse path.', status: 'published', tags: ['Common', 'Foo'] })
  for (const [read, tags] of Object.entries(await everyRead(t, a, 'lighthouse-walkers', 'lighthouse'))) t.same(tags, [{ slug: 'common', name: 'Common' }, { slug: 'foo', name: 'Foo' }], `before: ${read}`)
  const [{ id: fooId }] = (await db.execute(sql`SELECT id FROM tags WHERE slug = 'foo'`)).rows as [{ id: number }]
  // Brought back to before the tag Foo: its rows gone, the identity and the version as they were, with no
  // trigger of ours firing (as a restore writes them).
  await db.transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL session_replication_role = replica`)
    await tx.execute(sql`DELETE FROM article_tags WHERE tag_id = ${fooId}`)
    await tx.execute(sql`DELETE FROM tags WHERE id = ${fooId}`)
    await tx.execute(sql`SELECT setval(pg_get_serial_sequence('tags', 'id'), ${fooId - 1})`)
    await tx.execute(sql`UPDATE tag_refs_version SET version = ${before}`)
  })
  await createArticle(a, { title: 'Lighthouse painters', body: 'The lighthouse in oils.', status: 'published', tags: ['Common', 'Bar'] })
  const [{ id: barId }] = (await db.execute(sql`SELECT id FROM tags WHERE slug = 'bar'`)).rows as [{ id: number }]
  t.equal(barId, fooId, 'the new tag has the id Foo had')
  for (const [read, tags] of Object.entries(await everyRead(t, a, 'lighthouse-painters', 'lighthouse'))) t.same(tags, [{ slug: 'common', name: 'Common' }, { slug: 'bar', name: 'Bar' }], `after: ${read}`)
})

t.test('postgres: the version moves by a random step, and wraps before 2^31', async (t) => {
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres' })
  const db = a.pg!.db
  await createArticle(a, { title: 'Lighthouse keepers', body: 'The lighthouse.', status: 'published', tags: ['Alpha'] })
  const steps: number[] = []
  for (let i = 0; i < 5; i++) {
    const was = await tagsVersion(db)
    await db.execute(sql.raw(`UPDATE tags SET name = 'Alpha ${i}' WHERE slug = 'alpha'`))
    steps.push(await tagsVersion(db) - was)
  }
  t.ok(steps.every((s) => s >= 1 && s <= 1_000_000), `each step between 1 and 1,000,000: ${String(steps)}`)
  t.ok(new Set(steps).size > 1, `not the same step every time: ${String(steps)}`)
  await db.execute(sql`UPDATE tag_refs_version SET version = 2147483646`)
  await db.execute(sql`UPDATE tags SET name = 'Alpha wrapped' WHERE slug = 'alpha'`)
  const wrapped = await tagsVersion(db)
  t.ok(wrapped >= 0 && wrapped < 1_000_000, `wrapped, no integer overflow: ${wrapped}`)
})

t.test('the dictionary: a version read with the names, nothing kept past a move', async (t) => {
  const refs = tagRefs()
  t.same(refs.unknown(3, [1, 2, 1]), [1, 2], 'an empty dictionary knows nothing (each id asked once)')
  refs.learn(3, 3, [1, 2], [{ id: 1, slug: 'one', name: 'One', deleted: false }, { id: 2, slug: 'two', name: 'Two', deleted: true }])
  t.same(refs.pairs(3, [2, 1]), [['one', 'One']], 'a deleted tag is left out')
  t.same(refs.unknown(3, [1, 2]), [], 'known at the same version')
  t.same(refs.unknown(2, [1]), [1], 'a read older than the dictionary knows nothing')
  t.throws(() => refs.pairs(2, [1]), { name: 'TagRefsMoved' }, 'and cannot name anything')
  t.same(refs.unknown(4, [1]), [1], 'a read at another version knows nothing')
  t.throws(() => refs.learn(4, 5, [1], [{ id: 1, slug: 'one', name: 'Uno', deleted: false }]), { name: 'TagRefsMoved' }, 'a look-up that found another version: read again')
  t.same(refs.pairs(5, [1]), [['one', 'Uno']], 'what it found is kept, at its own version')
  refs.learn(5, 5, [9], [])
  t.same(refs.pairs(5, [9, 1]), [['one', 'Uno']], 'an id without a row is a tag removed')
  // On PostgreSQL a version wraps (migrations/pg/0014): a read of a snapshot from before a wrap brings a
  // larger number than the dictionary's, though older. It is looked up, and leaves the dictionary as it is.
  t.same(refs.unknown(2_147_000_000, [1]), [1], 'a larger version is looked up')
  t.same(refs.pairs(5, [1]), [['one', 'Uno']], 'and the reads at the dictionary\'s own version still named from it')
  t.throws(() => refs.learn(2_147_000_000, 5, [1], [{ id: 1, slug: 'one', name: 'Uno', deleted: false }]), { name: 'TagRefsMoved' }, 'until its look-up finds the database at the dictionary\'s version: read again')
  t.same(refs.pairs(5, [1]), [['one', 'Uno']], 'the dictionary kept')
  t.same(refs.unknown(1, [1]), [1], 'an older version (a restored database) is looked up')
  refs.learn(1, 1, [1], [{ id: 1, slug: 'one', name: 'Eins', deleted: 0 }])
  t.same(refs.pairs(1, [1]), [['one', 'Eins']], 'and the look-up\'s version taken as it is')

  const small = tagRefs(2)
  small.learn(1, 1, [1, 2], [{ id: 1, slug: 'a', name: 'A', deleted: null }, { id: 2, slug: 'b', name: 'B', deleted: null }])
  t.same(small.unknown(1, [1, 3]), [1, 3], 'past its size it starts again from nothing, before it sorts out a read\'s ids')
  small.learn(1, 1, [1, 3], [{ id: 1, slug: 'a', name: 'A', deleted: null }, { id: 3, slug: 'c', name: 'C', deleted: null }])
  t.same(small.pairs(1, [3, 1]), [['c', 'C'], ['a', 'A']], 'so a read across the new start is named whole')

  let tries = 0
  t.equal(withSettledTags(() => { if (++tries < 3) throw new TagRefsMoved('moved'); return 'read' }), 'read', 'a read made again while the tags move')
  t.equal(tries, 3)
  t.throws(() => withSettledTags(() => { throw new TagRefsMoved('always') }, 4), { name: 'TagRefsMoved' }, 'a few times, then the error')
})
