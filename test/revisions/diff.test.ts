// Two revisions compared field by field; the body's unified diff is checked by applying it with GNU
// patch, an implementation independent of the one that wrote it.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { assertProblem, build, createArticle, type TestApp } from '../helper.js'

const diff = (a: TestApp, slug: string, path: string) =>
  a.as('editor', { method: 'GET', url: `/v1/articles/${slug}/revisions/${path}` })

/** `from` with `patch` applied by GNU patch. */
function gnuPatch (t: Test, from: string, patch: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-patch-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'body'), from)
  writeFileSync(join(dir, 'body.diff'), patch)
  execFileSync('patch', ['--quiet', '--force', '-o', join(dir, 'out'), join(dir, 'body'), join(dir, 'body.diff')])
  return readFileSync(join(dir, 'out'), 'utf8')
}

t.test('field by field: text, lists, flags, dates and the body as a unified diff', async (t) => {
  const a = await build(t)
  const body1 = 'Para one.\n\nThe council met on Monday.\n\nPara three.\n\nPara four.\n\nPara five.\n\nPara six.\n\nPara seven.\n'
  const body2 = 'Para one.\n\nThe council met on Tuesday.\n\nPara three.\n\nPara four.\n\nPara five.\n\nPara six.\n\nPara seven, longer.\n\nPara eight.\n'
  const art = await createArticle(a, {
    title: 'Council meets', body: body1, tags: ['Council', 'Budget'], authors: ['Anna Petrova', 'Boris Okafor'], section: 'Local'
  })
  a.clock.advance(1000)
  await a.as('editor', {
    method: 'PATCH',
    url: `/v1/articles/${art.slug}`,
    payload: {
      title: 'Council meets again',
      body: body2,
      tags: ['Budget', 'Elections'],
      authors: ['Boris Okafor', 'Chiara Rossi'],
      section: null,
      commentsOpen: false,
      status: 'published',
      publishedAt: '2026-07-08T08:30:00.000Z'
    }
  })
  const res = await diff(a, art.slug, '2/diff')
  t.equal(res.statusCode, 200)
  t.match(res.headers.etag, /^"/)
  const body = res.json()
  t.same(body.changed, ['title', 'body', 'section', 'authors', 'tags', 'status', 'publishedAt', 'commentsOpen'])
  t.equal(body.revision, 2)
  t.equal(body.against, 1, 'against defaults to the revision before')
  const { body: bodyChange, ...fields } = body.fields
  t.same(fields, {
    title: { from: 'Council meets', to: 'Council meets again' },
    section: { from: 'Local', to: null },
    authors: { from: ['Anna Petrova', 'Boris Okafor'], to: ['Boris Okafor', 'Chiara Rossi'], added: ['Chiara Rossi'], removed: ['Anna Petrova'] },
    tags: {
      from: [{ slug: 'council', name: 'Council' }, { slug: 'budget', name: 'Budget' }],
      to: [{ slug: 'budget', name: 'Budget' }, { slug: 'elections', name: 'Elections' }],
      added: [{ slug: 'elections', name: 'Elections' }],
      removed: [{ slug: 'council', name: 'Council' }]
    },
    status: { from: 'draft', to: 'published' },
    publishedAt: { from: null, to: '2026-07-08T08:30:00.000Z' },
    commentsOpen: { from: true, to: false }
  })
  t.equal(bodyChange.additions, 4)
  t.equal(bodyChange.deletions, 2)
  t.match(bodyChange.patch, /^--- body@1\n\+\+\+ body@2\n@@ -1,6 \+1,6 @@\n Para one\.\n \n-The council met on Monday\.\n\+The council met on Tuesday\.\n/)
  t.equal(gnuPatch(t, body1, bodyChange.patch), body2, 'GNU patch turns the old body into the new one')

  // The other way round: from 2 to 1.
  const back = (await diff(a, art.slug, '1/diff?against=2')).json()
  t.same(back.changed, body.changed)
  t.same(back.fields.title, { from: 'Council meets again', to: 'Council meets' })
  t.same(back.fields.tags.added, [{ slug: 'council', name: 'Council' }])
  t.equal(gnuPatch(t, body2, back.fields.body.patch), body1)
  t.same((await diff(a, art.slug, '2/diff?against=2')).json(), { revision: 2, against: 2, changed: [], fields: {} })

  const first = await diff(a, art.slug, '1/diff')
  t.match(assertProblem(t, first, 422, 'validation').errors, [{ in: 'query', pointer: '/against' }])
  assertProblem(t, await diff(a, art.slug, '2/diff?against=3'), 404, 'not-found')
  assertProblem(t, await diff(a, art.slug, '3/diff'), 404, 'not-found')
  assertProblem(t, await diff(a, art.slug, '2/diff?against=0'), 422, 'validation')
  assertProblem(t, await diff(a, art.slug, '2/diff?against=x'), 422, 'validation')
})

t.test('authors in another order, bodies without a final newline, emptied and filled', async (t) => {
  const a = await build(t)
  const art = await createArticle(a, { title: 'Order', authors: ['A', 'B'], body: 'no newline at the end' })
  const bodies = ['no newline at the end', 'no newline\nat the end', '', 'line\n', 'line\nline two']
  for (const [i, body] of bodies.slice(1).entries()) {
    await a.as('editor', { method: 'PATCH', url: `/v1/articles/${art.slug}`, payload: { body, ...(i === 0 ? { authors: ['B', 'A'] } : {}) } })
  }
  const reordered = (await diff(a, art.slug, '2/diff')).json()
  t.same(reordered.fields.authors, { from: ['A', 'B'], to: ['B', 'A'], added: [], removed: [] })
  for (let r = 2; r <= bodies.length; r++) {
    for (const against of [r - 1, 1]) {
      const change = (await diff(a, art.slug, `${r}/diff?against=${against}`)).json().fields.body
      if (bodies[r - 1] === bodies[against - 1]) continue
      t.equal(gnuPatch(t, bodies[against - 1]!, change.patch), bodies[r - 1], `revision ${r} against ${against}`)
    }
  }
})
