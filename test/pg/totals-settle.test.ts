// `include=total` for the public is the stored count at the settled time plus the articles that fell due
// since (src/articles/counts.pg.ts). Another process's upkeep may settle at any moment, moving that time and
// folding those articles into the stored count in one transaction: a total that read the two in separate
// statements could count them twice or not at all (seen as a flaky test/pg/db-copy.test.ts, total 0 of 7).
// Both are now read in one snapshot. The tags' public counts are built the same way (src/tags/repository.pg.ts):
// a tag, a page of tags and the tags' total read their rows and the deltas in one snapshot too.
import t from 'tap'
import { build, createArticle } from '../helper.js'

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 60)

t.test('PostgreSQL: totals read while another process settles back and forth are always exact', async (t) => {
  const reader = await build(t, {}, { engine: 'postgres' })
  const settler = await build(t, { postgres: { url: reader.pg!.url, poolSize: 4 } }, { engine: 'postgres' })
  const at = reader.clock.now
  for (let i = 1; i <= 10; i++) {
    await createArticle(reader, { title: `Due ${i}`, status: 'published', publishedAt: new Date(at - i * 1000).toISOString(), tags: ['Due'], section: 'Local' })
  }
  const urls = ['/v1/articles?include=total', '/v1/articles?include=total&tag=due', '/v1/articles?include=total&section=Local']
  const wrong: string[] = []
  for (let round = 0; round < ROUNDS; round++) {
    // Each settle moves the settled time across all ten publications, one way or the other.
    settler.clock.now = round % 2 === 0 ? at - 20_000 : at
    const [totals] = await Promise.all([
      Promise.all(urls.flatMap((url) => [url, url]).map(async (url) => [url, (await reader.inject({ method: 'GET', url })).json().page.total] as const)),
      settler.app.upkeep.settle()
    ])
    for (const [url, total] of totals) if (total !== 10) wrong.push(`round ${round}: ${url}: ${total}`)
  }
  t.same(wrong, [], `every total is 10 (${ROUNDS} rounds)`)
})

t.test('PostgreSQL: tags read while another process settles back and forth count every visible article once', async (t) => {
  const reader = await build(t, {}, { engine: 'postgres' })
  const settler = await build(t, { postgres: { url: reader.pg!.url, poolSize: 4 } }, { engine: 'postgres' })
  const at = reader.clock.now
  for (let i = 1; i <= 10; i++) {
    await createArticle(reader, { title: `Due ${i}`, status: 'published', publishedAt: new Date(at - i * 1000).toISOString(), tags: ['Due'] })
  }
  // What each read says of the tag "Due": its count, and for the lists how many tags they count.
  const reads: Record<string, (body: any) => string> = {
    '/v1/tags/due': (b) => `count ${b.articleCount}`,
    '/v1/tags?include=total': (b) => `count ${b.data[0]?.articleCount}, total ${b.page.total}`,
    '/v1/tags?include=total&sort=-articleCount&q=du': (b) => `count ${b.data[0]?.articleCount}, total ${b.page.total}`
  }
  const expected: Record<string, string> = {
    '/v1/tags/due': 'count 10',
    '/v1/tags?include=total': 'count 10, total 1',
    '/v1/tags?include=total&sort=-articleCount&q=du': 'count 10, total 1'
  }
  const wrong: string[] = []
  for (let round = 0; round < ROUNDS; round++) {
    settler.clock.now = round % 2 === 0 ? at - 20_000 : at
    const [seen] = await Promise.all([
      Promise.all(Object.keys(reads).flatMap((url) => [url, url]).map(async (url) => [url, reads[url]!((await reader.inject({ method: 'GET', url })).json())] as const)),
      settler.app.upkeep.settle()
    ])
    for (const [url, said] of seen) if (said !== expected[url]) wrong.push(`round ${round}: ${url}: ${said}`)
  }
  t.same(wrong, [], `every read counts 10 articles and one tag (${ROUNDS} rounds)`)
})
