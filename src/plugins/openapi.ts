// The OpenAPI 3.1 document, generated from the routes' TypeBox schemas, and Swagger UI at /docs.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { Type } from 'typebox'

export const openapiInfo = {
  title: 'Gazette API',
  version: '1.0.0',
  description: [
    'Articles, tags and reader comments over JSON.',
    '',
    'Errors are RFC 9457 problem details (`application/problem+json`). Writes need a bearer token whose role allows them. Single resources carry strong ETags: send `If-None-Match` to revalidate and `If-Match` to avoid overwriting someone else\'s change. Lists are keyset-paginated with opaque cursors.'
  ].join('\n'),
  license: { name: 'MIT', identifier: 'MIT' }
}

export default fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: openapiInfo,
      servers: [{ url: '/' }],
      tags: [
        { name: 'articles', description: 'Articles: drafts, publication, scheduling.' },
        { name: 'comments', description: 'Reader comments: posting, threads, moderation. Authors\' emails, IPs and user agents are shown to moderators only.' },
        { name: 'tokens', description: 'API tokens (admins only).' },
        { name: 'meta', description: 'Health and the API description.' }
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token from `POST /v1/tokens` or `npm run token`.' }
        }
      }
    },
    // Registered schemas keep their $id as the component name instead of def-0, def-1…
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`)
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true, tryItOutEnabled: false } })

  app.get('/openapi.json', {
    schema: {
      tags: ['meta'],
      operationId: 'getOpenApiJson',
      summary: 'This API description, as JSON',
      response: { 200: Type.Unsafe<object>({ type: 'object', additionalProperties: true, description: 'An OpenAPI 3.1 document.' }) }
    }
  }, async () => app.swagger())

  app.get('/openapi.yaml', {
    schema: {
      tags: ['meta'],
      operationId: 'getOpenApiYaml',
      summary: 'This API description, as YAML',
      produces: ['application/yaml'],
      response: {
        200: Type.Unsafe<string>({
          description: 'An OpenAPI 3.1 document.',
          content: { 'application/yaml': { schema: { type: 'string' } } }
        })
      }
    }
  }, async (_request, reply) => reply.type('application/yaml; charset=utf-8').send(app.swagger({ yaml: true })))
}, { name: 'openapi' })
