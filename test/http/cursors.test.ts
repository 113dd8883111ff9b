// Every list checks the key its cursor carries (src/http/cursor.ts). Cursors are not signed: the query's
// fingerprint is a hash anyone can compute, so a client can make a cursor that matches its query with any
// key. A key of the wrong type, or a part too few, is a 422 at /cursor on every list. Before, the comment
// thread and the moderation queue passed such a key on to SQL (a wrong page, or an empty one), and the
// webhooks, deliveries, tokens and privacy export lists silently started again at the first page.
//
// The table of lists is checked against the generated OpenAPI document: a new operation with a `cursor`
// (in its query or its body) fails here until it has a row.
import t from 'tap'
import type { KeyType } from '../../src/http/cursor.js'
import { ROW_ID_MAX } from '../../src/http/schemas.js'
import { build, createArticle, postComment, type TestApp } from '../helper.js'

type Role = 'admin' | 'editor' | 'moderator'
interface ListCase { op: string, name: string, shape: KeyType[], url: string, role?: Role, body?: Record<string, unknown> }

const EMAIL = 'mara@example.org'

/** Values of the wrong type for a key part of `type`. */
const WRONG: Record<KeyType, unknown[]> = {
  // Past the 32-bit columns of PostgreSQL (ROW_ID_MAX): a statement given one failed there, a 500.
  row: ['x', '7', 1.5, null, -1, 2 ** 31, 2 ** 40, true],
  int: ['x', '7', 1.5, null, 2 ** 60, true],
  'int?': ['x', '7', 1.5, 2 ** 60, false],
  text: [7, 1.5, null, false],
  decimal: ['x', '', 7, 1.5, null, 'Infinity']
}

const decode = (cursor: string): unknown[] => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
const encode = (parts: unknown[]): string => Buffer.from(JSON.stringify(parts)).toString('base64url')

async function fixtures (a: TestApp): Promise<ListCase[]> {
  const hook = (await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: 'http://127.0.0.1:9/hook', events: ['article.published'] } })).json()
  await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: 'http://127.0.0.1:9/other', events: ['article.published'] } })
  await createArticle(a, { title: 'One', body: 'The harbour opens.', status: 'published', tags: ['Alpha', 'Beta'] })
  a.clock.advance(1000)
  await createArticle(a, { title: 'Two', body: 'The harbour closes.', status: 'published', tags: ['Gamma'] })
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/one', payload: { summary: 'Now with a summary.' } })
  for (const body of ['First', 'Second']) {
    a.clock.advance(1000)
    const res = await postComment(a, 'one', { authorName: 'Mara', authorEmail: EMAIL, body })
    if (res.statusCode !== 201) throw new Error(res.body)
  }
  return [
    { op: 'listArticles', name: 'articles by date (editor)', shape: ['int?', 'row'], url: '/v1/articles', role: 'editor' },
    { op: 'listArticles', name: 'articles by date', shape: ['int?', 'row'], url: '/v1/articles?sort=-updatedAt' },
    { op: 'listArticles', name: 'articles by relevance', shape: ['decimal', 'row'], url: '/v1/articles?q=harbour' },
    { op: 'listTags', name: 'tags by name', shape: ['text', 'row'], url: '/v1/tags' },
    { op: 'listTags', name: 'tags by article count', shape: ['row', 'row'], url: '/v1/tags?sort=-articleCount' },
    { op: 'listArticleComments', name: 'a thread', shape: ['int', 'row'], url: '/v1/articles/one/comments' },
    { op: 'listComments', name: 'the moderation queue', shape: ['int', 'row'], url: '/v1/comments', role: 'moderator' },
    { op: 'listComments', name: 'the queue by reports', shape: ['row', 'int', 'row'], url: '/v1/comments?sort=-reportCount', role: 'moderator' },
    { op: 'listEvents', name: 'the event log', shape: ['int'], url: '/v1/events', role: 'admin' },
    { op: 'listArticleRevisions', name: 'revisions', shape: ['row'], url: '/v1/articles/one/revisions', role: 'editor' },
    { op: 'listWebhooks', name: 'webhooks', shape: ['row'], url: '/v1/webhooks', role: 'admin' },
    { op: 'listWebhookDeliveries', name: 'deliveries', shape: ['int'], url: `/v1/webhooks/${hook.id}/deliveries`, role: 'admin' },
    { op: 'listTokens', name: 'tokens', shape: ['row'], url: '/v1/tokens', role: 'admin' },
    { op: 'exportPersonalData', name: 'privacy export', shape: ['row'], url: '/v1/privacy/export', role: 'admin', body: { email: EMAIL } }
  ]
}

