import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NotFound } from '../http/errors.js'
import { writeIfMatch } from '../http/conditional.js'
import { ConditionalHeaders, WriteHeaders } from '../http/headers.js'
import { cursorKey } from '../http/cursor.js'
import { queryFingerprint, toPage } from '../http/pagination.js'
import { NoContent, NotModified, problems, ref } from '../http/schemas.js'
import { CreatedToken, CreateTokenBody, TokenIdParams, TokenList, TokenListQuery } from './schemas.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/tokens', {
    config: { role: 'admin', shownOnce: ['token'] },
    schema: {
      tags: ['tokens'],
      operationId: 'createToken',
      summary: 'Create an API token',
      description: 'The secret `token` is in this response only: Gazette stores just its hash.',
      body: ref(CreateTokenBody),
      response: { 201: ref(CreatedToken), ...problems(400, 413, 415, 422) }
    }
  }, async (request, reply) => {
    const token = await app.tokens.create(request.body.name, request.body.role)
    // The ETag names the token as it stands from now on (as listed and checked by DELETE's If-Match),
    // not this one-off body with its secret.
    const { token: _secret, ...stored } = token
    return reply.header('location', `/v1/tokens/${token.id}`).represent(token, { status: 201, etagOf: { body: stored, as: 'Token' } })
  })

  app.get('/tokens', {
    config: { role: 'admin' },
    schema: {
      tags: ['tokens'],
      operationId: 'listTokens',
      summary: 'List API tokens',
      description: 'Oldest first, without secrets.',
      querystring: TokenListQuery,
      headers: ConditionalHeaders,
      response: { 200: ref(TokenList), 304: NotModified, ...problems(412, 422) }
    }
  }, async (request, reply) => {
    const limit = request.query.limit ?? 20
    const fingerprint = queryFingerprint('tokens', request.query)
    const afterId = cursorKey(request.query.cursor, fingerprint, ['row'])?.[0]
    const rows = await app.tokens.list({ limit, afterId })
    const total = request.query.include === 'total' ? await app.tokens.count() : undefined
    return reply.represent(toPage(request, reply, rows, { limit, fingerprint, total, keyOf: (row) => [row.id], map: app.tokens.toToken }))
  })

  app.delete('/tokens/:id', {
    config: { role: 'admin' },
    schema: {
      tags: ['tokens'],
      operationId: 'deleteToken',
      summary: 'Revoke an API token',
      description: 'The next request made with the token is a 401. An admin may revoke the token it is using. A revoked secret stays revoked: not even `ADMIN_TOKEN` registers it again at the next start (the server logs that it is revoked).',
      params: TokenIdParams,
      headers: WriteHeaders,
      response: { 204: NoContent, ...problems(404, 412, 422) }
    }
  }, async (request, reply) => {
    await writeIfMatch(request, {
      load: async () => {
        const row = await app.tokens.findById(request.params.id)
        if (!row) throw new NotFound(`No token ${request.params.id}.`)
        return row
      },
      etag: (row) => reply.etagOf(app.tokens.toToken(row), 'Token'),
      write: (current, unchanged) => app.tokens.delete(current, unchanged)
    })
    return reply.code(204).send()
  })
}

export default routes
