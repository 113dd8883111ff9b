// The shape walk of `npm run bench:shapes` (bench/shape-list.ts), short: every public request shape the
// OpenAPI document yields, against a small generated database through the real app. It checks that the
// walk covers every public GET operation (a new route cannot escape the million-article measurement) and
// that no shape errs: each answers 2xx/304, or a deliberate 4xx naming what to change. Timing is the npm
// script's business, on the million-article database; here the machine is shared and small.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { generate } from '../../bench/generate.js'
import { findShapeFixtures, shapesOf, type OpenApiDocument } from '../../bench/shape-list.js'
import { build } from '../helper.js'

t.test('every public request shape, generated from the OpenAPI document, answers without error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-shapes-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { path } = generate({ articles: 400, out: join(dir, 'shapes.db'), meanComments: 2, progress: false })
  const a = await build(t, { databasePath: path, searchRateLimit: 1_000_000 })
  const doc = a.app.swagger() as unknown as OpenApiDocument
  const { shapes, skipped } = shapesOf(doc, findShapeFixtures(path, a.clock.now))
  t.same(skipped, [], 'every parameter of every public GET route has values')
  const publicGets = Object.entries(doc.paths).filter(([path, ops]) => ops.get !== undefined && ops.get.security === undefined &&
    !path.startsWith('/docs') && !path.startsWith('/openapi')).map(([path]) => `GET ${path}`)
  t.same([...new Set(shapes.map((s) => s.operation))].sort(), publicGets.sort(), 'every public GET operation is walked')
  t.ok(shapes.length > 100, `${shapes.length} shapes`)

  const refused: string[] = []
  for (const shape of shapes) {
    const res = await a.inject({ method: 'GET', url: shape.url })
    if (res.statusCode >= 500 || (res.statusCode >= 400 && res.statusCode !== 401 && res.statusCode !== 404 && res.statusCode !== 422)) {
      t.fail(`${shape.url} answered ${res.statusCode}: ${res.body.slice(0, 300)}`)
    }
    const detail = res.statusCode === 422 ? (res.json() as { detail: string }).detail : ''
    // sort=relevance without q is an error of the shape itself; anything else refused would be a bound.
    if (res.statusCode === 422 && !/relevance needs a search/.test(detail)) refused.push(`${shape.url} ${detail}`)
    const next = res.statusCode === 200 && shape.list ? (res.json() as { page?: { nextCursor: string | null } }).page?.nextCursor : null
    if (typeof next === 'string') {
      const page2 = await a.inject({ method: 'GET', url: `${shape.url}${shape.url.includes('?') ? '&' : '?'}cursor=${next}` })
      t.ok(page2.statusCode === 200, `${shape.url}, page two: ${page2.statusCode}`)
    }
  }
  // On 400 articles every search and count is small enough to run: nothing is refused.
  t.same(refused, [], 'no shape is refused on a small archive')
})
