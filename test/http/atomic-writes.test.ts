// A write's precondition and the write are one step (issue 13, item 2), raced across two processes in
// test/process/race.test.ts. Here: what a write does when the resource keeps changing under it.
import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

t.test('a write that keeps meeting changes gives up with a 409 and changes nothing', async (t) => {
  const a = await build(t)
  await createArticle(a, { title: 'Restless' })
  // Every read of the article looks different from the one before, as if another process wrote each time:
  // what the write compares (src/http/conditional.ts writeIfMatch: its content without If-Match, its ETag
  // with one) is new on every call.
  const { etagOf, contentOf } = a.app.articles
  let reads = 0
  a.app.articles.etagOf = (row) => `"${etagOf(row).slice(1, -1)}-${reads++}"`
  a.app.articles.contentOf = (row) => `"${contentOf(row).slice(1, -1)}-${reads++}"`
  const restore = () => { Object.assign(a.app.articles, { etagOf, contentOf }) }
  t.teardown(restore)
  const res = await a.as('editor', { method: 'PATCH', url: '/v1/articles/restless', payload: { title: 'Calm' } })
  assertProblem(t, res, 409, 'conflict')
  t.ok(reads > 2, `the write read the article again before giving up (${reads} reads)`)
  const star = await a.as('editor', { method: 'PATCH', url: '/v1/articles/restless', headers: { 'if-match': '*' }, payload: { title: 'Calm' } })
  assertProblem(t, star, 409, 'conflict')
  restore()
  t.equal((await a.as('editor', { method: 'GET', url: '/v1/articles/restless' })).json().title, 'Restless')
})
