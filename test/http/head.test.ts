// HEAD answers like GET without a body, on every public GET of the document, compressed or not: the server
// runs with `exposeHeadRoutes: false` and serves each GET route for HEAD too (src/plugins/route-pipeline.ts),
// so this holds without any reliance on how Fastify builds its HEAD twins.
import t from 'tap'
import { build, createArticle, postComment } from '../helper.js'

const COMPARED = ['etag', 'content-type', 'content-encoding', 'vary', 'cache-control', 'link', 'last-modified', 'content-length']

t.test('every public GET of the document answers HEAD with GET\'s status and headers, and no body', async (t) => {
  const a = await build(t, { commentModeration: 'none' })
  await createArticle(a, { title: 'Headed', status: 'published', body: 'All the news. '.repeat(200), tags: ['harbour'] })
  await createArticle(a, { title: 'Second', status: 'published', body: 'More news.' })
  const comment = await postComment(a, 'headed', { authorName: 'Reader', authorEmail: 'reader@example.com', body: 'A reply long enough. '.repeat(80) })
  t.equal(comment.statusCode, 201)
  const fill: Record<string, string> = { slug: 'headed', id: String(comment.json().id), page: '1' }

  const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json()
  let checked = 0
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    t.notOk('head' in item, `${path}: no head operation in the document`)
    const get = item.get
    if (get === undefined || (get.security !== undefined && !get.security.some((s: object) => Object.keys(s).length === 0))) continue
    // A list of one, so that list pages carry a Link to the next page.
    const url = path.replace(/\{(\w+)\}/g, (_, name: string) => fill[name] ?? name) + (get.parameters?.some((p: { name: string }) => p.name === 'limit') ? '?limit=1' : '')
    for (const encoding of [undefined, 'gzip, br', 'gzip']) {
      const headers = encoding === undefined ? {} : { 'accept-encoding': encoding }
      const g = await a.inject({ method: 'GET', url, headers })
      const h = await a.inject({ method: 'HEAD', url, headers })
      const what = `HEAD ${url}${encoding === undefined ? '' : ` (${encoding})`}`
      t.equal(h.statusCode, g.statusCode, `${what}: status`)
      t.equal(h.body, '', `${what}: no body`)
      for (const name of COMPARED) t.equal(h.headers[name], g.headers[name], `${what}: ${name}`)
      if (g.headers['content-encoding'] !== undefined) {
        // A body compressed as a stream (the OpenAPI document) goes chunked, with no length for either.
        if (g.headers['content-length'] !== undefined) t.equal(Number(h.headers['content-length']), g.rawPayload.length, `${what}: the coded length`)
        const etag = g.headers.etag as string
        t.match(etag, /\+(gzip|br)"$/, `${what}: a coded ETag`)
        const revalidated = await a.inject({ method: 'HEAD', url, headers: { ...headers, 'if-none-match': etag } })
        t.equal(revalidated.statusCode, 304, `${what}: revalidates with the coded ETag`)
      }
      checked++
    }
  }
  t.ok(checked >= 3 * 15, `every public GET checked (${checked / 3})`)
})
