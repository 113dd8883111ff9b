// A real webhook receiver on a local port, for the tests and the crash test: it records every request and
// verifies its signature with the `standardwebhooks` package (independent of Gazette's own signing).
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'

export interface Received {
  headers: IncomingHttpHeaders
  body: string
  /** The webhook-id header. */
  id: string
  event: { id: string, type: string, occurredAt: string, data: any }
  /** Whether the signature verified with the secret set at the time (undefined: no secret set). */
  verified: boolean | undefined
  /** The status the receiver answered. */
  status: number
}

/** What to answer to the n-th request (0-based): a status, or 'hang' (never answer). */
export type Responder = (n: number, received: Received) => number | 'hang' | { status: number, headers: Record<string, string> }

export interface Receiver {
  url: string
  received: Received[]
  /** Requests answered 2xx, in arrival order. */
  delivered: () => Received[]
  secret: string | undefined
  respond: Responder
  /** Resolves once `predicate` holds, polling; rejects after `ms`. */
  waitUntil: (predicate: () => boolean, ms?: number) => Promise<void>
  close: () => Promise<void>
}

export async function startReceiver (respond: Responder = () => 200): Promise<Receiver> {
  const hanging: ServerResponse[] = []
  const receiver: Receiver = {
    url: '',
    received: [],
    delivered: () => receiver.received.filter((r) => r.status >= 200 && r.status < 300),
    secret: undefined,
    respond,
    async waitUntil (predicate, ms = 30_000) {
      const until = Date.now() + ms
      while (!predicate()) {
        if (Date.now() > until) throw new Error(`receiver: condition not met within ${ms} ms (${receiver.received.length} requests so far)`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    async close () {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let verified: boolean | undefined
      if (receiver.secret !== undefined) {
        try {
          new Webhook(receiver.secret).verify(body, req.headers as Record<string, string>)
          verified = true
        } catch {
          verified = false
        }
      }
      const entry: Received = { headers: req.headers, body, id: String(req.headers['webhook-id']), event: JSON.parse(body), verified, status: 0 }
      const answer = receiver.respond(receiver.received.length, entry)
      receiver.received.push(entry)
      if (answer === 'hang') { hanging.push(res); return }
      const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer
      entry.status = status
      res.writeHead(status, headers).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`
  return receiver
}
