// What the health routes ask PostgreSQL (../health.ts's twin): does it answer, and has it every migration of
// migrations/pg this build ships.
import { sql } from 'drizzle-orm'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import type { DatabaseHealth } from '../health.js'
import { pgMigrationsFolder, type PgDb } from './connection.js'

export function databaseHealthPg (db: PgDb): DatabaseHealth {
  // As on SQLite: drizzle's migrator records each migration's folderMillis as created_at and applies what
  // is newer than the last one recorded, so the database is current when its last is this build's last.
  const shipped = readMigrationFiles({ migrationsFolder: pgMigrationsFolder })
  const latest = shipped.length === 0 ? 0 : Math.max(...shipped.map((m) => m.folderMillis))

  return {
    async ping (): Promise<void> {
      await db.execute(sql`SELECT 1`)
    },
    async migrated (): Promise<boolean> {
      const { rows } = await db.execute<{ last: number | null }>(sql`SELECT max(created_at) AS last FROM drizzle.__drizzle_migrations`)
      return Number(rows[0]?.last ?? 0) >= latest
    }
  }
}
