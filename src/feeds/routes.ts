// GET /feeds/rss, /feeds/atom and /feeds/json: the site's newest articles, a slice of them (?tag=,
// ?section=, ?author=) or one article's approved comments (?comments=), in RSS 2.0, Atom 1.0 or JSON
// Feed 1.1. Public: a token changes nothing (feeds never show drafts), but an unknown one is still a 401.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { publicOrigin } from '../http/origin.js'
import { problems, ref } from '../http/schemas.js'
import { publicLinks } from '../syndication/links.js'
import { DocumentHeaders, documentResponse, NotModifiedDocument, originProblems } from '../syndication/responses.js'
import { toAtom, toJsonFeed, toRss, type FeedDocument } from './formats.js'
import { FeedQuery, JsonFeed } from './schemas.js'
import { feedService, type FeedFormat } from './service.js'

const RSS_EXAMPLE = '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" …><channel><title>Gazette</title>…<item>…</item></channel></rss>'
const ATOM_EXAMPLE = '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" …><id>…</id><title type="text">Gazette</title>…<entry>…</entry></feed>'

const formats: Record<FeedFormat, {
  mediaType: string
  name: string
  schema: object
  /** The body, and the schema it is serialised with when it is not text yet. */
  render: (doc: FeedDocument) => { body: unknown, as?: string }
}> = {
  rss: { mediaType: 'application/rss+xml', name: 'RSS 2.0', schema: { type: 'string', examples: [RSS_EXAMPLE] }, render: (doc) => ({ body: toRss(doc) }) },
  atom: { mediaType: 'application/atom+xml', name: 'Atom 1.0', schema: { type: 'string', examples: [ATOM_EXAMPLE] }, render: (doc) => ({ body: toAtom(doc) }) },
  json: { mediaType: 'application/feed+json', name: 'JSON Feed 1.1', schema: ref(JsonFeed), render: (doc) => ({ body: toJsonFeed(doc), as: 'JsonFeed' }) }
}

const DESCRIPTION = 'The newest articles the public may see, newest first: the whole site, or only those with a `tag`, in a `section` or by an `author` (these combine). ' +
  'With `comments={slug}`, that article\'s approved comments instead. Entries carry a stable id (a tag URI that no new title or slug changes), the reader-facing link ' +
  '(`ARTICLE_URL_TEMPLATE`), published and updated times, authors, tags as categories, the summary, the full `bodyHtml` and the lead image. ' +
  'A scheduled article appears when it is due; drafts never do. Absolute URLs use `PUBLIC_URL`, or the origin of the request when it is unset. ' +
  'An unknown tag, section, author or article (or one the public cannot see) is a 404; an article\'s old slug answers 301.'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const feeds = feedService(app)

  for (const [format, f] of Object.entries(formats) as [FeedFormat, typeof formats[FeedFormat]][]) {
    app.get(`/feeds/${format}`, {
      config: { publicCache: true, publicOrigin: true },
      schema: {
        tags: ['feeds'],
        operationId: `get${format === 'json' ? 'Json' : format === 'rss' ? 'Rss' : 'Atom'}Feed`,
        summary: `${f.name} feed`,
        description: DESCRIPTION,
        produces: [f.mediaType],
        querystring: FeedQuery,
        headers: DocumentHeaders,
        response: {
          200: documentResponse(f.mediaType, `The ${f.name} feed (\`${f.mediaType}\`).`, f.schema),
          301: Type.Unsafe<undefined>({
            type: 'null',
            description: 'The article of `comments` has a new slug: the feed moved to the URL in `Location`.',
            headers: { location: { type: 'string', description: 'The same feed under the article\'s current slug.' } }
          }),
          304: NotModifiedDocument,
          ...problems(404, 412, 422),
          ...originProblems
        }
      }
    }, async (request, reply) => {
      const now = app.clock()
      const links = publicLinks(app.config.articleUrlTemplate, publicOrigin(app.config.publicUrl, request))
      const result = await feeds.feed(request.query, links, now)
      if (result.movedTo !== undefined) {
        const query = new URLSearchParams(request.query as Record<string, string>)
        query.set('comments', result.movedTo)
        return reply.code(301).header('location', `/feeds/${format}?${query.toString()}`).send(undefined)
      }
      const { body, as } = f.render(result.doc)
      return reply.represent(body, { as, contentType: `${f.mediaType}; charset=utf-8`, modifiedAt: { at: result.doc.updated, now }, keys: result.keys })
    })
  }
}

export default routes
