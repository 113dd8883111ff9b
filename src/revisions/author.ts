// The author a revision records: the name of the token that made the change, as it is at that moment
// (a token renamed or revoked later does not rewrite history).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { UNKNOWN_AUTHOR, type RevisionMeta } from './store.js'

export async function revisionMeta (app: FastifyInstance, request: FastifyRequest): Promise<RevisionMeta> {
  const { tokenId } = request.caller
  const token = tokenId === null ? undefined : await app.tokens.findById(tokenId)
  return { author: token?.name ?? UNKNOWN_AUTHOR }
}
