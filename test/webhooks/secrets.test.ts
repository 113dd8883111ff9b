// Webhook secrets at rest: encrypted under WEBHOOK_ENCRYPTION_KEY or a key kept in the database, moved to
// the environment's key when one is set, and a start refused when the key that encrypted them is missing.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { defaultConfig } from '../../src/config.js'
import { secretBox, signingKey } from '../../src/webhooks/secrets.js'
import { build } from '../helper.js'

const receiverUrl = 'http://127.0.0.1:9/hooks'

t.test('AES-256-GCM: the key is needed, and tampering is detected', async (t) => {
  const key = randomBytes(32)
  const box = secretBox(key)
  const stored = box.encrypt('whsec_abc')
  t.not(stored, box.encrypt('whsec_abc'), 'a fresh IV each time')
  t.equal(box.decrypt(stored), 'whsec_abc')
  const parts = stored.split('.')
  const flipped = Buffer.from(parts[4]!, 'base64url')
  flipped[0] = flipped[0]! ^ 1
  t.throws(() => box.decrypt([...parts.slice(0, 4), flipped.toString('base64url')].join('.')), 'a changed ciphertext does not decrypt')
  t.throws(() => secretBox(randomBytes(32)).decrypt(stored), /not configured/, 'another key cannot read it')
  t.throws(() => box.decrypt('whsec_plain'), /not a stored webhook secret/)
})

t.test('the key kept in the database, then WEBHOOK_ENCRYPTION_KEY: secrets move to it, and the stored key goes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-secrets-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const databasePath = join(dir, 'gazette.db')
  const first = await build(t, { databasePath, webhookAllowPrivate: true })
  // Each restart opens the same database: the SQLite file, or on PostgreSQL the first app's database.
  const same = first.pg === undefined ? {} : { postgres: { url: first.pg.url, poolSize: 4 } }
  const created = (await first.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiverUrl, events: ['tag.updated'] } })).json()
  const storedKey = await first.app.settings.get('webhook_encryption_key')
  t.ok(storedKey, 'with no WEBHOOK_ENCRYPTION_KEY, a key is generated and kept in settings')
  await first.app.close()

  const envKey = randomBytes(32).toString('base64')
  const second = await build(t, { databasePath, ...same, webhookAllowPrivate: true, webhookEncryptionKey: envKey })
  t.equal(await second.app.settings.get('webhook_encryption_key'), undefined, 'the stored key is deleted once nothing needs it')
  const row = await second.app.webhooks.findById(created.id)
  const box = secretBox(Buffer.from(envKey, 'base64'))
  t.equal(box.decrypt(row!.secret), created.secret, 're-encrypted under the environment\'s key')
  t.same(second.app.webhookService.signingKeys({ ...row!, previousSecret: null, previousSecretExpiresAt: null }, second.clock.now), [signingKey(created.secret)])
  await second.app.close()

  // The same key in hex works too.
  const third = await build(t, { databasePath, ...same, webhookAllowPrivate: true, webhookEncryptionKey: Buffer.from(envKey, 'base64').toString('hex') })
  t.ok(await third.app.webhooks.findById(created.id))
  await third.app.close()

  // Without the key, the server refuses to start rather than sign with the wrong secret.
  for (const webhookEncryptionKey of [randomBytes(32).toString('base64'), undefined]) {
    await t.rejects(buildApp({ config: { ...defaultConfig, databasePath, ...same, seedDemo: false, webhookEncryptionKey } }),
      /signing secrets of webhook\(s\) 1 were encrypted with a key this server does not have/)
  }
})
