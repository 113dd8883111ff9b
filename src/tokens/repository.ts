import { asc, count, eq, gt, sql } from 'drizzle-orm'
import { IMMEDIATE, type Db } from '../db/connection.js'
import { StaleRead } from '../http/errors.js'
import { settings, tokens } from '../db/schema.js'
import { toIso } from '../http/time.js'
import { generateSecret, hashSecret } from './secret.js'
import type { Role, Token } from './schemas.js'

type TokenRow = typeof tokens.$inferSelect

/**
 * The settings key remembering a revoked secret's hash, so that ADMIN_TOKEN, registered on every start,
 * does not bring a revoked secret back. Only the hash, as for live tokens.
 */
const revokedKey = (hash: string): string => `revoked_token:${hash}`

const toToken = (row: TokenRow): Token => ({ id: row.id, name: row.name, role: row.role, createdAt: toIso(row.createdAt) })

export function tokenRepository (db: Db, now: () => number) {
  const byHash = db.select().from(tokens).where(eq(tokens.tokenHash, sql.placeholder('hash'))).prepare()

  return {
    toToken,

    /** Creates a token and returns it with its secret, which is not stored and cannot be shown again. */
    async create (name: string, role: Role): Promise<Token & { token: string }> {
      const secret = generateSecret()
      const row = db.insert(tokens).values({ name, role, tokenHash: hashSecret(secret), createdAt: now() }).returning().get()
      return { ...toToken(row), token: secret }
    },

    /**
     * Registers a secret chosen by the operator (ADMIN_TOKEN): `registered`, or `known` if it already is,
     * or `revoked` (and nothing happens) if a token with this secret was revoked through the API.
     */
    async ensure (secret: string, name: string, role: Role): Promise<'registered' | 'known' | 'revoked'> {
      const tokenHash = hashSecret(secret)
      return db.transaction((tx) => {
        if (tx.select().from(settings).where(eq(settings.key, revokedKey(tokenHash))).get() !== undefined) return 'revoked'
        const inserted = tx.insert(tokens).values({ name, role, tokenHash, createdAt: now() })
          .onConflictDoNothing({ target: tokens.tokenHash }).run()
        return inserted.changes > 0 ? 'registered' : 'known'
      }, IMMEDIATE)
    },

    /** Creates a token, with its secret, if no token exists at all (a new database); else undefined. */
    async createIfNone (name: string, role: Role): Promise<(Token & { token: string }) | undefined> {
      const secret = generateSecret()
      const row = db.transaction((tx) => {
        if ((tx.select({ n: count() }).from(tokens).get()?.n ?? 0) > 0) return undefined
        return tx.insert(tokens).values({ name, role, tokenHash: hashSecret(secret), createdAt: now() }).returning().get()
      }, IMMEDIATE)
      return row && { ...toToken(row), token: secret }
    },

    async findBySecret (secret: string): Promise<TokenRow | undefined> {
      return byHash.get({ hash: hashSecret(secret) })
    },

    async count (): Promise<number> {
      return db.select({ n: count() }).from(tokens).get()?.n ?? 0
    },

    async list (opts: { limit: number, afterId?: number }): Promise<TokenRow[]> {
      return db.select().from(tokens)
        .where(opts.afterId === undefined ? undefined : gt(tokens.id, opts.afterId))
        .orderBy(asc(tokens.id)).limit(opts.limit + 1).all()
    },

    async findById (id: number): Promise<TokenRow | undefined> {
      return db.select().from(tokens).where(eq(tokens.id, id)).get()
    },

    /**
     * Revokes the token read as `current`, and remembers its hash so that `ensure` never registers that
     * secret again. StaleRead when it is gone or changed since (a token never changes, so: when another
     * request revoked it first).
     */
    async delete (current: TokenRow, unchanged: (fresh: TokenRow) => boolean): Promise<void> {
      db.transaction((tx) => {
        const fresh = tx.select().from(tokens).where(eq(tokens.id, current.id)).get()
        if (fresh === undefined || !unchanged(fresh)) throw new StaleRead()
        tx.delete(tokens).where(eq(tokens.id, current.id)).run()
        tx.insert(settings).values({ key: revokedKey(fresh.tokenHash), value: toIso(now()) }).onConflictDoNothing().run()
      }, IMMEDIATE)
    }
  }
}

export type TokenRepository = ReturnType<typeof tokenRepository>
