// One delivery attempt: a POST per the Standard Webhooks specification.
//   webhook-id         the event id (the same on every retry, so receivers can ignore duplicates)
//   webhook-timestamp  the attempt's time, in seconds (real time: receivers check it against their clock)
//   webhook-signature  `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per valid secret, space-separated
// Signed with node:crypto's HMAC (the `standardwebhooks` package's pure-JS SHA-256 blocks the event loop:
// bench/README.md#webhook-signing; the tests verify every signature with that package instead).
// Redirects are not followed (a 3xx is a failed attempt), a receiver gets `timeoutMs` for the whole
// exchange, and connections go only to public addresses unless private ones are allowed (address.ts).
import { createHmac } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import { guardedLookup, isPublicAddress, literalAddress, type Resolver } from './address.js'

export interface Attempt {
  url: string
  eventId: string
  body: string
  /** HMAC keys to sign with: the current secret's, and the previous one's during a rotation. */
  keys: Buffer[]
}

export interface AttemptResult {
  ok: boolean
  statusCode: number | null
  error: string | null
}

export interface SenderOptions {
  timeoutMs: number
  allowPrivate: boolean
  resolver: Resolver
  /** Seconds since the epoch for webhook-timestamp; real time. */
  nowSeconds?: () => number
}

export function signatureHeader (keys: Buffer[], id: string, timestamp: number, body: string): string {
  return keys.map((key) => `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`).join(' ')
}

/** Text of a response a receiver sent back is never read beyond this. */
const MAX_RESPONSE_BYTES = 64 * 1024

export function webhookSender (opts: SenderOptions) {
  const lookup = guardedLookup({ allowPrivate: opts.allowPrivate, resolver: opts.resolver })
  // Keep-alive: consecutive deliveries to a receiver reuse the connection. The lookup runs per new connection.
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 8, lookup } as http.AgentOptions),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 8, lookup } as https.AgentOptions)
  }
  const nowSeconds = opts.nowSeconds ?? (() => Math.floor(Date.now() / 1000))

  function send (attempt: Attempt, signal?: AbortSignal): Promise<AttemptResult> {
    const url = new URL(attempt.url)
    const literal = literalAddress(url)
    if (!opts.allowPrivate && literal !== undefined && !isPublicAddress(literal)) {
      return Promise.resolve({ ok: false, statusCode: null, error: `refused: ${literal} is not a public address` })
    }
    const timestamp = nowSeconds()
    const lib = url.protocol === 'https:' ? https : http
    return new Promise((resolve) => {
      let settled = false
      const finish = (result: AttemptResult): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(result)
      }
      const request = lib.request(url, {
        method: 'POST',
        agent: agents[url.protocol as 'http:' | 'https:'],
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Gazette-Webhooks/1.0',
          'webhook-id': attempt.eventId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(attempt.keys, attempt.eventId, timestamp, attempt.body)
        }
      })
      const timer = setTimeout(() => {
        request.destroy(new Error(`no complete answer within ${opts.timeoutMs} ms`))
      }, opts.timeoutMs)
      request.on('error', (err: NodeJS.ErrnoException) => {
        const reason = err.name === 'AbortError' ? 'aborted (the server is shutting down)' : err.code !== undefined && !err.message.includes(err.code) ? `${err.message} (${err.code})` : err.message
        finish({ ok: false, statusCode: null, error: reason })
      })
      request.on('response', (response) => {
        const status = response.statusCode ?? 0
        let read = 0
        response.on('data', (chunk: Buffer) => {
          read += chunk.length
          if (read > MAX_RESPONSE_BYTES) response.destroy()
        })
        const done = (): void => {
          const ok = status >= 200 && status < 300
          let error: string | null = null
          if (status >= 300 && status < 400) {
            const location = response.headers.location
            error = `redirect not followed${typeof location === 'string' ? ` (to ${location.slice(0, 200)})` : ''}`
          } else if (!ok) {
            error = `answered ${status}`
          }
          finish({ ok, statusCode: status, error })
        }
        response.on('end', done)
        response.on('close', done)
        response.on('error', done)
      })
      request.end(attempt.body)
    })
  }

  return {
    send,
    close (): void {
      agents['http:'].destroy()
      agents['https:'].destroy()
    }
  }
}

export type WebhookSender = ReturnType<typeof webhookSender>
