import t from 'tap'
import { assertProblem, build, type TestApp } from '../helper.js'

const tagsOf = async (a: TestApp) =>
  (await a.as('editor', { method: 'GET', url: '/v1/tags?limit=100' })).json().data as { slug: string, name: string, description: string | null, articleCount: number }[]

t.test('create, read, rename, re-slug and delete a tag', async (t) => {
  const a = await build(t)
  const created = await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: '  Japan ', description: 'News from Japan.' } })
  t.equal(created.statusCode, 201)
  t.equal(created.headers.location, '/v1/tags/japan')
  t.match(created.headers.etag, /^"[\w-]+"$/)
  t.same(created.json(), { slug: 'japan', name: 'Japan', description: 'News from Japan.', articleCount: 0 })

  const got = await a.inject({ method: 'GET', url: '/v1/tags/japan' })
  t.equal(got.statusCode, 200)
  t.equal(got.headers.etag, created.headers.etag, 'same representation, same ETag')
  const cached = await a.inject({ method: 'GET', url: '/v1/tags/japan', headers: { 'if-none-match': got.headers.etag as string } })
  t.equal(cached.statusCode, 304)
  t.equal(cached.body, '')

  const stale = await a.as('editor', { method: 'PATCH', url: '/v1/tags/japan', headers: { 'if-match': '"nope"' }, payload: { name: 'Nippon' } })
  assertProblem(t, stale, 412, 'precondition-failed')
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags/japan' })).json().name, 'Japan', 'a 412 changes nothing')

  const renamed = await a.as('editor', { method: 'PATCH', url: '/v1/tags/japan', headers: { 'if-match': got.headers.etag as string }, payload: { name: 'Nippon' } })
  t.equal(renamed.statusCode, 200)
  t.same(renamed.json(), { slug: 'japan', name: 'Nippon', description: 'News from Japan.', articleCount: 0 }, 'a rename keeps the slug')
  t.not(renamed.headers.etag, got.headers.etag)

  const noop = await a.as('editor', { method: 'PATCH', url: '/v1/tags/japan', payload: { name: 'Nippon' } })
  t.equal(noop.headers.etag, renamed.headers.etag, 'a patch that changes nothing')

  const reslugged = await a.as('editor', { method: 'PATCH', url: '/v1/tags/japan', payload: { slug: 'nippon', description: null } })
  t.same(reslugged.json(), { slug: 'nippon', name: 'Nippon', description: null, articleCount: 0 })
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/tags/japan' }), 404, 'not-found')
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags/nippon' })).statusCode, 200)

  assertProblem(t, await a.as('editor', { method: 'DELETE', url: '/v1/tags/nippon', headers: { 'if-match': renamed.headers.etag as string } }), 412, 'precondition-failed')
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags/nippon' })).statusCode, 200, 'a 412 deletes nothing')
  const deleted = await a.as('editor', { method: 'DELETE', url: '/v1/tags/nippon', headers: { 'if-match': reslugged.headers.etag as string } })
  t.equal(deleted.statusCode, 204)
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/tags/nippon' }), 404, 'not-found')
  assertProblem(t, await a.as('editor', { method: 'DELETE', url: '/v1/tags/nippon' }), 404, 'not-found')
  assertProblem(t, await a.as('editor', { method: 'PATCH', url: '/v1/tags/nippon', payload: { name: 'X' } }), 404, 'not-found')
})

t.test('a given slug, and slugs derived from names', async (t) => {
  const a = await build(t)
  const given = await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Middle East', slug: 'mideast' } })
  t.equal(given.statusCode, 201)
  t.equal(given.headers.location, '/v1/tags/mideast')
  const folded = await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Владивосток & Café' } })
  t.equal(folded.json().slug, 'vladivostok-and-cafe')
  const long = await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'word '.repeat(12).trim() + ' x' } })
  t.equal(long.statusCode, 201)
  t.ok(long.json().slug.length <= 64, 'derived slugs fit in 64 characters')
})

