// The rules that make the OpenAPI document work for code generators (issue 15), checked over the generated
// document, and the response headers checked against real responses: test/contract.ts holds every
// response of the suite to the document; the walk below makes sure the headers it manages really occur.
import t from 'tap'
import { generateOpenApi } from '../src/openapi-document.js'
import { bodiless } from '../src/http/documenter.js'
import { ENTITY_TAG_LIST } from '../src/http/headers.js'
import { EMAIL_PATTERN } from '../src/http/schemas.js'
import { assertProblem, build, createArticle, postComment } from './helper.js'
import { contractChecker } from './contract.js'

type Json = Record<string, any>
const doc: Json = JSON.parse((await generateOpenApi()).json)
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']

/** Every operation of the document, with where it is: the paths, and the requests Gazette sends (`webhooks`). */
const operations = [
  ...Object.entries(doc.paths as Record<string, Json>).map(([path, item]) => ({ path, item })),
  ...Object.entries((doc.webhooks ?? {}) as Record<string, Json>).map(([name, item]) => ({ path: `webhook ${name}`, item }))
].flatMap(({ path, item }) =>
  METHODS.filter((m) => item[m] !== undefined).map((method) => ({ where: `${method.toUpperCase()} ${path}`, method, op: item[method] as Json })))

/** Every schema object in the document (components, parameters, bodies, responses, headers), with its JSON Pointer. */
function * schemas (value: unknown, at = ''): Generator<[string, Json]> {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield * schemas(item, `${at}/${i}`)
  } else if (value !== null && typeof value === 'object') {
    yield [at, value as Json]
    for (const [key, item] of Object.entries(value)) {
      if (key !== 'examples' && key !== 'example') yield * schemas(item, `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`)
    }
  }
}

const singleValue = (s: Json) => s.const !== undefined || (Array.isArray(s.enum) && s.enum.length === 1)
const resolve = (s: Json): Json => typeof s.$ref === 'string' ? doc.components.schemas[s.$ref.replace('#/components/schemas/', '')] : s

t.test('a response that never has a body declares no content', async (t) => {
  let checked = 0
  for (const { where, op } of operations) {
    for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
      if (!bodiless(Number(status))) continue
      t.equal(response.content, undefined, `${where} ${status} declares no content`)
      checked++
    }
  }
  t.ok(checked >= 20, `${checked} bodiless responses (204, 301, 304)`)
})

t.test('every content schema says what the body is', async (t) => {
  for (const [at, node] of schemas(doc.paths)) {
    if (!/\/content\/[^/]+$/.test(at)) continue
    const schema = node.schema as Json | undefined
    t.ok(schema !== undefined && (schema.$ref !== undefined || schema.type !== undefined || schema.anyOf !== undefined), `${at} has a schema with a type or a $ref`)
  }
})

t.test('enums are { type: string, enum }, never unions of single values, and named once', async (t) => {
  const inline = new Map<string, string[]>()
  for (const [at, schema] of schemas(doc)) {
    for (const keyword of ['anyOf', 'oneOf']) {
      const members = schema[keyword] as Json[] | undefined
      if (members === undefined) continue
      t.notOk(members.some(singleValue), `${at}/${keyword} has no single-value member`)
    }
    if (Array.isArray(schema.enum) && schema.enum.every((v: unknown) => typeof v === 'string')) {
      t.equal(schema.type, 'string', `${at} is a string enum`)
      // A named enum is a component of its own; anywhere else, an enum written twice should be one.
      if (/^\/components\/schemas\/[^/]+$/.test(at) || at.startsWith('/components/headers/')) continue
      const key = JSON.stringify([...schema.enum].sort())
      inline.set(key, [...(inline.get(key) ?? []), at])
    }
  }
  const named = new Map(Object.entries(doc.components.schemas as Record<string, Json>)
    .filter(([, s]) => Array.isArray(s.enum)).map(([name, s]) => [JSON.stringify([...s.enum].sort()), name]))
  for (const [values, places] of inline) {
    t.notOk(named.has(values), `${values} at ${places.join(', ')} is the component ${named.get(values)}: use its $ref`)
    t.ok(places.length === 1, `${values} is written once (${places.join(', ')}); a shared enum is a named component`)
  }
  for (const name of [
    'ArticleStatus', 'CommentStatus', 'Role', 'ArticleSort', 'TagSort', 'ModerationStatus', 'CommentQueueSort', 'ReportReason',
    'EventType', 'SubmittedCommentStatus', 'DeliveryEventType', 'DeliveryStatus'
  ]) {
    t.equal(doc.components.schemas[name]?.type, 'string', `${name} is a named enum`)
  }
})

