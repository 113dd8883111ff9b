// Issue 13 item 13: any visitor could repeat an expensive search without limit. Requests with `q` are limited
// per client (SEARCH_RATE_LIMIT a minute, 429 with Retry-After); other reads are not, nor other clients; a
// search served from the response cache counts like any other.
import t from 'tap'
import { assertProblem, build, createArticle } from '../helper.js'

t.test('SEARCH_RATE_LIMIT searches a minute per client, then 429 with Retry-After', async (t) => {
  const a = await build(t, { searchRateLimit: 3 })
  await createArticle(a, { title: 'Harbour news', status: 'published' })
  const search = (q: string, remoteAddress = '198.51.100.7') => a.inject({ method: 'GET', url: `/v1/articles?q=${q}`, remoteAddress })
  for (let i = 0; i < 3; i++) {
    // The same URL each time: the second and third answers come from the response cache, and still count.
    const res = await search('harbour')
    t.equal(res.statusCode, 200)
    t.equal(res.headers['ratelimit-limit'], '3')
    t.equal(res.headers['ratelimit-remaining'], String(2 - i))
  }
  t.ok(a.app.responseCache.stats().hits >= 2, 'some of those came from the response cache')
  const refused = await search('news')
  const body = assertProblem(t, refused, 429, 'rate-limited')
  t.match(body.detail, /3 searches a minute/)
  const retry = Number(refused.headers['retry-after'])
  t.ok(Number.isInteger(retry) && retry > 0 && retry <= 60, `Retry-After in seconds (${retry})`)
  const head = await a.inject({ method: 'HEAD', url: '/v1/articles?q=harbour', remoteAddress: '198.51.100.7' })
  t.equal(head.statusCode, 429, 'HEAD runs the same search, and is limited the same')
  t.match(head.headers['retry-after'], /^\d+$/)

  const list = await a.inject({ method: 'GET', url: '/v1/articles', remoteAddress: '198.51.100.7' })
  t.equal(list.statusCode, 200, 'a list without q is not limited')
  t.equal(list.headers['ratelimit-limit'], undefined, 'and carries no rate-limit headers')
  t.equal((await a.inject({ method: 'GET', url: '/v1/tags?q=harb', remoteAddress: '198.51.100.7' })).statusCode, 200, 'nor a tag name search')
  t.equal((await search('harbour', '198.51.100.8')).statusCode, 200, 'another client has its own allowance')
})
