// The one typed configuration object. server.ts builds it from process.env; tests build it directly.
export type CommentModeration = 'all' | 'first' | 'none'

export interface Config {
  host: string
  port: number
  databasePath: string
  /** An admin secret to register on start (idempotent). */
  adminToken: string | undefined
  seedDemo: boolean
  logLevel: string
  corsOrigins: string[] | '*'
  trustProxy: boolean | string
  bodyLimit: number
  commentModeration: CommentModeration
  commentMaxLinks: number
  commentRateLimit: number
}

export const defaultConfig: Config = {
  host: '127.0.0.1',
  port: 3000,
  databasePath: './data/gazette.db',
  adminToken: undefined,
  seedDemo: true,
  logLevel: 'info',
  corsOrigins: '*',
  trustProxy: false,
  bodyLimit: 1024 * 1024,
  commentModeration: 'first',
  commentMaxLinks: 2,
  commentRateLimit: 5
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>

function integer (env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`)
  }
  return Number(raw)
}

function boolean (env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (['true', '1', 'yes'].includes(raw)) return true
  if (['false', '0', 'no'].includes(raw)) return false
  throw new ConfigError(`${name} must be true or false, got "${raw}"`)
}

function oneOf<T extends string> (env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`)
  }
  return raw as T
}

/** Reads and checks the environment; throws ConfigError with a message fit for a person. */
export function loadConfig (env: Env): Config {
  const adminToken = env.ADMIN_TOKEN === '' ? undefined : env.ADMIN_TOKEN
  if (adminToken !== undefined && adminToken.length < 22) {
    throw new ConfigError('ADMIN_TOKEN must be at least 22 characters (128 bits of randomness)')
  }
  const origins = env.CORS_ORIGINS
  const trustProxy = env.TRUST_PROXY
  return {
    host: env.HOST || defaultConfig.host,
    port: integer(env, 'PORT', defaultConfig.port, 0, 65535),
    databasePath: env.DATABASE_PATH || defaultConfig.databasePath,
    adminToken,
    seedDemo: boolean(env, 'SEED_DEMO', defaultConfig.seedDemo),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    corsOrigins: origins === undefined || origins === '' || origins === '*'
      ? '*'
      : origins.split(',').map((o) => o.trim()).filter(Boolean),
    trustProxy: trustProxy === undefined || trustProxy === ''
      ? false
      : ['true', 'false'].includes(trustProxy) ? trustProxy === 'true' : trustProxy,
    bodyLimit: integer(env, 'BODY_LIMIT', defaultConfig.bodyLimit, 1024, 64 * 1024 * 1024),
    commentModeration: oneOf(env, 'COMMENT_MODERATION', defaultConfig.commentModeration, ['all', 'first', 'none']),
    commentMaxLinks: integer(env, 'COMMENT_MAX_LINKS', defaultConfig.commentMaxLinks, 0, 1000),
    commentRateLimit: integer(env, 'COMMENT_RATE_LIMIT', defaultConfig.commentRateLimit, 1, 100000)
  }
}