t.test('only editors write tags; everyone reads them', async (t) => {
  const a = await build(t)
  assertProblem(t, await a.inject({ method: 'POST', url: '/v1/tags', payload: { name: 'Japan' } }), 401, 'unauthorized')
  assertProblem(t, await a.as('moderator', { method: 'POST', url: '/v1/tags', payload: { name: 'Japan' } }), 403, 'forbidden')
  t.equal((await a.as('admin', { method: 'POST', url: '/v1/tags', payload: { name: 'Japan' } })).statusCode, 201)
  assertProblem(t, await a.inject({ method: 'PATCH', url: '/v1/tags/japan', payload: { name: 'X' } }), 401, 'unauthorized')
  assertProblem(t, await a.as('moderator', { method: 'DELETE', url: '/v1/tags/japan' }), 403, 'forbidden')
  t.equal((await a.as('moderator', { method: 'GET', url: '/v1/tags/japan' })).statusCode, 200)
  t.same((await tagsOf(a)).map((x) => x.name), ['Japan'], 'refused writes changed nothing')
})

t.test('bad input is a 422 and changes nothing', async (t) => {
  const a = await build(t)
  await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Japan' } })
  const before = await tagsOf(a)
  const bad: [Record<string, unknown>, string][] = [
    [{ name: '' }, '/name'],
    [{ name: '   ' }, '/name'],
    [{ name: '!!!' }, '/name'],
    [{ name: 'x'.repeat(65) }, '/name'],
    [{ name: 'Ok', slug: 'Not A Slug' }, '/slug'],
    [{ name: 'Ok', slug: 'a'.repeat(65) }, '/slug'],
    [{ name: 'Ok', description: 'd'.repeat(501) }, '/description'],
    [{ name: 'Ok', colour: 'red' }, ''],
    [{}, '']
  ]
  for (const [payload, pointer] of bad) {
    const res = await a.as('editor', { method: 'POST', url: '/v1/tags', payload })
    const problem = assertProblem(t, res, 422, 'validation')
    t.ok((problem.errors as { pointer: string }[]).some((e) => e.pointer.startsWith(pointer)), `${JSON.stringify(payload).slice(0, 40)} → ${pointer}`)
    const patched = await a.as('editor', { method: 'PATCH', url: '/v1/tags/japan', payload: { ...payload, name: payload.name ?? 'Japan' } })
    if (pointer !== '' || Object.keys(payload).length > 0) assertProblem(t, patched, 422, 'validation')
  }
  t.equal((await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'x'.repeat(64) } })).statusCode, 201, '64 characters is fine')
  t.same((await tagsOf(a)).filter((x) => x.slug !== 'x'.repeat(64)), before, 'nothing changed')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/tags/Not_A_Slug' }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/tags?colour=red' }), 422, 'validation')
})

t.test('slug and name clashes are 409s and change nothing', async (t) => {
  const a = await build(t)
  await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Japan' } })
  await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name: 'Korea', slug: 'kr' } })
  const before = await tagsOf(a)
  const clashes: [string, string, Record<string, unknown>][] = [
    ['POST', '/v1/tags', { name: 'japan' }],
    ['POST', '/v1/tags', { name: 'JAPAN!' }],
    ['POST', '/v1/tags', { name: 'Nippon', slug: 'japan' }],
    ['POST', '/v1/tags', { name: 'KOREA', slug: 'south-korea' }],
    ['POST', '/v1/tags', { name: 'Kr' }],
    ['PATCH', '/v1/tags/kr', { slug: 'japan' }],
    ['PATCH', '/v1/tags/kr', { name: 'Japan' }],
    ['PATCH', '/v1/tags/japan', { name: 'korea' }]
  ]
  for (const [method, url, payload] of clashes) {
    assertProblem(t, await a.as('editor', { method: method as 'POST', url, payload }), 409, 'conflict')
  }
  t.same(await tagsOf(a), before, 'nothing changed')
  const own = await a.as('editor', { method: 'PATCH', url: '/v1/tags/japan', payload: { name: 'JAPAN', slug: 'japan' } })
  t.equal(own.statusCode, 200, 'a tag does not clash with itself')
})
