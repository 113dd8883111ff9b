// migrations/0018_tag_refs_version.sql on a database with data from before it: the version starts at 0, the
// articles show their tags (named from the dictionary, src/tags/tag-refs.ts) as before, and a rename made
// after the upgrade reaches the reads at once. (PostgreSQL's twin: test/pg/migrations.test.ts, and
// test/db/upgrade-fixture.test.ts upgrades a database with data on both engines.)
import t from 'tap'
import { build } from '../helper.js'
import { databaseMigratedTo, oldArchive } from './migrated.js'

t.test('a database from before the tags\' version upgrades in place', async (t) => {
  const { path, sqlite } = databaseMigratedTo(t, (e, all) => e.idx < all.find((x) => x.tag.endsWith('_tag_refs_version'))!.idx)
  oldArchive(sqlite)
  sqlite.close()
  const a = await build(t, { databasePath: path, responseCacheMb: 0 })
  t.same(a.app.db.$client.prepare('SELECT id, version FROM tag_refs_version').all(), [{ id: 1, version: 0 }], 'the version, at 0')

  // old-1 carries both tags (the quoted one first), old-5 only the quoted one.
  const tagsOf = async (slug: string) => (await a.inject({ method: 'GET', url: `/v1/articles/${slug}` })).json().tags
  const listed = async (slug: string) => ((await a.inject({ method: 'GET', url: '/v1/articles?limit=100' })).json().data as { slug: string, tags: unknown }[]).find((x) => x.slug === slug)?.tags
  t.same(await tagsOf('old-1'), [{ slug: 'quoted', name: 'The "Q"' }, { slug: 'world', name: 'World' }], 'an article\'s tags, in the editor\'s order')
  t.same(await listed('old-1'), await tagsOf('old-1'), 'the same in a list')
  t.same(await tagsOf('old-5'), [{ slug: 'quoted', name: 'The "Q"' }])

  t.equal((await a.as('editor', { method: 'PATCH', url: '/v1/tags/world', payload: { name: 'Earth' } })).statusCode, 200)
  t.equal(a.app.db.$client.prepare('SELECT version FROM tag_refs_version').pluck().get(), 1, 'a rename moves the version')
  t.same(await tagsOf('old-1'), [{ slug: 'quoted', name: 'The "Q"' }, { slug: 'world', name: 'Earth' }], 'and reaches the article at once')
  t.same(await listed('old-1'), await tagsOf('old-1'), 'and the list')
})