t.test('no union of models a generator cannot tell apart', async (t) => {
  for (const [at, schema] of schemas(doc)) {
    for (const keyword of ['anyOf', 'oneOf']) {
      const models = ((schema[keyword] ?? []) as Json[]).map(resolve).filter((s) => s.type === 'object' || s.properties !== undefined)
      if (models.length > 1) t.ok(schema.discriminator !== undefined, `${at}/${keyword} of ${models.length} models has a discriminator`)
    }
  }
  // Moderators' fields are in the model every comment route returns, so generated types keep them.
  const comment = doc.components.schemas.Comment
  t.same(['authorEmail', 'ip', 'userAgent', 'reportCount'].filter((f) => comment.properties[f] === undefined), [], 'Comment has the moderators\' fields')
  t.notOk(comment.required.includes('authorEmail'), '… optional, since only moderators get them')
  // One model for a new comment too: the Comment with its edit token, whoever posted it.
  const created = doc.components.schemas.CreatedComment
  t.same(Object.keys(created.properties).sort(), [...Object.keys(comment.properties), 'editToken'].sort(), 'CreatedComment is a Comment with its editToken')
  t.same(created.required.filter((f: string) => !comment.required.includes(f)), ['editToken'], '… with the same optional fields')
  t.same(Object.keys(doc.components.schemas).filter((name) => /^Created.*Comment$/.test(name)), ['CreatedComment'], 'no second model of a new comment')
})

t.test('every event\'s data is a named model', async (t) => {
  const events = (doc.components.schemas.Event.oneOf as Json[]).map(resolve)
  t.ok(events.length >= 9, `${events.length} event types`)
  for (const event of [...events, doc.components.schemas.WebhookPingEvent]) {
    t.match(event.properties.data.$ref, /^#\/components\/schemas\/\w+$/, `${event.title}'s data is a $ref`)
  }
})

t.test('every JSON body a response carries is a named component', async (t) => {
  let bodies = 0
  for (const { where, op } of operations) {
    for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
      for (const [type, media] of Object.entries((response.content ?? {}) as Record<string, Json>)) {
        if (!/(^|[/+])json$/.test(type)) continue // feeds, sitemaps, YAML and metrics are text
        t.match(media.schema?.$ref, /^#\/components\/schemas\/\w+$/, `${where} ${status} ${type} body is a $ref`)
        bodies++
      }
    }
  }
  t.ok(bodies >= 100, `${bodies} JSON response bodies`)
})

t.test('every request body is a named component', async (t) => {
  let bodies = 0
  for (const { where, op } of operations) {
    for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Record<string, Json>)) {
      t.match(media.schema?.$ref, /^#\/components\/schemas\/\w+$/, `${where} ${type} body is a $ref`)
      bodies++
    }
  }
  t.ok(bodies >= 6, `${bodies} request bodies`)
})

t.test('headers are declared with the syntax the server enforces', async (t) => {
  let conditional = 0
  for (const { where, op } of operations) {
    for (const parameter of (op.parameters ?? []) as Json[]) {
      if (parameter.in !== 'header' || !['if-match', 'if-none-match'].includes(parameter.name)) continue
      t.equal(parameter.schema.pattern, ENTITY_TAG_LIST, `${where} ${parameter.name} has the entity-tag pattern`)
      conditional++
    }
  }
  t.ok(conditional >= 20, `${conditional} If-Match / If-None-Match parameters`)
  let emails = 0
  for (const [at, schema] of schemas(doc)) {
    if (schema.format !== 'email') continue
    t.equal(schema.pattern, EMAIL_PATTERN, `${at}: an email format states the rule the server applies`)
    emails++
  }
  t.ok(emails >= 1)
  t.match(doc.components.schemas.Problem.properties.instance.description, /path/, 'Problem.instance says it is the path')
})

t.test('the committed document lists / as its server; the served one names PUBLIC_URL first', async (t) => {
  t.same(doc.servers, [{ url: '/' }])
  const a = await build(t, { publicUrl: 'https://api.news.example' })
  const served = (await a.inject({ method: 'GET', url: '/openapi.json' })).json()
  t.same(served.servers.map((s: Json) => s.url), ['https://api.news.example', '/'])
  t.same({ ...served, servers: doc.servers }, doc, 'otherwise the same document')
})

