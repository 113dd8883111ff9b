// Webhook rules that are not SQL: which URLs may be registered, secrets (made, encrypted, rotated, turned
// back into signing keys), and the key that encrypts them.
import { randomBytes } from 'node:crypto'
import { ConfigError, decodeEncryptionKey } from '../config.js'
import type { SettingsRepository } from '../settings/repository.js'
import { invalid } from '../http/errors.js'
import { refusalOf, type Resolver } from './address.js'
import type { ClaimedDelivery, WebhookRepository, WebhookRow } from './repository.js'
import type { CreateWebhookInput, UpdateWebhookInput } from './schemas.js'
import { generateWebhookSecret, secretBox, signingKey, type SecretBox } from './secrets.js'

/** After a rotation the old secret keeps signing, beside the new one, this long: receivers switch without losing deliveries. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000

const STORED_KEY = 'webhook_encryption_key'

/** The key that encrypted the stored secrets is not configured: a start-up error, like a bad setting. */
export class WebhookKeyError extends ConfigError {}

/**
 * The key that encrypts webhook secrets: WEBHOOK_ENCRYPTION_KEY when set, else one generated once and kept in
 * settings. When the operator sets WEBHOOK_ENCRYPTION_KEY on a database whose secrets are under the stored
 * key, they are re-encrypted under it and the stored key is deleted. A secret under a key that is not
 * available stops the start with a message (signing with it is impossible).
 */
export async function openSecretBox (configured: string | undefined, settings: SettingsRepository, repo: WebhookRepository): Promise<SecretBox> {
  const stored = await settings.get(STORED_KEY)
  const storedKey = stored === undefined ? undefined : Buffer.from(stored, 'base64')
  const key = configured !== undefined
    ? decodeEncryptionKey(configured)!
    : storedKey ?? Buffer.from(await settings.getOrCreate(STORED_KEY, () => randomBytes(32).toString('base64')), 'base64')
  const box = secretBox(key, storedKey === undefined || configured === undefined ? [] : [storedKey])
  const rows = await repo.storedSecrets()
  const unknown = rows.filter((r) => !box.knows(box.keyIdOf(r.secret)) || (r.previousSecret !== null && !box.knows(box.keyIdOf(r.previousSecret))))
  if (unknown.length > 0) {
    throw new WebhookKeyError(`the signing secrets of webhook(s) ${unknown.map((r) => r.id).join(', ')} were encrypted with a key this server does not have ` +
      `(key id ${box.keyIdOf(unknown[0]!.secret)}; this server's is ${box.keyId}). Set WEBHOOK_ENCRYPTION_KEY to the key they were made with` +
      `${configured === undefined ? '' : ', or unset it if they were made with the key kept in the database'}.`)
  }
  if (configured !== undefined && storedKey !== undefined) {
    const reencrypt = (s: string): string => box.keyIdOf(s) === box.keyId ? s : box.encrypt(box.decrypt(s))
    await repo.replaceSecrets(rows.map((r) => ({ id: r.id, secret: reencrypt(r.secret), previousSecret: r.previousSecret === null ? null : reencrypt(r.previousSecret) })))
    await settings.delete(STORED_KEY)
  }
  return box
}

export interface WebhookServiceOptions {
  allowPrivate: boolean
  resolver: Resolver
  box: SecretBox
  now: () => number
}

export function webhookService (repo: WebhookRepository, opts: WebhookServiceOptions) {
  // Signing keys by stored ciphertext: each encryption has its own IV, so a rotated or re-encrypted secret
  // is a new entry and never meets a stale one. Bounded: a handful of webhooks, two secrets each.
  const keys = new Map<string, Buffer>()
  function keyOf (stored: string): Buffer {
    let key = keys.get(stored)
    if (key === undefined) {
      if (keys.size >= 256) keys.clear()
      keys.set(stored, key = signingKey(opts.box.decrypt(stored)))
    }
    return key
  }

  async function checkUrl (url: string): Promise<string> {
    const refusal = await refusalOf(url, { allowPrivate: opts.allowPrivate, resolver: opts.resolver })
    if (refusal !== undefined) throw invalid('body', '/url', refusal)
    return url
  }

  return {
    /** Registers a webhook; its secret is returned this once. */
    async create (input: CreateWebhookInput): Promise<{ row: WebhookRow, secret: string }> {
      await checkUrl(input.url)
      const secret = generateWebhookSecret()
      const row = await repo.create({ url: input.url, events: input.events, description: input.description ?? null }, opts.box.encrypt(secret), opts.now())
      return { row, secret }
    },

    /** Merges the patch; the same row when nothing changes. `unchanged` guards the write (writeIfMatch). */
    async update (current: WebhookRow, patch: UpdateWebhookInput, unchanged: (fresh: WebhookRow) => boolean): Promise<WebhookRow> {
      const write = {
        url: patch.url ?? current.url,
        events: patch.events ?? JSON.parse(current.events) as string[],
        description: patch.description === undefined ? current.description : patch.description,
        enabled: patch.enabled ?? current.enabled
      }
      if (write.url !== current.url) await checkUrl(write.url)
      const same = write.url === current.url && JSON.stringify(write.events) === current.events &&
        write.description === current.description && write.enabled === current.enabled
      if (same) return current
      return repo.update(current, write, opts.now(), unchanged)
    },

    /** A new secret, returned this once; the old one still signs for ROTATION_OVERLAP_MS. `unchanged` as for update. */
    async rotateSecret (current: WebhookRow, unchanged: (fresh: WebhookRow) => boolean): Promise<{ row: WebhookRow, secret: string }> {
      const secret = generateWebhookSecret()
      const now = opts.now()
      const row = await repo.rotateSecret(current, opts.box.encrypt(secret), now + ROTATION_OVERLAP_MS, now, unchanged)
      return { row, secret }
    },

    /** The HMAC keys a delivery is signed with at `now`: the secret's, and the previous one's while it overlaps. */
    signingKeys (d: Pick<ClaimedDelivery, 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>, now: number): Buffer[] {
      const current = keyOf(d.secret)
      return d.previousSecret !== null && d.previousSecretExpiresAt !== null && now < d.previousSecretExpiresAt
        ? [current, keyOf(d.previousSecret)]
        : [current]
    }
  }
}

export type WebhookService = ReturnType<typeof webhookService>
