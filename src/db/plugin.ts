import fp from 'fastify-plugin'
import { openDatabase, type Db } from './connection.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
  }
}

export interface DbPluginOptions {
  databasePath: string
  /** SQLite's page cache, in MB (SQLITE_CACHE_MB). */
  cacheMb?: number
}

/** Opens and migrates the database before the server is ready; closes it when the app closes. */
export default fp<DbPluginOptions>(async (app, opts) => {
  const db = openDatabase(opts.databasePath, { cacheMb: opts.cacheMb })
  app.decorate('db', db)
  app.addHook('onClose', async () => {
    db.$client.close()
  })
}, { name: 'db' })
