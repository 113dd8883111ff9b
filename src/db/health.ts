// What the health routes ask the database: does it answer, and has it every migration this build ships.
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { migrationsFolder, type Db } from './connection.js'

export function databaseHealth (db: Db) {
  const ping = db.$client.prepare('SELECT 1').pluck()
  const lastApplied = db.$client.prepare('SELECT max(created_at) FROM __drizzle_migrations').pluck()
  // drizzle's migrator records each migration's folderMillis as created_at and applies what is newer
  // than the last one recorded: the database is current when its last is this build's last.
  const shipped = readMigrationFiles({ migrationsFolder })
  const latest = shipped.length === 0 ? 0 : Math.max(...shipped.map((m) => m.folderMillis))

  return {
    /** Throws when the database does not answer. */
    async ping (): Promise<void> {
      ping.get()
    },
    /** Whether every migration in migrations/ has been applied. */
    async migrated (): Promise<boolean> {
      return Number(lastApplied.get() ?? 0) >= latest
    }
  }
}

export type DatabaseHealth = ReturnType<typeof databaseHealth>
