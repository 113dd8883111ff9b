import { createHash, randomBytes } from 'node:crypto'

/** A new bearer secret: 256 random bits, URL-safe. The prefix makes leaked tokens easy to grep for. */
export function generateSecret (): string {
  return `gz_${randomBytes(32).toString('base64url')}`
}

/** How a secret is stored and looked up: SHA-256, hex. A fast hash suffices for 256-bit random input. */
export function hashSecret (secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}
