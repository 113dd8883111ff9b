// The settings repository (src/settings/repository.ts) on PostgreSQL. A claim is decided by the primary key,
// whichever process asks first.
import { eq, sql } from 'drizzle-orm'
import type { PgDb } from '../db/pg/connection.js'
import { declareKeys } from '../db/pg/change-clock.js'
import { settings } from '../db/pg/schema.js'
import type { SettingsRepository } from './repository.js'

export function settingsRepositoryPg (db: PgDb): SettingsRepository {
  const byKey = db.select({ value: settings.value }).from(settings).where(eq(settings.key, sql.placeholder('key'))).prepare('settings_by_key')
  const value = async (key: string): Promise<string | undefined> => (await byKey.execute({ key }))[0]?.value
  return {
    get: value,
    async claim (key: string, value: string): Promise<boolean> {
      return (await db.insert(settings).values({ key, value }).onConflictDoNothing().returning({ key: settings.key })).length > 0
    },
    // Declares no dependency key, as on SQLite: a secret made on first use (the rate limiter's, at the first
    // counted request) changes no answer, and its undeclared notification emptied every process's cache.
    async getOrCreate (key: string, make: () => string): Promise<string> {
      const [made] = await db.transaction(async (tx) => {
        await declareKeys(tx, [])
        return await tx.insert(settings).values({ key, value: make() }).onConflictDoNothing().returning({ value: settings.value })
      })
      // Another process's value when it stored one first: the same for everyone.
      return made?.value ?? (await value(key))!
    },
    async delete (key: string): Promise<void> {
      await db.delete(settings).where(eq(settings.key, key))
    }
  }
}
