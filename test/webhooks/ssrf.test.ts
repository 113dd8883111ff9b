// SSRF: webhooks may not target loopback, private, link-local or other non-public addresses, neither when
// registered (422) nor when a host name resolves to one later (checked on the address connected to).
import type { LookupAddress } from 'node:dns'
import t from 'tap'
import { build, createArticle } from '../helper.js'
import { isPublicAddress, type Resolver } from '../../src/webhooks/address.js'
import { startReceiver } from '../../scripts/webhook-receiver.js'

t.test('which addresses are public', async (t) => {
  const refused = ['127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '255.255.255.255', '224.0.0.1', '192.0.2.1', '198.51.100.7', '203.0.113.9', '198.18.0.1', '240.0.0.1',
    '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::a00:1',
    '2002:a00:1::', '2001:db8::1', '2001::1', 'not an address']
  const allowed = ['93.184.216.34', '8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700::1111', '::ffff:93.184.216.34']
  for (const address of refused) t.notOk(isPublicAddress(address), `${address} is refused`)
  for (const address of allowed) t.ok(isPublicAddress(address), `${address} is allowed`)
})

t.test('registration refuses non-public targets with 422', async (t) => {
  const resolver: Resolver = (hostname, _options, callback) => {
    const table: Record<string, LookupAddress[]> = {
      'public.example.test': [{ address: '93.184.216.34', family: 4 }],
      'mixed.example.test': [{ address: '93.184.216.34', family: 4 }, { address: '10.1.2.3', family: 4 }],
      'metadata.example.test': [{ address: '169.254.169.254', family: 4 }],
      localhost: [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]
    }
    const found = table[hostname]
    if (found) callback(null, found)
    else callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), [])
  }
  const a = await build(t, {}, { workers: { resolver } })
  const register = (url: string) => a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url, events: ['tag.updated'] } })
  for (const url of [
    'http://127.0.0.1/hook', 'http://127.0.0.1:3000/hook', 'http://10.0.0.5/', 'http://192.168.0.10/', 'http://172.20.0.1/',
    'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[fd00::1]/', 'http://0.0.0.0/',
    // Spellings the URL parser turns into a loopback address.
    'http://2130706433/', 'http://0x7f.1/', 'http://127.1/',
    'http://localhost:8080/', 'http://metadata.example.test/', 'http://mixed.example.test/', 'http://nowhere.example.test/'
  ]) {
    const res = await register(url)
    t.equal(res.statusCode, 422, url)
    t.equal(res.json().errors?.[0]?.pointer, '/url', `${url}: ${res.json().detail}`)
  }
  t.match((await register('http://metadata.example.test/')).json().detail, /resolves to 169\.254\.169\.254, which is not a public address/)
  t.match((await register('http://nowhere.example.test/')).json().detail, /does not resolve/)
  const ok = await register('https://public.example.test/hook')
  t.equal(ok.statusCode, 201, 'a public host is fine')
  t.equal((await register('http://93.184.216.34:8443/hook')).statusCode, 201, 'a public address is fine')
  const moved = await a.as('admin', { method: 'PATCH', url: `/v1/webhooks/${ok.json().id}`, payload: { url: 'http://10.9.8.7/' } })
  t.equal(moved.statusCode, 422, 'changing the URL is checked the same way')
})

t.test('the address connected to is checked at delivery: a name that now resolves privately is refused', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const port = new URL(receiver.url).port
  let address = '93.184.216.34'
  const resolver: Resolver = (_hostname, _options, callback) => { callback(null, [{ address, family: 4 }]) }
  const a = await build(t, {}, { workers: { resolver, pollMs: 10, minIntervalMs: 0, backoff: () => 1000 } })
  const hook = (await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: `http://rebinding.example.test:${port}/hooks`, events: ['article.published'] } })).json()
  t.ok(hook.id, 'registered while the name resolved to a public address')
  address = '127.0.0.1' // DNS rebinding: now it points at the server's own loopback
  await createArticle(a, { title: 'Rebound', status: 'published' })
  const until = Date.now() + 10_000
  let delivery
  do {
    await new Promise((resolve) => setTimeout(resolve, 20))
    delivery = (await a.as('admin', { method: 'GET', url: `/v1/webhooks/${hook.id}/deliveries` })).json().data[0]
  } while (delivery?.attempts !== 1 && Date.now() < until)
  t.match(delivery, { status: 'pending', attempts: 1, lastResponseCode: null, lastError: /resolves to 127\.0\.0\.1, which is not a public address/ })
  t.equal(receiver.received.length, 0, 'no connection was made')
})

t.test('WEBHOOK_ALLOW_PRIVATE=true lets private targets through, through the same resolver', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const port = new URL(receiver.url).port
  const resolver: Resolver = (_hostname, _options, callback) => { callback(null, [{ address: '127.0.0.1', family: 4 }]) }
  const a = await build(t, { webhookAllowPrivate: true }, { workers: { resolver, pollMs: 10, minIntervalMs: 0 } })
  const res = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: `http://internal.example.test:${port}/hooks`, events: ['article.published'] } })
  t.equal(res.statusCode, 201)
  receiver.secret = res.json().secret
  await createArticle(a, { title: 'Inside', status: 'published' })
  await receiver.waitUntil(() => receiver.received.length === 1)
  t.equal(receiver.received[0]!.verified, true)
  t.equal(receiver.received[0]!.headers.host, `internal.example.test:${port}`)
})
