// npm run token -- --role editor --name newsdesk
// Creates an API token directly in the database (no server needed) and prints its secret once: in
// PostgreSQL when DATABASE_URL is set, as the server would, else in the SQLite file at DATABASE_PATH.
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { openDatabase } from '../db/connection.js'
import { migratePg, openPgDatabase } from '../db/pg/connection.js'
import { tokenRepository } from '../tokens/repository.js'
import { tokenRepositoryPg } from '../tokens/repository.pg.js'
import type { TokenRepository } from '../tokens/repository.js'

const usage = 'usage: npm run token -- --role admin|editor|moderator --name <name>'

export async function main (argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({ args: argv, options: { role: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean' } } }))
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`)
    return 2
  }
  if (values.help) {
    console.log(usage)
    return 0
  }
  const role = values.role
  const name = values.name?.trim()
  if (role !== 'admin' && role !== 'editor' && role !== 'moderator') {
    console.error(`--role must be admin, editor or moderator\n${usage}`)
    return 2
  }
  if (!name || name.length > 100) {
    console.error(`--name must be 1 to 100 characters\n${usage}`)
    return 2
  }
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.error(`token: configuration error: ${err.message}`)
    return 2
  }
  let tokens: TokenRepository
  let close: () => Promise<void>
  if (config.postgres !== undefined) {
    const db = openPgDatabase(config.postgres.url, { poolSize: 1, applicationName: 'gazette-token' })
    close = () => db.$client.end()
    try {
      // A database no server has started on yet gets its tables first, as the server would make them.
      await migratePg(db)
    } catch (err) {
      await close()
      // The driver's message names the host and the reason, never the URL's password.
      console.error(`token: PostgreSQL (DATABASE_URL) could not be opened: ${(err as Error).message}`)
      return 1
    }
    tokens = tokenRepositoryPg(db, Date.now)
  } else {
    const db = openDatabase(config.databasePath, { cacheMb: config.sqliteCacheMb, mmapMb: config.sqliteMmapMb })
    close = async () => { db.$client.close() }
    tokens = tokenRepository(db, Date.now)
  }
  try {
    const token = await tokens.create(name, role)
    console.log(token.token)
    console.error(`Created ${role} token #${token.id} "${name}". The secret above is shown only this once.`)
    return 0
  } finally {
    await close()
  }
}

process.exitCode = await main(process.argv.slice(2), process.env)
