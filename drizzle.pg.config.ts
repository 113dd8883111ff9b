// drizzle-kit for the PostgreSQL adapter: `npm run db:generate:pg` writes migrations/pg/ from
// src/db/pg/schema.ts. SQLite's migrations stay in migrations/ (drizzle.config.ts), where existing
// databases keep upgrading from.
import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/pg/schema.ts',
  out: './migrations/pg'
})
