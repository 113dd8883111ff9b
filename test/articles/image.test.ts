// An article's lead image and canonical URL (API.md section 8): created, replaced, cleared, listed, and
// refused when malformed.
import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

const image = {
  url: 'https://images.news.example/2026/07/frigates.jpg',
  alt: 'Three grey frigates at a pier',
  caption: 'At the Golden Horn pier on Tuesday.',
  credit: 'Photo: Ivan Sokolov / Staff'
}

t.test('image and canonicalUrl: create, read, list, replace, clear', async (t) => {
  const a = await build(t)
  const plain = await createArticle(a, { title: 'Plain', body: 'Text', status: 'published' })
  t.equal(plain.image, null, 'no image by default')
  t.equal(plain.canonicalUrl, null)

  // A republished wire story keeps its source and points at the original.
  const wire = await createArticle(a, {
    title: 'Pacific Fleet returns',
    body: 'VLADIVOSTOK, July 8. /TASS/. The ships docked.',
    source: 'TASS',
    canonicalUrl: 'https://tass.com/politics/1234567',
    image,
    status: 'published'
  })
  t.same(wire.image, image)
  t.equal(wire.source, 'TASS')
  t.equal(wire.canonicalUrl, 'https://tass.com/politics/1234567')
  t.same((await a.inject({ method: 'GET', url: `/v1/articles/${wire.slug}` })).json().image, image)
  const listed = (await a.inject({ method: 'GET', url: '/v1/articles' })).json().data
  t.same(listed.map((x: { image: unknown }) => x.image), [image, null], 'lists show it')
  t.same(listed.map((x: { canonicalUrl: unknown }) => x.canonicalUrl), ['https://tass.com/politics/1234567', null])

  // A patch replaces the whole image: caption and credit left out are gone.
  const replaced = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${wire.slug}`, payload: { image: { url: 'https://images.news.example/b.png', alt: '' } } })
  t.equal(replaced.statusCode, 200)
  t.same(replaced.json().image, { url: 'https://images.news.example/b.png', alt: '' }, 'an empty alt for a decorative image')
  t.equal(replaced.json().revision, 2)
  const same = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${wire.slug}`, payload: { image: { url: 'https://images.news.example/b.png', alt: '' } } })
  t.equal(same.json().revision, 2, 'the same image again is no change')
  const other = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${wire.slug}`, payload: { title: 'Pacific Fleet is back' } })
  t.same(other.json().image, { url: 'https://images.news.example/b.png', alt: '' }, 'a patch without image keeps it')
  const cleared = await a.as('editor', { method: 'PATCH', url: `/v1/articles/${wire.slug}`, payload: { image: null, canonicalUrl: null } })
  t.equal(cleared.json().image, null)
  t.equal(cleared.json().canonicalUrl, null)
  t.equal(cleared.json().revision, 4)
})

t.test('malformed images and URLs are 422 and change nothing', async (t) => {
  const a = await build(t)
  const article = await createArticle(a, { title: 'Story', body: 'Text', image, status: 'published' })
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ image: { ...image, url: 'javascript:alert(1)' } }, '/image/url'],
    [{ image: { ...image, url: 'ftp://images.news.example/a.jpg' } }, '/image/url'],
    [{ image: { ...image, url: '/relative.jpg' } }, '/image/url'],
    [{ image: { ...image, url: 'https://images.news.example/a b.jpg' } }, '/image/url'],
    [{ image: { url: image.url } }, '/image/alt'],
    [{ image: { ...image, alt: 'x'.repeat(301) } }, '/image/alt'],
    [{ image: { ...image, caption: '' } }, '/image/caption'],
    [{ image: { ...image, credit: null } }, '/image/credit'],
    [{ image: { ...image, width: 800 } }, '/image/width'],
    [{ image: 'https://images.news.example/a.jpg' }, '/image'],
    [{ canonicalUrl: 'tass.com/politics/1' }, '/canonicalUrl'],
    [{ canonicalUrl: 'data:text/html,hi' }, '/canonicalUrl']
  ]
  for (const [payload, pointer] of bad) {
    for (const request of [
      { method: 'POST' as const, url: '/v1/articles', payload: { title: 'New', ...payload } },
      { method: 'PATCH' as const, url: `/v1/articles/${article.slug}`, payload }
    ]) {
      const body = assertProblem(t, await a.as('editor', request), 422, 'validation')
      t.ok((body.errors as { pointer: string }[]).some((e) => e.pointer.startsWith(pointer)), `${JSON.stringify(payload)}: ${pointer}`)
    }
  }
  const after = (await a.inject({ method: 'GET', url: `/v1/articles/${article.slug}` })).json()
  t.same(after.image, image)
  t.equal(after.revision, 1)
  t.equal((await a.inject({ method: 'GET', url: '/v1/articles?include=total' })).json().page.total, 1)
})
