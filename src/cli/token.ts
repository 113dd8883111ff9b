// npm run token -- --role editor --name newsdesk
// Creates an API token directly in the database (no server needed) and prints its secret once.
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { openDatabase } from '../db/connection.js'
import { tokenRepository } from '../tokens/repository.js'

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
  const db = openDatabase(loadConfig(env).databasePath)
  try {
    const token = await tokenRepository(db, Date.now).create(name, role)
    console.log(token.token)
    console.error(`Created ${role} token #${token.id} "${name}". The secret above is shown only this once.`)
    return 0
  } finally {
    db.$client.close()
  }
}

process.exitCode = await main(process.argv.slice(2), process.env)
