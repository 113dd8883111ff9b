// Responses are serialised over a copy of their schemas whose nullable fields are `nullable: true`, not
// `anyOf: [T, null]` (src/http/serialization.ts): the bytes must be those the schemas as written give, and
// the serialiser must no longer ask ajv which branch a value takes.
import t from 'tap'
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import { sharedSchemas } from '../../src/components.js'
import { buildSerializer, nullableForSerialisation } from '../../src/http/serialization.js'
import { build, createArticle, postWithToken, onSqlite } from '../helper.js'

const external = Object.fromEntries(sharedSchemas.map((s) => [(s as unknown as { $id: string }).$id, s]))
/** Fastify's own serialiser of a shared schema, over the schemas as written. */
const asWritten = (id: string) => SerializerSelector()(external, {})({ method: 'GET', url: '/', httpStatus: '200', schema: { $ref: `${id}#` } })
const rewritten = (id: string) => buildSerializer(external, {})({ method: 'GET', url: '/', httpStatus: '200', schema: { $ref: `${id}#` } })

t.test('every answer is byte for byte what the schemas as written serialise', onSqlite, async (t) => {
  const a = await build(t)
  const plain = await createArticle(a, { title: 'Plain', body: 'Harbour text.', status: 'published' })
  await createArticle(a, {
    title: 'Full harbour',
    summary: 'A summary.',
    section: 'Sport',
    dateline: 'VLADIVOSTOK',
    source: 'Staff',
    body: 'Body <b>"quoted"</b> \u2028 é',
    status: 'published',
    tags: ['Navy', 'Harbour'],
    image: { url: 'https://example.com/a.jpg', alt: 'A ship', caption: 'At dawn' },
    canonicalUrl: 'https://example.com/full'
  })
  await createArticle(a, { title: 'Draft', status: 'draft' })
  const first = await postWithToken(a, plain.slug, { authorName: 'Ann', authorEmail: 'ann@example.com', body: 'First', authorUrl: 'https://ann.example.com' })
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${first.id}`, payload: { status: 'approved' } })
  const reply = await postWithToken(a, plain.slug, { authorName: 'Bob', authorEmail: 'bob@example.com', body: 'Reply', parentId: first.id })
  await a.as('moderator', { method: 'PATCH', url: `/v1/comments/${reply.id}`, payload: { status: 'approved' } })
  // A tombstone: its author fields are null.
  t.equal((await a.as('moderator', { method: 'DELETE', url: `/v1/comments/${first.id}` })).statusCode, 204)

  const cases: [string, string, 'admin' | 'editor' | 'moderator' | undefined][] = [
    [`/v1/articles/${plain.slug}`, 'Article', undefined],
    ['/v1/articles/full-harbour', 'Article', undefined],
    ['/v1/articles?limit=10', 'ArticleList', undefined],
    ['/v1/articles?limit=10&include=total', 'ArticleList', 'editor'],
    ['/v1/articles?q=harbour', 'ArticleList', undefined],
    [`/v1/articles/${plain.slug}/comments`, 'CommentList', undefined],
    [`/v1/articles/${plain.slug}/comments`, 'ModeratedCommentList', 'moderator'],
    ['/v1/comments', 'ModeratedCommentList', 'moderator'],
    [`/v1/comments/${reply.id}`, 'Comment', undefined]
  ]
  for (const [url, id, role] of cases) {
    const res = role === undefined ? await a.inject({ method: 'GET', url }) : await a.as(role, { method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.equal(res.body, asWritten(id)(res.json()), `${url}: the same bytes as ${id} as written`)
  }
  const thread = (await a.as('moderator', { method: 'GET', url: `/v1/articles/${plain.slug}/comments` })).json()
  t.ok(thread.data.some((c: { avatarHash: unknown, authorName: unknown }) => c.avatarHash === null && c.authorName === null), 'a tombstone with null fields was served')
  t.ok(thread.data.some((c: { parentId: unknown }) => c.parentId !== null), 'a reply was served')

  // The app serialises with it: a stored value outside the schema's pattern is written, not validated
  // (Fastify's default serialiser would answer 500 here). app.inject: the contract checker would object.
  a.app.db.$client.prepare("UPDATE comments SET avatar_hash = 'not-hex' WHERE id = ?").run(reply.id)
  const unchecked = await a.app.inject({ method: 'GET', url: `/v1/comments/${reply.id}` })
  t.equal(unchecked.statusCode, 200)
  t.equal(unchecked.json().avatarHash, 'not-hex')
})

t.test('the serialiser writes nullable fields without validating them', async (t) => {
  const comment = {
    id: 1,
    articleSlug: 'a',
    parentId: null,
    authorName: 'Ann',
    authorUrl: null,
    avatarHash: 'not-a-hex-hash',
    body: 'x',
    bodyHtml: '<p>x</p>',
    status: 'approved',
    edited: false,
    createdAt: '2026-07-08T09:00:00.000Z',
    updatedAt: '2026-07-08T09:00:00.000Z'
  }
  // As written, fast-json-stringify picks the anyOf branch with ajv, which checks the 64-hex pattern.
  t.throws(() => asWritten('Comment')(comment), /does not match schema definition/, 'the anyOf schema validates each value')
  t.equal(rewritten('Comment')(comment), JSON.stringify(comment), 'nullable: written as it is, unvalidated')
  for (const id of ['Article', 'ArticleSummary', 'Comment', 'ModeratedComment']) {
    const text = JSON.stringify(nullableForSerialisation(external[id]))
    t.notMatch(text, /"anyOf"/, `${id}: no anyOf left to choose by validation`)
    t.match(JSON.stringify(external[id]), /"anyOf"/, `${id}: the schema itself (validation, OpenAPI) keeps its anyOf`)
  }
})
