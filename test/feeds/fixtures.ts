// A small newsroom for the feed tests: public articles with every field a feed carries, and one of each
// kind the public may not see (a draft, an archived and a scheduled article).
import { createArticle, type TestApp } from '../helper.js'

export const HOST = 'news-api.example'
export const get = (a: TestApp, url: string, headers: Record<string, string> = {}) => a.inject({ method: 'GET', url, headers: { host: HOST, ...headers } })

/** The JSON API's view of the public article list, newest first. */
export async function publicList (a: TestApp, query = ''): Promise<Record<string, any>[]> {
  const res = await get(a, `/v1/articles?limit=100${query}`)
  return Promise.all(res.json().data.map(async (s: { slug: string }) => (await get(a, `/v1/articles/${s.slug}`)).json()))
}

export async function newsroom (a: TestApp) {
  await createArticle(a, {
    title: 'Pacific Fleet returns to Vladivostok',
    summary: 'Three frigates docked after a month of exercises.',
    body: 'The ships **docked** at dawn.\n\nCrowds waited on the pier.',
    section: 'Politics & Diplomacy',
    dateline: 'VLADIVOSTOK',
    authors: ['Anna Petrova', 'Ivan Sokolov'],
    tags: ['Russia', 'Navy'],
    status: 'published',
    image: { url: 'https://images.news.example/2026/07/frigates.jpg', alt: 'Three grey frigates at a pier', caption: 'At the Golden Horn pier.', credit: 'Photo: Staff' }
  })
  a.clock.advance(60_000)
  await createArticle(a, {
    title: 'Wire: grain exports rise',
    body: 'VLADIVOSTOK, July 8. /TASS/. Exports rose.',
    source: 'TASS',
    canonicalUrl: 'https://tass.com/economy/1234567',
    section: 'Economy',
    tags: ['Russia'],
    status: 'published'
  })
  a.clock.advance(60_000)
  await createArticle(a, { title: 'A draft about the navy', body: 'Secret plans', tags: ['Navy', 'Draft only tag'], section: 'Secret section', authors: ['Ghost Writer'], status: 'draft' })
  await createArticle(a, { title: 'Archived navy piece', body: 'Old', tags: ['Navy'], status: 'archived', publishedAt: new Date(a.clock.now - 86_400_000).toISOString() })
  await createArticle(a, { title: 'Scheduled navy piece', body: 'Later', tags: ['Navy'], section: 'Economy', authors: ['Anna Petrova'], status: 'published', publishedAt: new Date(a.clock.now + 3_600_000).toISOString() })
  a.clock.advance(60_000)
}
