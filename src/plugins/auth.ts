// Bearer-token authentication and role checks. A route states the least role it needs in its config
// (`config: { role: 'editor' }`); this plugin checks it (src/http/route-contract.ts documents it).
// A token that is presented but unknown is refused on every route, public ones included, so a client
// with a revoked token learns it at once instead of silently seeing the public view.
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { Forbidden, Unauthorized } from '../http/errors.js'
import type { Role } from '../tokens/schemas.js'

export type CallerRole = Role | 'public'

export interface Caller {
  role: CallerRole
  tokenId: number | null
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role the route needs; absent for public routes. */
    role?: Role
  }
  interface FastifyRequest {
    caller: Caller
  }
}

const rank: Record<CallerRole, number> = { public: 0, moderator: 1, editor: 2, admin: 3 }

/** Whether the caller's role is at least `role`. */
export const hasRole = (request: FastifyRequest, role: Role): boolean => rank[request.caller.role] >= rank[role]

const PUBLIC: Caller = Object.freeze({ role: 'public', tokenId: null }) as Caller

export default fp(async (app) => {
  app.decorateRequest('caller', null as unknown as Caller)

  /** 401 or 403 when the caller's role is below what the route needs. */
  function checkRole (request: FastifyRequest): Error | undefined {
    const needed = request.routeOptions.config?.role
    if (!needed || hasRole(request, needed)) return undefined
    if (request.caller.role === 'public') return new Unauthorized()
    return new Forbidden(`This needs the ${needed} role; your token is ${request.caller.role}.`)
  }

  // A callback hook, not an async one: most requests carry no token and need no promise.
  app.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers.authorization
    if (header === undefined) {
      request.caller = PUBLIC
      done(checkRole(request))
      return
    }
    const match = /^Bearer ([\x21-\x7e]{1,200})$/i.exec(header)
    const lookup = match?.[1] ? app.tokens.findBySecret(match[1]) : Promise.resolve(undefined)
    lookup.then((token) => {
      if (!token) return new Unauthorized('The bearer token is missing, malformed, unknown or revoked.')
      request.caller = { role: token.role, tokenId: token.id }
      return checkRole(request)
    }).then((err) => done(err), (err: Error) => done(err))
  })
}, { name: 'auth', dependencies: ['repositories'] })
