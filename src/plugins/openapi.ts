// The OpenAPI 3.1 document, generated from the routes' TypeBox schemas, and Swagger UI at /docs.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { Type } from 'typebox'
import { ConditionalHeaders } from '../http/headers.js'
import { NotModified, problems, ref } from '../http/schemas.js'
import { documentHttp } from '../http/documenter.js'
import { webhookOperations } from '../webhooks/openapi.js'

export const openapiInfo = {
  title: 'Gazette API',
  version: '1.0.0',
  description: [
    'Articles, tags and reader comments over JSON.',
    '',
    'Errors are RFC 9457 problem details (`application/problem+json`). Writes need a bearer token whose role allows them. Single resources carry strong ETags: send `If-None-Match` to revalidate and `If-Match` to avoid overwriting someone else\'s change. Lists are keyset-paginated with opaque cursors.',
    '',
    '**HTTP semantics.** Single resources and list pages carry strong ETags; `If-None-Match` (weak comparison) answers 304 to GET and HEAD, `If-Match` (strong comparison) a 412 when stale, and a malformed validator is a 422. A compressed response\'s ETag carries the coding (`"…+gzip"`); either form works as a validator. Every POST accepts an `Idempotency-Key`: the first response is replayed for 24 h to a retry of the same request by the same caller (`Idempotent-Replayed: true`). Public reads are `Cache-Control: public, max-age=0, must-revalidate`; anything sent with a token is `private, no-store`; responses `Vary` on `Authorization` and `Accept-Encoding`. HEAD works wherever GET does, and a known path with the wrong method (any method, `QUERY` included) is a 405 with `Allow`. Request bodies may be sent with `Content-Encoding: gzip`, `deflate` or `br` (else 415); the body limit applies to the decoded body. Integer ids in paths (and integers in query strings) are plain decimal digits: `0x1`, `01`, ` 1` or `1e0` are a 422. Timestamps are accepted only when stored exactly: no leap second, at most millisecond precision, years 0001–9999. CORS (preflights answered), gzip/brotli above 1 KiB, and security headers apply to every route.'
  ].join('\n'),
  license: { name: 'MIT', identifier: 'MIT' }
}

/** The served description, as much of it as a client may rely on; the rest is OpenAPI 3.1's own schema. */
export const OpenApiDocument = Type.Object({
  openapi: Type.String({ pattern: '^3\\.1\\.\\d+$', examples: ['3.1.0'] }),
  info: Type.Object({ title: Type.String(), version: Type.String() }, { additionalProperties: true }),
  servers: Type.Array(Type.Object({ url: Type.String(), description: Type.Optional(Type.String()) }, { additionalProperties: true }), {
    description: '`PUBLIC_URL` first when the server has one, then `/`, the origin the document was fetched from.'
  }),
  paths: Type.Object({}, { additionalProperties: true }),
  components: Type.Object({}, { additionalProperties: true })
}, {
  $id: 'OpenApiDocument',
  title: 'OpenApiDocument',
  description: 'This API\'s OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0), as served: the committed copy in `openapi/` with `servers` naming `PUBLIC_URL`.',
  additionalProperties: true
})

/** The document reads nothing in the database: no write drops it (a new deployment starts a new process). */
const DOCUMENT_KEYS = ['openapi']

