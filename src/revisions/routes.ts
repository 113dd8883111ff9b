import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type TSchema } from 'typebox'
import { invalid, NotFound } from '../http/errors.js'
import { writeIfMatch } from '../http/conditional.js'
import { ConditionalHeaders, WriteHeaders } from '../http/headers.js'
import { cursorKey } from '../http/cursor.js'
import { queryFingerprint, toPage } from '../http/pagination.js'
import { Empty, NotModified, problems, ref } from '../http/schemas.js'
import { toIso, toIsoOrNull } from '../http/time.js'
import { renderArticleMarkdown } from '../lib/markdown.js'
import { Article, SlugParams } from '../articles/schemas.js'
import { revisionMeta } from './author.js'
import { diffRevisions } from './diff.js'
import type { ArticleState } from './fields.js'
import type { RevisionInfo } from './repository.js'
import { Revision, RevisionDiff, RevisionDiffQuery, RevisionList, RevisionListQuery, RevisionParams, type RevisionSummary } from './schemas.js'

const toSummary = (info: RevisionInfo): RevisionSummary => ({
  revision: info.revision,
  createdAt: toIso(info.createdAt),
  author: info.author,
  changed: info.changed,
  restoredFrom: info.restoredFrom
})

const toRevision = (info: RevisionInfo, state: ArticleState): Revision => ({
  ...toSummary(info),
  article: { ...state, bodyHtml: renderArticleMarkdown(state.body), publishedAt: toIsoOrNull(state.publishedAt) }
})

const ETag = Type.String({ description: 'The strong ETag of this representation (`If-None-Match` with it answers 304 while it holds).' })
/** A 200 response of `schema`, with the headers it carries. */
const ok = <T extends TSchema>(schema: T, headers: Record<string, TSchema> = { ETag }) =>
  ({ ...ref(schema), headers }) as unknown as ReturnType<typeof ref<T>>
