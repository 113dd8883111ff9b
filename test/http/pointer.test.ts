import t from 'tap'
import { assertProblem, build, onSqlite } from '../helper.js'

// Found by the fuzzer: an unknown field named with `/` or `~` gave a pointer that named another place.
t.test('field names in error pointers are escaped as RFC 6901 asks', onSqlite, async (t) => {
  const a = await build(t)
  const res = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'x', 'a/b': 1, 'c~d': 2 } })
  const problem = assertProblem(t, res, 422, 'validation')
  t.same((problem.errors as Array<{ pointer: string }>).map((e) => e.pointer).sort(), ['/a~1b', '/c~0d'])
  t.equal((a.app.db.$client.prepare('SELECT count(*) AS n FROM articles').get() as { n: number }).n, 0)
})
