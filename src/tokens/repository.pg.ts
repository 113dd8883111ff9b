// The token repository (./repository.ts) on PostgreSQL, for any number of processes on one database.
// Where SQLite's BEGIN IMMEDIATE serialises a check and its write, this takes a transaction-level advisory
// lock on what the check is about: a secret's hash (registering it with ADMIN_TOKEN vs revoking it), or
// "the first token" (two processes starting on a new database must not both make one).
import { asc, count, eq, gt, sql } from 'drizzle-orm'
import type { PgDb } from '../db/pg/connection.js'
import { settings, tokens } from '../db/pg/schema.js'
import { StaleRead } from '../http/errors.js'
import { toIso } from '../http/time.js'
import { generateSecret, hashSecret } from './secret.js'
import type { TokenRepository } from './repository.js'
import type { Role, Token } from './schemas.js'

type TokenRow = typeof tokens.$inferSelect

/** As in ./repository.ts: what remembers a revoked secret's hash. */
const revokedKey = (hash: string): string => `revoked_token:${hash}`

const toToken = (row: TokenRow): Token => ({ id: row.id, name: row.name, role: row.role, createdAt: toIso(row.createdAt) })

/** Advisory lock class of token checks ("tok"); the object is the hash of the secret's hash, or 0. */
const LOCKS = 0x746f6b
const FIRST_TOKEN = 0

type Tx = Parameters<Parameters<PgDb['transaction']>[0]>[0]
const lockHash = (tx: Tx, tokenHash: string) => tx.execute(sql`SELECT pg_advisory_xact_lock(${LOCKS}, hashtext(${tokenHash}))`)

export function tokenRepositoryPg (db: PgDb, now: () => number): TokenRepository {
  const byHash = db.select().from(tokens).where(eq(tokens.tokenHash, sql.placeholder('hash'))).prepare('tokens_by_hash')
  // By id: every editor's write names its revision's author by the token's id (src/revisions/author.ts).
  const byId = db.select().from(tokens).where(eq(tokens.id, sql.placeholder('id'))).prepare('tokens_by_id')

  return {
    toToken,

    async create (name: string, role: Role): Promise<Token & { token: string }> {
      const secret = generateSecret()
      const [row] = await db.insert(tokens).values({ name, role, tokenHash: hashSecret(secret), createdAt: now() }).returning()
      return { ...toToken(row!), token: secret }
    },

    async ensure (secret: string, name: string, role: Role): Promise<'registered' | 'known' | 'revoked'> {
      const tokenHash = hashSecret(secret)
      return db.transaction(async (tx) => {
        await lockHash(tx, tokenHash)
        const revoked = await tx.select({ key: settings.key }).from(settings).where(eq(settings.key, revokedKey(tokenHash)))
        if (revoked.length > 0) return 'revoked'
        const inserted = await tx.insert(tokens).values({ name, role, tokenHash, createdAt: now() })
          .onConflictDoNothing({ target: tokens.tokenHash }).returning({ id: tokens.id })
        return inserted.length > 0 ? 'registered' : 'known'
      })
    },

    async createIfNone (name: string, role: Role): Promise<(Token & { token: string }) | undefined> {
      const secret = generateSecret()
      const row = await db.transaction(async (tx) => {
        await tx.execute(sql`SELECT pg_advisory_xact_lock(${LOCKS}, ${FIRST_TOKEN})`)
        const [existing] = await tx.select({ id: tokens.id }).from(tokens).limit(1)
        if (existing !== undefined) return undefined
        const [made] = await tx.insert(tokens).values({ name, role, tokenHash: hashSecret(secret), createdAt: now() }).returning()
        return made
      })
      return row && { ...toToken(row), token: secret }
    },

    async findBySecret (secret: string): Promise<TokenRow | undefined> {
      return (await byHash.execute({ hash: hashSecret(secret) }))[0]
    },

    async count (): Promise<number> {
      return (await db.select({ n: count() }).from(tokens))[0]?.n ?? 0
    },

    async list (opts: { limit: number, afterId?: number }): Promise<TokenRow[]> {
      return db.select().from(tokens)
        .where(opts.afterId === undefined ? undefined : gt(tokens.id, opts.afterId))
        .orderBy(asc(tokens.id)).limit(opts.limit + 1)
    },

    async findById (id: number): Promise<TokenRow | undefined> {
      return (await byId.execute({ id }))[0]
    },

    /** As ./repository.ts: StaleRead when the token is gone or changed since `current` was read. */
    async delete (current: TokenRow, unchanged: (fresh: TokenRow) => boolean): Promise<void> {
      await db.transaction(async (tx) => {
        await lockHash(tx, current.tokenHash)
        const [fresh] = await tx.select().from(tokens).where(eq(tokens.id, current.id)).for('update')
        if (fresh === undefined || !unchanged(fresh)) throw new StaleRead()
        await tx.delete(tokens).where(eq(tokens.id, current.id))
        await tx.insert(settings).values({ key: revokedKey(fresh.tokenHash), value: toIso(now()) }).onConflictDoNothing()
      })
    }
  }
}
