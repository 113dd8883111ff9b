import { eq, sql } from 'drizzle-orm'
import type { Db } from '../db/connection.js'
import { declareWrite } from '../db/change-clock.js'
import { settings } from '../db/schema.js'

/** Server-wide values that must survive restarts. */
export function settingsRepository (db: Db) {
  const byKey = db.select({ value: settings.value }).from(settings).where(eq(settings.key, sql.placeholder('key'))).prepare()
  return {
    async get (key: string): Promise<string | undefined> {
      return byKey.get({ key })?.value
    },
    /** Stores `value` under `key` unless one is there already: true when this call stored it. */
    async claim (key: string, value: string): Promise<boolean> {
      return db.insert(settings).values({ key, value }).onConflictDoNothing().run().changes > 0
    },
    /**
     * Stores `value` under `key` unless one is there already; returns the stored value. Made for a server's
     * own secrets (HMAC keys), which no answer used before they existed: the write declares no dependency
     * key, so this process's response cache keeps what it holds (another process on the same file sees the
     * data version move and empties its own; src/plugins/public-cache.ts).
     */
    async getOrCreate (key: string, make: () => string): Promise<string> {
      declareWrite(db, [], () => db.insert(settings).values({ key, value: make() }).onConflictDoNothing().run())
      return byKey.get({ key })!.value
    },
    async delete (key: string): Promise<void> {
      db.delete(settings).where(eq(settings.key, key)).run()
    }
  }
}

export type SettingsRepository = ReturnType<typeof settingsRepository>
