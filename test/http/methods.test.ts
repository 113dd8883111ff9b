// Every path in the OpenAPI document, whoever added it: a method it does not have is a 405 whose Allow
// lists exactly the documented methods (plus HEAD wherever GET is), and HEAD answers wherever GET does.
import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

const ALL = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

t.test('405 with Allow on every known path, for every method it lacks', async (t) => {
  const a = await build(t)
  const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json()
  const paths = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
  t.ok(paths.length >= 7)
  for (const [path, item] of paths) {
    const url = path.replace(/\{[^}]+\}/g, '1')
    const documented = Object.keys(item).map((m) => m.toUpperCase())
    const allowed = ALL.filter((m) => documented.includes(m) || (m === 'HEAD' && documented.includes('GET')))
    for (const method of ALL.filter((m) => !allowed.includes(m))) {
      const res = await a.inject({ method: method as 'PUT', url })
      if (method === 'HEAD') t.equal(res.statusCode, 405, `HEAD ${path}`) // no body to check
      else assertProblem(t, res, 405, 'method-not-allowed')
      t.equal(res.headers.allow, allowed.join(', '), `${method} ${path}: Allow`)
    }
  }
})

t.test('HEAD wherever GET is, with GET\'s status and headers and no body', async (t) => {
  const a = await build(t)
  const article = await createArticle(a, { title: 'Headline', status: 'published' })
  const token = (await a.as('admin', { method: 'GET', url: '/v1/tokens' })).json().data[0]
  const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json()
  const samples: Record<string, string> = { slug: article.slug, id: String(token.id) }
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    if (item.get === undefined) continue
    const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => samples[name] ?? '1')
    const get = await a.as('admin', { method: 'GET', url })
    const head = await a.as('admin', { method: 'HEAD', url })
    t.equal(head.statusCode, get.statusCode, `HEAD ${url}`)
    t.equal(head.body, '', `HEAD ${url} has no body`)
    t.equal(head.headers['content-type'], get.headers['content-type'], `HEAD ${url} content-type`)
    t.equal(head.headers.etag, get.headers.etag, `HEAD ${url} etag`)
  }
})
