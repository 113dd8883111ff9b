// Where webhooks may send: the public internet only, unless WEBHOOK_ALLOW_PRIVATE=true. Otherwise anyone
// with an admin token could make the server POST to its own loopback services, the cloud metadata endpoint
// (169.254.169.254) or the private network behind it (SSRF).
//
// Checked twice: when a URL is registered (a 422 that says why), and on every connection, by the address
// actually connected to: a name that resolved to a public address at registration may resolve to a private
// one later (DNS rebinding), so deliveries resolve through `guardedLookup`, which refuses before connecting.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

/** dns.lookup's shape with `all: true`, the form this module calls; tests pass a fake resolver. */
export type Resolver = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

export const systemResolver: Resolver = (hostname, options, callback) => { dnsLookup(hostname, options, callback) }

/**
 * Whether an address is on the public internet: ipaddr.js's `unicast` range, which leaves out loopback,
 * private (RFC 1918), link-local, carrier-grade NAT, unique-local, multicast, unspecified, documentation,
 * benchmarking and other reserved ranges, NAT64 and 6to4/Teredo (which embed an IPv4 address). An
 * IPv4-mapped IPv6 address is judged as the IPv4 address it maps.
 */
export function isPublicAddress (address: string): boolean {
  if (!ipaddr.isValid(address)) return false
  let parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address()
  return parsed.range() === 'unicast'
}

/** A URL's host as an address when it is a literal one (brackets of IPv6 removed), else undefined. */
export function literalAddress (url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  return isIP(host) === 0 ? undefined : host
}

export class NonPublicAddress extends Error {
  readonly code = 'ENONPUBLIC'
}

const resolveAll = (resolver: Resolver, hostname: string): Promise<LookupAddress[]> =>
  new Promise((resolve, reject) => {
    resolver(hostname, { all: true }, (err, addresses) => { if (err) reject(err); else resolve(addresses) })
  })

/**
 * Why a webhook URL is refused, or undefined when it is fine: http(s) only, no credentials in it, and
 * (unless private targets are allowed) every address its host resolves to is public.
 */
export async function refusalOf (raw: string, opts: { allowPrivate: boolean, resolver: Resolver }): Promise<string | undefined> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'must be an absolute http or https URL'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL'
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password'
  if (url.hash !== '') return 'must not have a fragment (#…): it is never sent'
  if (opts.allowPrivate) return undefined
  const literal = literalAddress(url)
  if (literal !== undefined) {
    return isPublicAddress(literal) ? undefined : `is ${literal}, which is not a public address (loopback, private, link-local…); set WEBHOOK_ALLOW_PRIVATE=true to allow it`
  }
  let addresses: LookupAddress[]
  try {
    addresses = await resolveAll(opts.resolver, url.hostname)
  } catch (err) {
    return `has a host name that does not resolve (${(err as NodeJS.ErrnoException).code ?? 'DNS error'})`
  }
  const bad = addresses.find((a) => !isPublicAddress(a.address))
  if (bad !== undefined) return `resolves to ${bad.address}, which is not a public address; set WEBHOOK_ALLOW_PRIVATE=true to allow it`
  if (addresses.length === 0) return 'has a host name that does not resolve'
  return undefined
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

/**
 * A `lookup` for http.request that resolves with `resolver` and refuses (before any connection is made)
 * when a resolved address is not public, unless private targets are allowed.
 */
export function guardedLookup (opts: { allowPrivate: boolean, resolver: Resolver }) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void => {
    opts.resolver(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) { callback(err, []); return }
      const bad = opts.allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a.address))
      const first = addresses[0]
      if (bad !== undefined) { callback(new NonPublicAddress(`${hostname} resolves to ${bad.address}, which is not a public address`), []); return }
      if (first === undefined) { callback(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), []); return }
      if (options.all === true) callback(null, addresses)
      else callback(null, first.address, first.family)
    })
  }
}
