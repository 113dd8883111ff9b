// The process entry point: the only file that reads process.env, listens and handles signals.
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { bootstrap } from './db/bootstrap.js'
import { DatabaseOpenError } from './db/plugin.js'
import { loggerOptions } from './observability/logging.js'

let config: Config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`gazette: configuration error: ${err.message}`)
    process.exit(1)
  }
  throw err
}

/**
 * What stops a start is said in one line, and the process exits 1 (a process manager retries): a setting
 * only the database can prove wrong (a webhook encryption key that does not match), or a database that is
 * down, unreachable, refuses the login, or whose file cannot be made. Anything else is a bug: its stack.
 */
function stopOnStartError (err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(`gazette: configuration error: ${err.message}`)
    process.exit(1)
  }
  if (err instanceof DatabaseOpenError) {
    console.error(`gazette: ${err.message}`)
    process.exit(1)
  }
  throw err
}

let app: Awaited<ReturnType<typeof buildApp>>
try {
  app = await buildApp({ config, logger: loggerOptions(config, process.stdout.isTTY === true) })
} catch (err) {
  stopOnStartError(err)
}

// On SIGTERM/SIGINT: readiness goes false at once; requests are still served for SHUTDOWN_DELAY, the
// time a load balancer or Kubernetes needs to stop sending new ones; then stop accepting, let in-flight
// requests finish (up to 10 s), close the database, exit 0.
closeWithGrace({ delay: config.shutdownDelay + 10_000 }, async ({ signal, err }) => {
  app.beginShutdown()
  if (err) {
    app.log.error({ err }, 'shutting down after an error')
  } else {
    app.log.info({ signal, delayMs: config.shutdownDelay }, 'shutting down: /health/ready now answers 503')
    if (config.shutdownDelay > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelay))
  }
  await app.close()
})

try {
  await app.ready()
} catch (err) {
  stopOnStartError(err)
}
const { createdAdminSecret } = await bootstrap(app)
if (createdAdminSecret !== undefined) {
  // Printed once, on purpose outside the log stream so it is not shipped to log storage.
  console.log([
    '',
    'No API token existed, so Gazette created an admin token. It is shown this once; keep it safe:',
    '',
    `    ${createdAdminSecret}`,
    '',
    'Use it as:  Authorization: Bearer <token>',
    ''
  ].join('\n'))
}
await app.listen({ host: config.host, port: config.port })
