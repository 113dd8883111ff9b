// How history is stored: reverse deltas that read back exactly, whole bodies every KEYFRAME_EVERY
// revisions and whenever that is smaller, and a size per revision far below a full copy.
// `npm run bench:revisions` is the long version (500 edits of a 5,000-word body, with figures).
import t from 'tap'
import fc from 'fast-check'
import { measureRevisions } from '../../bench/revisions.js'
import { applyDelta, KEYFRAME_EVERY, reverseDelta } from '../../src/revisions/body-delta.js'
import { build, createArticle, onSqlite } from '../helper.js'

t.test('a reverse delta turns the newer body back into the older, whatever the texts', async (t) => {
  // Lines from a small alphabet, so that texts share lines and characters as edited bodies do;
  // astral characters, so that an edit may split a surrogate pair.
  const text = fc.array(fc.constantFrom('a', 'b', ' ', '\n', '\n\n', 'é', '😀', 'para one\n', 'para two\n'), { maxLength: 60 }).map((parts) => parts.join(''))
  // With a minute for the diff rather than 100 ms: under a loaded CI machine a pause of the process (a GC, another process on the
  // core) once made the default 100 ms run out on a 30-character diff, which then rightly gave up
  // (undefined, the whole body kept); what this property checks is the delta, and giving up is checked below.
  fc.assert(fc.property(text, text, (newer, older) => {
    const delta = reverseDelta(newer, older, 60_000)
    if (delta === undefined) return false
    const stored = JSON.parse(JSON.stringify(delta)) as typeof delta
    return applyDelta(newer, stored) === older
  }), { numRuns: 2000 })
  t.same(reverseDelta('same', 'same'), [])
  t.same(reverseDelta('The ships docked at dawn.\n', 'The ships docked at midday.\n'), [20, 4, 'midday'], 'a changed word costs the word')
  // A line diff that cannot finish in time gives up: the whole body is kept instead.
  const lines = (seed: string) => Array.from({ length: 20_000 }, (_, i) => `${seed} ${i}`).join('\n')
  t.equal(reverseDelta(lines('x'), lines('y'), 1), undefined)
})

t.test('many small edits of a long body: every revision reads back, at a small cost each', async (t) => {
  const r = await measureRevisions({ edits: KEYFRAME_EVERY + 5, words: 1500, verify: true })
  t.same(r.mismatches, [], 'every revision reads back as the article was')
  t.equal(r.revisions, KEYFRAME_EVERY + 6)
  t.same(r.rows, { full: 1, delta: KEYFRAME_EVERY + 4, current: 1 }, `revision ${KEYFRAME_EVERY} keeps the whole body`)
  const perRevision = r.payloadBytes / r.revisions
  t.ok(perRevision < r.bodyBytes / 10, `${Math.round(perRevision)} bytes per revision for a ${r.bodyBytes}-byte body`)
})

t.test('a rewrite keeps the whole old body when that is smaller than the delta', onSqlite, async (t) => {
  const a = await build(t)
  const paragraph = (word: string) => Array.from({ length: 200 }, (_, i) => `${word} ${i % 7}`).join(' ')
  const art = await createArticle(a, { title: 'Rewrite', body: `${paragraph('alpha')}\n\n${paragraph('beta')}\n` })
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${art.slug}`, payload: { body: 'Completely new.\n' } })
  await a.as('editor', { method: 'PATCH', url: `/v1/articles/${art.slug}`, payload: { body: 'Completely new, again.\n' } })
  const kinds = a.app.db.$client.prepare('SELECT revision, kind FROM article_revisions WHERE article_id = ? ORDER BY revision').all(art.id)
  t.same(kinds, [{ revision: 1, kind: 'full' }, { revision: 2, kind: 'delta' }, { revision: 3, kind: 'current' }])
  const first = await a.as('editor', { method: 'GET', url: `/v1/articles/${art.slug}/revisions/1` })
  t.equal(first.json().article.body, art.body)
  t.equal((await a.as('editor', { method: 'GET', url: `/v1/articles/${art.slug}/revisions/2` })).json().article.body, 'Completely new.\n')
})