export default fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: openapiInfo,
      // The served document names PUBLIC_URL first when it is set; the committed copy (generated
      // without it) and any server without it keep the origin the document was fetched from.
      servers: [
        ...(app.config.publicUrl === undefined ? [] : [{ url: app.config.publicUrl, description: 'This API\'s public URL (`PUBLIC_URL`).' }]),
        { url: '/' }
      ],
      tags: [
        { name: 'articles', description: 'Articles: drafts, publication, scheduling.' },
        { name: 'revisions', description: 'An article\'s history (editors only): every change kept as a revision, compared field by field, restored as a new one.' },
        { name: 'tags', description: 'Tags: the topics articles are filed under. Counts follow what the caller may see.' },
        { name: 'comments', description: 'Reader comments: posting, threads, moderation. Authors\' emails, IPs and user agents are shown to moderators only.' },
        { name: 'privacy', description: 'Readers\' rights: export and erase everything held about a commenter\'s email address (admins only). Authors\' edits within the edit window and readers\' reports are under `comments`.' },
        { name: 'tokens', description: 'API tokens (admins only).' },
        { name: 'webhooks', description: 'The event log and signed webhooks (admins only): every public change as an event, delivered to your endpoints per Standard Webhooks, at least once and in order. The payloads are under `webhooks` in this document.' },
        { name: 'feeds', description: 'RSS 2.0, Atom 1.0 and JSON Feed 1.1 feeds of what the public may see: the site, a tag, a section, an author, an article\'s comments.' },
        { name: 'sitemaps', description: 'Sitemaps for search engines (sitemaps.org protocol) and a Google News sitemap.' },
        { name: 'meta', description: 'Health probes, metrics and the API description.' }
      ],
      // Public routes take a token too: editors see drafts through them. Routes that need a role
      // replace this with a required bearerAuth (src/plugins/auth.ts).
      security: [{}, { bearerAuth: [] }],
      // What Gazette POSTs to webhook receivers: one operation per event type.
      webhooks: webhookOperations(),
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token from `POST /v1/tokens` or `npm run token`.' },
          // A comment's author, within the edit window: PATCH and DELETE of /v1/comments/{id} take either.
          commentToken: {
            type: 'apiKey',
            in: 'header',
            name: 'Comment-Token',
            description: 'The `editToken` of a comment\'s 201: lets its author edit or delete that comment for `COMMENT_EDIT_MINUTES` after posting.'
          },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'The server\'s `METRICS_TOKEN`, for `GET /metrics` only (not an API token).' }
        }
      }
    },
    // What every operation gets, whoever registers it: bodiless responses without content, the response
    // headers the server sends, parameter descriptions (src/http/documenter.ts).
    transformObject: (document) => documentHttp('openapiObject' in document ? document.openapiObject : document.swaggerObject),
    // Registered schemas keep their $id as the component name instead of def-0, def-1…
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`)
    }
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true, tryItOutEnabled: false, validatorUrl: null },
    // The API's own policy (src/plugins/security-headers.ts) forbids everything; Swagger UI's page gets
    // the plugin's policy for itself (its scripts and styles, by hash), without upgrade-insecure-requests,
    // which would break /docs on a plain-HTTP local server.
    staticCSP: true,
    transformStaticCSP: (header) => header
      .replace(/\s*upgrade-insecure-requests;?/, '')
      // Swagger UI's React components set inline styles; scripts stay restricted.
      .replace("style-src 'self' https:", "style-src 'self' 'unsafe-inline'")
  })

  app.get('/openapi.json', {
    config: { publicCache: true },
    schema: {
      tags: ['meta'],
      operationId: 'getOpenApiJson',
      summary: 'This API description, as JSON',
      headers: ConditionalHeaders,
      response: {
        200: ref(OpenApiDocument),
        304: NotModified,
        ...problems(412, 422)
      }
    }
  }, async (request, reply) => reply.represent(app.swagger(), { keys: DOCUMENT_KEYS }))

  app.get('/openapi.yaml', {
    config: { publicCache: true },
    schema: {
      tags: ['meta'],
      operationId: 'getOpenApiYaml',
      summary: 'This API description, as YAML',
      produces: ['application/yaml'],
      headers: ConditionalHeaders,
      response: {
        200: Type.Unsafe<string>({
          description: 'The same OpenAPI 3.1 document as `GET /openapi.json`, as YAML text.',
          content: { 'application/yaml': { schema: { type: 'string', contentMediaType: 'application/yaml', examples: ['openapi: 3.1.0\ninfo:\n  title: Gazette API\n…'] } } }
        }),
        304: NotModified,
        ...problems(412, 422)
      }
    }
  }, async (request, reply) => reply.type('application/yaml; charset=utf-8').represent(app.swagger({ yaml: true }), { keys: DOCUMENT_KEYS }))
}, { name: 'openapi' })
