import t, { type Test } from 'tap'
import { assertProblem, build, createArticle, type TestApp } from '../helper.js'

interface TagItem { slug: string, name: string, articleCount: number }

/** Follows nextCursor (and checks the Link header) to the end; returns every item in order. */
async function walk (t: Test, a: TestApp, query: string, role?: 'editor'): Promise<TagItem[]> {
  const items: TagItem[] = []
  let url: string | undefined = `/v1/tags?${query}`
  while (url !== undefined) {
    const res: Awaited<ReturnType<TestApp['inject']>> = role ? await a.as(role, { method: 'GET', url }) : await a.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200)
    const body = res.json()
    items.push(...body.data)
    const next = body.page.nextCursor as string | null
    const link = res.headers.link as string | undefined
    url = next === null ? undefined : `/v1/tags?${query}&cursor=${next}`
    t.equal(link, url === undefined ? undefined : `<${url}>; rel="next"`)
  }
  return items
}

t.test('by name, case-insensitively, then by id; every page exactly once', async (t) => {
  const a = await build(t)
  const names = ['banana', 'Apple', 'cherry', 'apple pie', 'Apricot', 'date', 'Éclair', 'fig', 'Grape']
  for (const name of names) await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name } })
  const all = await walk(t, a, 'limit=2&include=total')
  t.same(all.map((x) => x.name), ['Apple', 'apple pie', 'Apricot', 'banana', 'cherry', 'date', 'fig', 'Grape', 'Éclair'])
  const first = await a.inject({ method: 'GET', url: '/v1/tags?limit=2&include=total' })
  t.same(first.json().page, { limit: 2, nextCursor: first.json().page.nextCursor, total: 9 })
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags' })).json().page.limit, 20, 'default limit')
})

t.test('by -articleCount, ties by id, as each caller counts', async (t) => {
  const a = await build(t)
  for (const name of ['One', 'Two', 'Three', 'Four', 'Empty']) await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name } })
  await createArticle(a, { title: 'a', status: 'published', tags: ['Three', 'Two'] })
  await createArticle(a, { title: 'b', status: 'published', tags: ['Three', 'Two', 'One'] })
  await createArticle(a, { title: 'c', status: 'published', tags: ['Three'] })
  await createArticle(a, { title: 'd', tags: ['Four'] })
  await createArticle(a, { title: 'e', tags: ['Four'] })
  await createArticle(a, { title: 'f', tags: ['Four'] })
  await createArticle(a, { title: 'g', tags: ['Four'] })
  const pub = await walk(t, a, 'sort=-articleCount&limit=2')
  t.same(pub.map((x) => [x.slug, x.articleCount]), [['three', 3], ['two', 2], ['one', 1], ['four', 0], ['empty', 0]])
  const ed = await walk(t, a, 'sort=-articleCount&limit=2', 'editor')
  t.same(ed.map((x) => [x.slug, x.articleCount]), [['four', 4], ['three', 3], ['two', 2], ['one', 1], ['empty', 0]])
  const total = await a.inject({ method: 'GET', url: '/v1/tags?sort=-articleCount&limit=1&include=total&q=t' })
  t.same(total.json().data.map((x: TagItem) => x.slug), ['three'])
  t.equal(total.json().page.total, 2)
})

t.test('q is a case-insensitive name prefix; LIKE wildcards are literal', async (t) => {
  const a = await build(t)
  for (const name of ['Japan', 'japanese food', 'Jazz', 'Asia-Japan', '100% Pure', '1000 Days', 'a_b', 'axb']) {
    t.equal((await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name } })).statusCode, 201)
  }
  const names = async (q: string) => (await walk(t, a, `q=${encodeURIComponent(q)}&limit=1`)).map((x) => x.name)
  t.same(await names('JAP'), ['Japan', 'japanese food'])
  t.same(await names('ja'), ['Japan', 'japanese food', 'Jazz'])
  t.same(await names('100%'), ['100% Pure'], '% is not a wildcard')
  t.same(await names('a_'), ['a_b'], '_ is not a wildcard')
  t.same(await names('\\'), [], 'a backslash is just a character')
  t.same(await names('zzz'), [])
  assertProblem(t, await a.inject({ method: 'GET', url: '/v1/tags?q=' }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/tags?q=${'x'.repeat(65)}` }), 422, 'validation')
})

t.test('limits and cursors are checked', async (t) => {
  const a = await build(t)
  for (const name of ['A1', 'B2', 'C3']) await a.as('editor', { method: 'POST', url: '/v1/tags', payload: { name } })
  for (const bad of ['limit=0', 'limit=101', 'limit=x', 'sort=articleCount', 'include=all', 'colour=red', 'cursor=garbage']) {
    assertProblem(t, await a.inject({ method: 'GET', url: `/v1/tags?${bad}` }), 422, 'validation')
  }
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags?limit=100' })).statusCode, 200)
  const byName = (await a.inject({ method: 'GET', url: '/v1/tags?limit=1' })).json().page.nextCursor as string
  const byCount = (await a.inject({ method: 'GET', url: '/v1/tags?limit=1&sort=-articleCount' })).json().page.nextCursor as string
  const asEditor = (await a.as('editor', { method: 'GET', url: '/v1/tags?limit=1' })).json().page.nextCursor as string
  t.equal((await a.inject({ method: 'GET', url: `/v1/tags?limit=2&cursor=${byName}` })).statusCode, 200, 'limit may change')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/tags?sort=-articleCount&cursor=${byName}` }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/tags?cursor=${byCount}` }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/tags?q=a&cursor=${byName}` }), 422, 'validation')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/tags?cursor=${asEditor}` }), 422, 'validation')
  // A cursor with the right fingerprint but keys of the wrong types is refused, not run.
  const [fingerprint] = JSON.parse(Buffer.from(byName, 'base64url').toString()) as [string]
  const forged = Buffer.from(JSON.stringify([fingerprint, 5, 'x'])).toString('base64url')
  assertProblem(t, await a.inject({ method: 'GET', url: `/v1/tags?cursor=${forged}` }), 422, 'validation')
})

t.test('list pages carry an ETag that follows their content', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'A', tags: ['Japan'] })
  const page = await a.inject({ method: 'GET', url: '/v1/tags' })
  const etag = page.headers.etag as string
  t.match(etag, /^"[\w-]+"$/)
  const same = await a.inject({ method: 'GET', url: '/v1/tags', headers: { 'if-none-match': etag } })
  t.equal(same.statusCode, 304)
  const editor = await a.as('editor', { method: 'GET', url: '/v1/tags', headers: { 'if-none-match': etag } })
  t.equal(editor.statusCode, 200, 'an editor counts the draft: another representation')
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/a', payload: { status: 'published' } })
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags', headers: { 'if-none-match': etag } })).statusCode, 200, 'publishing changes the public count')
})
