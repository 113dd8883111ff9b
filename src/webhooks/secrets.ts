// Webhook signing secrets. The server signs every delivery with the secret, so it must be able to read it
// back: secrets are stored encrypted with AES-256-GCM (never in clear, and never as a hash, which could not
// sign), under a key that is not in the same row:
// - WEBHOOK_ENCRYPTION_KEY from the environment when set: a copy of the database alone (a backup, a stolen
//   file) then reveals no secret;
// - otherwise a random key generated on first use and kept in the settings table, so that
//   `npm install && npm start` needs no configuration. That protects against reading the webhooks table
//   alone (a query, a log, an export), not against a copy of the whole database.
// Each stored secret names its key (the first 8 hex digits of the key's SHA-256), so a missing or wrong key
// is reported at start instead of producing bad signatures, and secrets under the stored key are
// re-encrypted under WEBHOOK_ENCRYPTION_KEY when the operator sets one.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

/** A new signing secret as Standard Webhooks libraries expect: `whsec_` + base64 of 32 random bytes. */
export const generateWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`

/** The HMAC key a `whsec_` secret stands for. */
export const signingKey = (secret: string): Buffer => Buffer.from(secret.slice('whsec_'.length), 'base64')

export const keyIdOf = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 8)

export class SecretKeyMissing extends Error {}

export interface SecretBox {
  /** The id of the key new secrets are encrypted with. */
  keyId: string
  encrypt: (secret: string) => string
  decrypt: (stored: string) => string
  /** The id of the key a stored secret was encrypted with. */
  keyIdOf: (stored: string) => string
  /** Whether a key with this id is known. */
  knows: (keyId: string) => boolean
}

/** Encrypts with `key`; decrypts with it or any of `others` (an earlier key, during a change of keys). */
export function secretBox (key: Buffer, others: Buffer[] = []): SecretBox {
  const keys = new Map([key, ...others].map((k) => [keyIdOf(k), k]))
  const primary = keyIdOf(key)
  const parse = (stored: string) => {
    const [version, keyId, iv, tag, ciphertext] = stored.split('.')
    if (version !== 'v1' || keyId === undefined || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new Error('not a stored webhook secret')
    }
    return { keyId, iv, tag, ciphertext }
  }
  return {
    keyId: primary,
    encrypt (secret) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()])
      return ['v1', primary, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.')
    },
    decrypt (stored) {
      const p = parse(stored)
      const k = keys.get(p.keyId)
      if (k === undefined) throw new SecretKeyMissing(`webhook secret encrypted with key ${p.keyId}, which is not configured`)
      const decipher = createDecipheriv('aes-256-gcm', k, Buffer.from(p.iv, 'base64url'))
      decipher.setAuthTag(Buffer.from(p.tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(p.ciphertext, 'base64url')), decipher.final()]).toString('utf8')
    },
    keyIdOf: (stored) => parse(stored).keyId,
    knows: (keyId) => keys.has(keyId)
  }
}