/** One page of the list, limit 1, from `cursor`. */
function page (a: TestApp, c: ListCase, cursor?: string) {
  const request = c.body === undefined
    ? { method: 'GET' as const, url: `${c.url}${c.url.includes('?') ? '&' : '?'}limit=1${cursor === undefined ? '' : `&cursor=${cursor}`}` }
    : { method: 'POST' as const, url: c.url, payload: { ...c.body, limit: 1, ...(cursor === undefined ? {} : { cursor }) } }
  return c.role === undefined ? a.inject(request) : a.as(c.role, request)
}

/** The operations of the document with a `cursor` parameter, or a `cursor` in their request body. */
function pagedOperations (doc: any): string[] {
  const schemaOf = (s: any): any => s?.$ref === undefined ? s : doc.components.schemas[String(s.$ref).split('/').pop()!]
  const out: string[] = []
  for (const item of Object.values<any>(doc.paths)) {
    for (const op of Object.values<any>(item)) {
      const inQuery = (op.parameters ?? []).some((p: any) => p.name === 'cursor')
      const inBody = Object.values<any>(op.requestBody?.content ?? {}).some((m) => schemaOf(m.schema)?.properties?.cursor !== undefined)
      if (inQuery || inBody) out.push(op.operationId)
    }
  }
  return out.sort()
}

t.test('every list refuses a cursor whose key has the wrong type or length', async (t) => {
  const a = await build(t, { webhookAllowPrivate: true, commentModeration: 'none', commentRateLimit: 1000 }, { workers: { pollMs: 60_000 } })
  const cases = await fixtures(a)
  t.same([...new Set(cases.map((c) => c.op))].sort(), pagedOperations(a.app.swagger()), 'a case for every operation that pages')

  for (const c of cases) {
    const first = await page(a, c)
    t.equal(first.statusCode, 200, `${c.name}: first page`)
    const cursor = first.json().page.nextCursor as string | null
    if (cursor === null) { t.fail(`${c.name}: the fixtures make a second page`); continue }
    const [fingerprint, ...key] = decode(cursor)
    t.equal(key.length, c.shape.length, `${c.name}: a key of ${c.shape.length}`)
    t.equal((await page(a, c, cursor)).statusCode, 200, `${c.name}: its own cursor works`)

    const refused = async (parts: unknown[], what: string) => {
      const res = await page(a, c, encode([fingerprint, ...parts]))
      t.equal(res.statusCode, 422, `${c.name}, ${what}: 422 (${res.body.slice(0, 160)})`)
      if (res.statusCode === 422) t.match(res.json().errors?.[0], { in: c.body === undefined ? 'query' : 'body', pointer: '/cursor' }, `${c.name}, ${what}: at /cursor`)
    }
    for (const [i, type] of c.shape.entries()) {
      for (const wrong of WRONG[type]) await refused(key.map((k, j) => j === i ? wrong : k), `key ${i} (${type}) as ${JSON.stringify(wrong)}`)
      // The edges of a row's part are cursors the API could have made: answered, not refused.
      if (type !== 'row') continue
      for (const edge of [0, ROW_ID_MAX]) {
        const res = await page(a, c, encode([fingerprint, ...key.map((k, j) => j === i ? edge : k)]))
        t.equal(res.statusCode, 200, `${c.name}, key ${i} (row) as ${edge}: answered (${res.body.slice(0, 160)})`)
      }
    }
    await refused(key.slice(1), 'a part missing')
    await refused([...key, 1], 'a part too many')
  }
})
