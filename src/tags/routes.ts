import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { viewOf, type Visibility } from '../articles/visibility.js'
import { NotFound } from '../http/errors.js'
import { writeIfMatch } from '../http/conditional.js'
import { ConditionalHeaders, WriteHeaders } from '../http/headers.js'
import { cursorKey } from '../http/cursor.js'
import { queryFingerprint, toPage } from '../http/pagination.js'
import { NoContent, NotModified, problems, ref } from '../http/schemas.js'
import { dependencyKeys as dk } from '../db/change-clock.js'
import { CreateTagBody, Tag, TagList, TagListQuery, TagSlugParams, UpdateTagBody } from './schemas.js'

const RENAME_NOTE = 'Articles show their tags as `{ slug, name }`, so renaming or re-slugging a tag changes the `tags` of every article that has it, and with them those articles\' ETags; their `revision` and `updatedAt` stay, because the articles themselves did not change. A rename costs the same however many articles have the tag: searches find them by the new name at once.'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const visibility = (request: FastifyRequest): Visibility => viewOf(request, app.clock()).articles

  /** The tag with its article count as the caller sees it, or 404. */
  async function load (request: FastifyRequest, slug: string) {
    const tag = await app.tags.findBySlug(slug, visibility(request))
    if (!tag) throw new NotFound(`No tag at "${slug}".`)
    return tag
  }

  app.get('/tags', {
    config: { publicCache: true },
    schema: {
      tags: ['tags'],
      operationId: 'listTags',
      summary: 'List tags',
      description: 'Tags by name (case-insensitively) or by `-articleCount`. The public sees a tag while it has a visible article (published and due) or when an editor made it through `POST /v1/tags`; a tag that only drafts or scheduled articles carry is not listed (nor found by `q`, nor by slug) until one of them is published. Editors see every tag. `articleCount` counts the articles the caller may see: for the public only published articles that are due, so a draft or a scheduled article never raises it; editors count every article. The counts are kept as articles change, never recounted per request. Keyset-paginated like the articles, and each page has an ETag (`If-None-Match` → 304); under `-articleCount` a count that changes while paging can move a tag across pages.',
      querystring: TagListQuery,
      headers: ConditionalHeaders,
      response: { 200: ref(TagList), 304: NotModified, ...problems(422) }
    }
  }, async (request, reply) => {
    const q = request.query
    const { editor, articles: visibility } = viewOf(request, app.clock())
    const limit = q.limit ?? 20
    const sort = q.sort ?? 'name'
    const fingerprint = queryFingerprint('tags', { ...q, sort, editor })
    const after = sort === 'name' ? cursorKey(q.cursor, fingerprint, ['text', 'row']) : cursorKey(q.cursor, fingerprint, ['row', 'row'])
    const { rows, total } = await app.tags.list({ limit, after, q: q.q, sort, visibility, withTotal: q.include === 'total' })
    return reply.represent(toPage(request, reply, rows, {
      limit,
      fingerprint,
      total,
      keyOf: (row) => [sort === 'name' ? row.name : row.articleCount, row.id],
      map: app.tags.toTag
    }), { keys: [dk.tags] })
  })

  app.get('/tags/:slug', {
    config: { publicCache: true },
    schema: {
      tags: ['tags'],
      operationId: 'getTag',
      summary: 'Get a tag',
      description: '`articleCount` counts the articles the caller may see (published and due for the public, all for editors). A tag that only drafts or scheduled articles carry is 404 to the public, unless it was made through `POST /v1/tags`.',
      params: TagSlugParams,
      headers: ConditionalHeaders,
      response: { 200: ref(Tag), 304: NotModified, ...problems(404, 422) }
    }
  }, async (request, reply) => {
    const tag = app.tags.toTag(await load(request, request.params.slug))
    // Its count moves with any article's write (list:tags), its name and slug with its own.
    return reply.represent(tag, { keys: [dk.tag(tag.slug), dk.tags] })
  })

  app.post('/tags', {
    config: { role: 'editor' },
    schema: {
      tags: ['tags'],
      operationId: 'createTag',
      summary: 'Create a tag',
      description: 'The slug is derived from the name unless given. A slug that is taken, or a name that already means another tag (its slug is that tag\'s, or it is that tag\'s name in any case), is a 409. A tag made here is public at once, before any article has it. Tags are also created implicitly by articles that name them; those are public only while a visible article has them.',
      body: ref(CreateTagBody),
      response: { 201: ref(Tag), ...problems(400, 409, 413, 415, 422) }
    }
  }, async (request, reply) => {
    const tag = await app.tagService.create(request.body)
    reply.header('location', `/v1/tags/${tag.slug}`)
    return reply.represent(app.tags.toTag(tag), { status: 201 })
  })

  app.patch('/tags/:slug', {
    config: { role: 'editor' },
    schema: {
      tags: ['tags'],
      operationId: 'updateTag',
      summary: 'Rename, re-slug or describe a tag',
      description: `Merge semantics: absent fields stay, \`null\` clears the description. A rename keeps the slug unless a new \`slug\` is given; the old slug then answers 404. A slug that is taken, or a name that already means another tag, is a 409. With \`If-Match\`, a stale ETag is a 412 and nothing changes.\n\n${RENAME_NOTE}`,
      params: TagSlugParams,
      headers: WriteHeaders,
      body: ref(UpdateTagBody),
      response: { 200: ref(Tag), ...problems(400, 404, 409, 412, 413, 415, 422) }
    }
  }, async (request, reply) => {
    const tag = await writeIfMatch(request, {
      load: () => load(request, request.params.slug),
      etag: (row) => reply.etagOf(app.tags.toTag(row), 'Tag'),
      write: (current, unchanged) => app.tagService.update(current, request.body, visibility(request), unchanged)
    })
    return reply.represent(app.tags.toTag(tag))
  })

  app.delete('/tags/:slug', {
    config: { role: 'editor' },
    schema: {
      tags: ['tags'],
      operationId: 'deleteTag',
      summary: 'Delete a tag',
      description: 'The tag leaves every article that had it, at once for every reader; those articles\' `tags`, and so their ETags, change, but not their `revision` or `updatedAt`. The server removes the stored links in the background, in small slices, so deleting a tag on many articles costs no more than deleting any other; its slug and name are free again at once. With `If-Match`, a stale ETag is a 412 and nothing is deleted.',
      params: TagSlugParams,
      headers: WriteHeaders,
      response: { 204: NoContent, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => {
    await writeIfMatch(request, {
      load: () => load(request, request.params.slug),
      etag: (row) => reply.etagOf(app.tags.toTag(row), 'Tag'),
      write: (current, unchanged) => app.tags.delete(current, app.clock(), visibility(request), unchanged)
    })
    app.upkeep.wake()
    return reply.code(204).send()
  })
}

export default routes