const moved = { ...Empty('The article moved: the same request at its current slug is in `Location`.'), headers: { Location: Type.String({ description: 'The same URL at the article\'s current slug.' }) } }
const Link = Type.String({ description: '`<…>; rel="next"`: the next page\'s URL, when there is one.' })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  /**
   * The article at `slug` (editors see every status), or, on a GET at a slug it used to have, a 301 to
   * the same URL at its current slug (undefined: the reply is sent).
   */
  async function find (request: FastifyRequest, reply: FastifyReply, slug: string) {
    const row = await app.articles.findRowBySlug(slug, null)
    if (row !== undefined) return row
    const current = request.method === 'GET' ? await app.articles.findRenamed(slug, null) : undefined
    if (current === undefined) throw new NotFound(`No article at "${slug}".`)
    reply.code(301).header('location', request.url.replace(`/articles/${slug}/`, `/articles/${current}/`)).send()
    return undefined
  }

  async function loadRevision (articleId: number, slug: string, revision: number) {
    const found = await app.revisions.load(articleId, revision)
    if (found === undefined) throw new NotFound(`The article at "${slug}" has no revision ${revision}.`)
    return found
  }

  app.get('/articles/:slug/revisions', {
    config: { role: 'editor' },
    schema: {
      tags: ['revisions'],
      operationId: 'listArticleRevisions',
      summary: 'List an article\'s revisions',
      description: 'Every revision of the article, newest first, the current one included: who made it, when, and which fields it changed. Keyset-paginated like every list (`page.nextCursor`, `Link: rel="next"`). An article from before Gazette kept history starts with its revision at that time, by `unknown`.',
      params: SlugParams,
      querystring: RevisionListQuery,
      headers: ConditionalHeaders,
      response: { 200: ok(RevisionList, { ETag, Link }), 301: moved, 304: NotModified, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => {
    const article = await find(request, reply, request.params.slug)
    if (article === undefined) return reply
    const q = request.query
    const limit = q.limit ?? 20
    const fingerprint = queryFingerprint(`revisions:${article.id}`, {})
    const before = cursorKey(q.cursor, fingerprint, ['row'])?.[0]
    const page = await app.revisions.list(article.id, { limit, before, withTotal: q.include === 'total' })
    if (page === undefined) throw new NotFound(`No article at "${request.params.slug}".`)
    return reply.represent(toPage(request, reply, page.items, {
      limit, fingerprint, total: page.total, keyOf: (r) => [r.revision], map: toSummary
    }))
  })

  app.get('/articles/:slug/revisions/:revision', {
    config: { role: 'editor' },
    schema: {
      tags: ['revisions'],
      operationId: 'getArticleRevision',
      summary: 'Get an article as it was',
      description: 'The article\'s versioned fields as of that revision (the body also rendered to HTML), with who made the revision, when, and what it changed.',
      params: RevisionParams,
      headers: ConditionalHeaders,
      response: { 200: ok(Revision), 301: moved, 304: NotModified, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => {
    const article = await find(request, reply, request.params.slug)
    if (article === undefined) return reply
    const { info, state } = await loadRevision(article.id, request.params.slug, request.params.revision)
    return reply.represent(toRevision(info, state))
  })

  app.get('/articles/:slug/revisions/:revision/diff', {
    config: { role: 'editor' },
    schema: {
      tags: ['revisions'],
      operationId: 'diffArticleRevisions',
      summary: 'Compare two revisions',
      description: 'What differs from revision `against` to `{revision}`, field by field: each field that differs, with its value in both (lists also with what was added and removed; tags compare by slug), and the body as a unified diff.',
      params: RevisionParams,
      querystring: RevisionDiffQuery,
      headers: ConditionalHeaders,
      response: { 200: ok(RevisionDiff), 301: moved, 304: NotModified, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => {
    const article = await find(request, reply, request.params.slug)
    if (article === undefined) return reply
    const { slug, revision } = request.params
    const against = request.query.against ?? revision - 1
    if (against < 1) throw invalid('query', '/against', `is required: revision ${revision} is the first, with nothing before it`)
    const to = await loadRevision(article.id, slug, revision)
    const from = await loadRevision(article.id, slug, against)
    return reply.represent(diffRevisions(revision, against, to.state, from.state))
  })

  app.post('/articles/:slug/revisions/:revision/restore', {
    config: { role: 'editor' },
    schema: {
      tags: ['revisions'],
      operationId: 'restoreArticleRevision',
      summary: 'Restore a revision',
      description: 'Makes the article\'s state as of that revision the current one, as a new revision (its `restoredFrom` names the one restored). Every versioned field comes back, `status`, `publishedAt` and `slug` included: compare first with `GET …/diff?against={current}`. Restoring an older slug makes it the article\'s URL again (the current slug then redirects); a slug now used by another article is a 409 and nothing changes. Tags come back (a tag deleted since is created again). With `If-Match` (the article\'s ETag, from `GET /v1/articles/{slug}` or the last write), checked in the same transaction as the write, a stale ETag is a 412 and nothing changes. A restore that changes nothing (the state is already current) makes no revision.',
      params: RevisionParams,
      headers: WriteHeaders,
      response: { 200: ok(Article, { ETag: Type.String({ description: 'The article\'s new ETag, as `GET /v1/articles/{slug}` gives it.' }) }), ...problems(404, 409, 412, 422) }
    }
  }, async (request, reply) => {
    const { slug, revision } = request.params
    const meta = { ...await revisionMeta(app, request), restoredFrom: revision }
    // If-Match and the write are one step (writeIfMatch): a stale ETag is a 412 and nothing changes.
    const restored = await writeIfMatch(request, {
      load: async () => {
        const row = await find(request, reply, slug)
        if (row === undefined) throw new NotFound(`No article at "${slug}".`) // a POST is never redirected
        return row
      },
      etag: (row) => app.articles.etagOf(row),
      content: (row) => app.articles.contentOf(row),
      write: async (current, unchanged) => {
        const { state } = await loadRevision(current.id, slug, revision)
        return app.articleService.update(current, {
          slug: state.slug,
          title: state.title,
          summary: state.summary,
          body: state.body,
          section: state.section,
          dateline: state.dateline,
          source: state.source,
          authors: state.authors,
          tags: state.tags.map((t) => t.name),
          status: state.status,
          publishedAt: toIsoOrNull(state.publishedAt),
          commentsOpen: state.commentsOpen,
          image: state.image,
          canonicalUrl: state.canonicalUrl
        }, unchanged, meta)
      }
    })
    // The article's ETag, as GET /v1/articles/{slug} gives it (src/articles/stored.ts).
    const answer = app.articles.fresh(restored)
    return reply.represent(answer.payload, { etag: answer.etag })
  })
}

export default routes
