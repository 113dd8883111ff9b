// A webhook receiver for `npm run bench -- --webhooks N`: answers every delivery 204 at once and counts
// them, so the bench measures what delivering costs the server, not a slow receiver. GET /count tells how
// many arrived. It runs in its own process, like the server and the baseline.
//
//   node --import tsx bench/receiver.ts --port 4002
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } })
let received = 0
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received }))
    return
  }
  req.resume()
  req.on('end', () => {
    received++
    res.writeHead(204).end()
  })
})
server.listen(Number(values.port), '127.0.0.1', () => { console.log(`receiver listening on ${JSON.stringify(server.address())}`) })
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeAllConnections() })
