// Authors (issue 13, item 6; contract section 3): names are trimmed, a blank one is a 422, and duplicates
// after trimming are merged, in the order first given. `["x", " x"]` used to be a 500 (a primary-key clash
// in article_authors), `["   "]` stored an empty author and `["x", "x"]` was refused.
import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

t.test('authors are trimmed and merged; blank ones are refused', async (t) => {
  const a = await build(t)
  const created = await createArticle(a, { title: 'Bylines', authors: ['Anna Petrova', ' Anna Petrova ', 'Ivan', 'Anna Petrova', '\tIvan'] })
  t.same(created.authors, ['Anna Petrova', 'Ivan'])
  const patched = await a.as('editor', { method: 'PATCH', url: '/v1/articles/bylines', payload: { authors: ['x', ' x'] } })
  t.equal(patched.statusCode, 200)
  t.same(patched.json().authors, ['x'])
  const byAuthor = await a.as('editor', { method: 'GET', url: '/v1/articles?author=x' })
  t.same(byAuthor.json().data.map((x: { slug: string }) => x.slug), ['bylines'], 'the trimmed name is the one filtered on')

  for (const authors of [['   '], ['Anna', ''], ['Anna', '\n\t ']]) {
    const bad = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Blank', authors } })
    const problem = assertProblem(t, bad, 422, 'validation')
    t.match(problem.errors, [{ in: 'body', pointer: `/authors/${authors.length - 1}` }], JSON.stringify(authors))
    const badPatch = await a.as('editor', { method: 'PATCH', url: '/v1/articles/bylines', payload: { authors } })
    assertProblem(t, badPatch, 422, 'validation')
  }
  const after = await a.as('editor', { method: 'GET', url: '/v1/articles/bylines' })
  t.same(after.json().authors, ['x'], 'refused patches changed nothing')
  t.equal(after.json().revision, 2)
  // The same list again, spelled differently, is no change.
  const same = await a.as('editor', { method: 'PATCH', url: '/v1/articles/bylines', payload: { authors: [' x', 'x '] } })
  t.equal(same.json().revision, 2, 'no new revision for the same authors')
})