t.test('the headers the document declares are the ones real responses carry', async (t) => {
  const a = await build(t, { commentRateLimit: 2, commentModeration: 'none' })
  // Every response below also goes through test/contract.ts (via build), which fails the test on a
  // header sent without being declared, or declared as required and missing; these assertions make
  // sure each managed header really was among them.
  const seen = new Set<string>()
  const note = (res: { statusCode: number, headers: Record<string, unknown> }, ...names: string[]) => {
    for (const name of names) {
      t.ok(res.headers[name] !== undefined, `${res.statusCode} carries ${name}`)
      seen.add(name)
    }
  }
  const created = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Walk', status: 'published' }, headers: { 'idempotency-key': 'walk-1' } })
  note(created, 'location', 'etag', 'x-request-id')
  const replayed = await a.as('editor', { method: 'POST', url: '/v1/articles', payload: { title: 'Walk', status: 'published' }, headers: { 'idempotency-key': 'walk-1' } })
  note(replayed, 'idempotent-replayed', 'location', 'etag')
  await createArticle(a, { title: 'Walk two', status: 'published' })
  const page = await a.inject({ method: 'GET', url: '/v1/articles?limit=1' })
  note(page, 'link', 'etag')
  note(await a.inject({ method: 'GET', url: '/v1/articles?limit=1', headers: { 'if-none-match': page.headers.etag as string } }), 'etag')
  await a.as('editor', { method: 'PATCH', url: '/v1/articles/walk', payload: { slug: 'walked' } })
  const moved = await a.inject({ method: 'GET', url: '/v1/articles/walk' })
  t.equal(moved.statusCode, 301)
  note(moved, 'location')
  const stale = await a.inject({ method: 'GET', url: '/v1/articles?limit=1', headers: { 'if-match': '"stale"' } })
  assertProblem(t, stale, 412, 'precondition-failed')
  t.equal(stale.headers.link, undefined, 'a problem carries no Link of the page it replaced')
  note(await a.inject({ method: 'GET', url: '/v1/tokens' }), 'www-authenticate')
  for (let i = 0; i < 2; i++) t.equal((await postComment(a, 'walked', { authorName: 'Ivan', authorEmail: 'ivan@example.com', body: `Walk ${i}` })).statusCode, 201)
  note(await postComment(a, 'walked', { authorName: 'Ivan', authorEmail: 'ivan@example.com', body: 'One too many' }), 'retry-after')
  // A feed's Last-Modified is sent once the second of its last change is over (a time the database takes
  // from the real clock).
  a.clock.now = Date.now() + 2000
  note(await a.inject({ method: 'GET', url: '/feeds/atom' }), 'etag', 'last-modified')
  t.equal(seen.size, 8, 'every managed header was seen')
})

t.test('the checker refuses a header sent but not declared, and a required one missing', async (t) => {
  const a = await build(t)
  const checker = contractChecker(a.app.swagger() as Parameters<typeof contractChecker>[0])
  const health = await a.inject({ method: 'GET', url: '/health' })
  t.same(checker.check('GET', '/health', health), [])
  const withHeaders = (res: typeof health, statusCode: number, headers: Record<string, string | undefined>, body = res.body) =>
    ({ ...res, statusCode, body, headers: { ...res.headers, ...headers } }) as typeof health
  t.match(checker.check('GET', '/health', withHeaders(health, 200, { etag: '"x"' })), [/sent etag, which is not declared/])
  t.match(checker.check('GET', '/health', withHeaders(health, 200, { link: '</health?cursor=x>; rel="next"' })), [/sent link, which is not declared/])
  t.match(checker.check('GET', '/health', withHeaders(health, 200, { 'x-request-id': undefined })), [/did not send x-request-id/])
  const article = await createArticle(a, { title: 'Checked', status: 'published' })
  const read = await a.inject({ method: 'GET', url: `/v1/articles/${article.slug as string}` })
  t.match(checker.check('GET', '/v1/articles/{slug}', withHeaders(read, 200, { etag: undefined })), [/did not send etag/])
  t.match(checker.check('GET', '/v1/articles/{slug}', withHeaders(read, 200, { etag: 'unquoted' })), [/etag: unquoted, which does not match its schema/])
  t.match(checker.check('GET', '/v1/articles/{slug}', withHeaders(read, 301, { location: undefined, etag: undefined }, '')), [/did not send location/])
})

t.test('authorEmail: the rule the document states is the one the server applies', async (t) => {
  const a = await build(t, { commentModeration: 'none', commentRateLimit: 100 })
  await createArticle(a, { title: 'Mail', status: 'published' })
  const pattern = new RegExp(EMAIL_PATTERN, 'u')
  for (const email of ['ivan@example.com', 'IVAN.P+news@Mail.Example.ORG', 'ivan@localhost', 'ivan@gmailcom', 'a..b@example.com', '"ivan"@example.com', 'ivan@[203.0.113.7]', 'ivan@-example.com', 'иван@example.com']) {
    const res = await postComment(a, 'mail', { authorName: 'Ivan', authorEmail: email, body: 'Hello' })
    t.equal(res.statusCode, pattern.test(email) ? 201 : 422, `${email}: the document and the server agree`)
    if (res.statusCode === 422) t.match(res.json().errors, [{ pointer: '/authorEmail', message: /domain name with a dot/ }])
  }
})
