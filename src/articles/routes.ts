import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { invalid, NotFound, Unauthorized } from '../http/errors.js'
import { writeIfMatch } from '../http/conditional.js'
import { cursorKey } from '../http/cursor.js'
import { queryFingerprint, toPage } from '../http/pagination.js'
import { Empty, NoContent, NotModified, problems, ref } from '../http/schemas.js'
import { fromIso } from '../http/time.js'
import { ConditionalHeaders, WriteHeaders } from '../http/headers.js'
import { parseSearch } from './search.js'
import { revisionMeta } from '../revisions/author.js'
import { viewOf } from './visibility.js'
import { dependencyKeys as dk } from '../db/change-clock.js'
import {
  Article, ArticleList, ArticleListQuery, CreateArticleBody, searchRateLimited, searchRateLimitHeaders, SlugParams, UpdateArticleBody
} from './schemas.js'
import { TOTAL_LIMIT } from './listing/index.js'
import { listPayload } from './stored.js'
import { PHRASE_LIMIT, PREFIX_WORDS, RANK_LIMIT } from './search-index.js'

const n = (x: number): string => x.toLocaleString('en')

const routes: FastifyPluginAsyncTypebox = async (app) => {
  /** The article at `slug` as the caller may see it, or 404. */
  async function load (request: FastifyRequest, slug: string) {
    const row = await app.articles.findRowBySlug(slug, viewOf(request, app.clock()).articles)
    if (!row) throw new NotFound(`No article at "${slug}".`)
    return row
  }

  app.get('/articles', {
    config: { publicCache: true },
    schema: {
      tags: ['articles'],
      operationId: 'listArticles',
      summary: 'List articles',
      description: [
        'Published articles, newest first, for everyone; editors may list other statuses. With `q`, a full-text search ranked by relevance, each item with a `snippet` (matched terms in `<mark>`, everything else HTML-escaped); filters and the other sorts still apply. Keyset-paginated: follow `page.nextCursor` (or the `Link: rel="next"` header) to the end to see every matching article exactly once. A cursor is bound to the query (filters, `q` and `sort`) that made it.',
        'Searches are limited to `SEARCH_RATE_LIMIT` a minute per client address (429 with `Retry-After`); their responses carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.',
        `Every request is bounded in cost, and refused with a 422 naming the parameter when it would not be: a search that would rank more than ${n(RANK_LIMIT)} matches by relevance (sort by date instead, or add a word), a phrase made only of words found in more than ${n(PHRASE_LIMIT)} articles, a prefix that starts more than ${PREFIX_WORDS} different words found in many articles, and \`include=total\` that would count more than ${n(TOTAL_LIMIT)} articles, or go through more than ${n(TOTAL_LIMIT)} articles of a tag, an author or a search, unless the list is all articles, one tag, one section or one author (those totals are kept as articles change).`
      ].join('\n\n'),
      querystring: ArticleListQuery,
      headers: ConditionalHeaders,
      response: {
        200: Type.Unsafe({ ...ref(ArticleList), description: 'A page of articles.', headers: searchRateLimitHeaders }),
        304: NotModified,
        ...problems(401, 412, 422),
        ...searchRateLimited
      }
    }
  }, async (request, reply) => {
    const q = request.query
    const { editor, articles: visibility } = viewOf(request, app.clock())
    if (!editor && q.status !== undefined && q.status !== 'published') {
      throw new Unauthorized('Only editors may list articles that are not published.')
    }
    const limit = q.limit ?? 20
    const fingerprint = queryFingerprint('articles', { ...q, editor })
    const search = q.q === undefined ? undefined : parseSearch(q.q)
    if (search !== undefined && search.length === 0) throw invalid('query', '/q', 'has no word to search for')
    const sort = q.sort ?? (search !== undefined ? 'relevance' : '-publishedAt')
    if (sort === 'relevance' && search === undefined) throw invalid('query', '/sort', 'relevance needs a search (q)')
    // [rank as a decimal string, id] by relevance (ranks are fractional; cursors carry integers or strings), else [date or null, id].
    const cursor = sort === 'relevance' ? cursorKey(q.cursor, fingerprint, ['decimal', 'row']) : cursorKey(q.cursor, fingerprint, ['int?', 'row'])
    const { rows, total, toItem } = await app.articles.list({
      limit,
      after: cursor,
      visibility,
      status: q.status === 'any' || q.status === undefined ? (editor ? undefined : 'published') : q.status,
      tags: q.tag ?? [],
      section: q.section,
      author: q.author,
      publishedAfter: q.publishedAfter === undefined ? undefined : fromIso(q.publishedAfter),
      publishedBefore: q.publishedBefore === undefined ? undefined : fromIso(q.publishedBefore),
      search,
      sort,
      withTotal: q.include === 'total'
    })
    const page = toPage(request, reply, rows, {
      limit,
      fingerprint,
      total,
      keyOf: (row) => [sort === 'relevance' ? String(row.rank) : sort === '-updatedAt' ? row.updatedAt : row.publishedAt, row.id],
      map: (row) => row
    })
    // Items come serialised (src/articles/stored.ts): the page is their JSON in the list's envelope.
    // The list's membership, order and totals (which a tag's rename touches too: its rows' tags, a tag
    // filter), and each row's comment count, which changes without the list changing.
    return reply.represent(listPayload(page.data.map(toItem), page.page), { keys: [dk.articles, ...page.data.map((row) => dk.article(row.id))] })
  })

  app.post('/articles', {
    config: { role: 'editor' },
    schema: {
      tags: ['articles'],
      operationId: 'createArticle',
      summary: 'Create an article',
      description: 'The slug is derived from the title unless given (a derived slug that is taken gets `-2`, `-3`…; a given one that is taken is a 409). Publishing without `publishedAt` sets it to now; a future `publishedAt` schedules the article.',
      body: ref(CreateArticleBody),
      response: { 201: ref(Article), ...problems(400, 409, 413, 415, 422) }
    }
  }, async (request, reply) => {
    const article = await app.articleService.create(request.body, await revisionMeta(app, request))
    reply.header('location', `/v1/articles/${article.slug}`)
    const answer = app.articles.fresh(article)
    return reply.represent(answer.payload, { status: 201, etag: answer.etag })
  })

  app.get('/articles/:slug', {
    config: { publicCache: true },
    schema: {
      tags: ['articles'],
      operationId: 'getArticle',
      summary: 'Get an article',
      description: 'Drafts, archived and scheduled articles are 404 unless the caller is an editor. A slug the article used to have answers 301 to its current URL.',
      params: SlugParams,
      headers: ConditionalHeaders,
      response: {
        200: ref(Article),
        301: Empty('The article moved to the URL in `Location`.'),
        304: NotModified,
        ...problems(404, 412, 422)
      }
    }
  }, async (request, reply) => {
    const v = viewOf(request, app.clock()).articles
    // The stored representation with the current tags and count spliced in (src/articles/stored.ts): a
    // lookup, not an assembly. Its ETag is the one every Article answer and If-Match uses.
    const answer = await app.articles.answer(request.params.slug, v)
    if (answer === undefined) {
      const moved = await app.articles.findRenamed(request.params.slug, v)
      if (moved === undefined) throw new NotFound(`No article at "${request.params.slug}".`)
      return reply.code(301).header('location', `/v1/articles/${moved}`).send(undefined)
    }
    return reply.represent(answer.payload, { etag: answer.etag, keys: [dk.article(answer.id), ...answer.tagSlugs.map(dk.tag)] })
  })

  app.patch('/articles/:slug', {
    config: { role: 'editor' },
    schema: {
      tags: ['articles'],
      operationId: 'updateArticle',
      summary: 'Update an article',
      description: 'Merge semantics: absent fields stay, `null` clears a nullable field, `tags` and `authors` replace the list. With `If-Match`, a stale ETag is a 412 and nothing changes (the ETag covers `commentCount`, so a comment since the read makes it stale). Without it, the patch applies to the article as it stands, whatever comments arrive meanwhile. A patch that changes nothing keeps the revision.',
      params: SlugParams,
      headers: WriteHeaders,
      body: ref(UpdateArticleBody),
      response: { 200: ref(Article), ...problems(400, 404, 409, 412, 413, 415, 422) }
    }
  }, async (request, reply) => {
    const meta = await revisionMeta(app, request)
    const article = await writeIfMatch(request, {
      load: () => load(request, request.params.slug),
      etag: (row) => app.articles.etagOf(row),
      content: (row) => app.articles.contentOf(row),
      write: (current, unchanged) => app.articleService.update(current, request.body, unchanged, meta)
    })
    const answer = app.articles.fresh(article)
    return reply.represent(answer.payload, { etag: answer.etag })
  })

  app.delete('/articles/:slug', {
    config: { role: 'editor' },
    schema: {
      tags: ['articles'],
      operationId: 'deleteArticle',
      summary: 'Delete an article',
      description: 'Deletes the article with its comments. With `If-Match`, a stale ETag is a 412 and nothing is deleted.',
      params: SlugParams,
      headers: WriteHeaders,
      response: { 204: NoContent, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => {
    await writeIfMatch(request, {
      load: () => load(request, request.params.slug),
      etag: (row) => app.articles.etagOf(row),
      content: (row) => app.articles.contentOf(row),
      write: (current, unchanged) => app.articles.delete(current, unchanged)
    })
    return reply.code(204).send()
  })
}

export default routes
