// Runs the real server as a child process, for the reliability scripts (crash test) and the tests in
// test/process that need a server they can kill, stop or write to while something else happens.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))

/** Ports this process has handed out: bind(0) may return one again as soon as it is closed. */
const handedOut = new Set<number>()

/**
 * A port nothing listens on, never one this process has handed out before. The kernel may give the same
 * port to two binds in a row once the first is closed, and two ports asked for before either child has
 * bound (the bench's webhook receiver and its server) then came out equal: the server's requests went to
 * the receiver.
 */
export async function freePort (): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number }
        s.close(() => resolve(port))
      }).on('error', reject)
    })
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}

export interface ServerProcess {
  child: ChildProcess
  base: string
  exited: Promise<number | null>
  output: () => string
}

/** Starts `src/server.ts` with the given environment (complete: nothing is inherited), without waiting. */
export function spawnServer (env: NodeJS.ProcessEnv): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr.on('data', (d: Buffer) => { output += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const base = `http://${env.HOST ?? '127.0.0.1'}:${env.PORT ?? '3000'}`
  return { child, base, exited, output: () => output }
}

/** Starts `src/server.ts` with the given environment (complete: nothing is inherited) and waits for /health. */
export async function startServer (env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const server = spawnServer(env)
  const { child, base, output } = server
  // A deadline, not a count of tries: on a busy machine tsx alone takes over 10 s to start the server, and
  // two started at once (test/process/pg-cluster.test.ts) took over 30 s at a load average of 14.
  for (const until = Date.now() + 90_000; Date.now() < until;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output()}`)
    try {
      if ((await fetch(`${base}/health`)).ok) return server
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`the server never answered on ${base}:\n${output()}`)
}

/** The environment of a child process: this one's, less coverage and test-runner hooks, plus `extra`. */
export function cleanEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'NODE_V8_COVERAGE' || name === 'NODE_OPTIONS' || name.startsWith('_TAPJS') || name.startsWith('TAP')) continue
    env[name] = value
  }
  return { ...env, ...extra }
}

export interface Ack { kind: 'article' | 'comment', id: number, slug: string }

/**
 * Concurrent writers: each creates articles (and, when the API has them, a comment on each) until
 * `stop()` is called or the server stops answering. Every write answered 2xx is recorded, in order.
 */
export function writeLoad (base: string, token: string, opts: { writers: number, comments: boolean, tag: string }) {
  const acked: Ack[] = []
  const failures: string[] = []
  const state = { stopped: false }
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const writer = async (w: number): Promise<void> => {
    for (let n = 0; !state.stopped; n++) {
      try {
        const res = await fetch(`${base}/v1/articles`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ title: `${opts.tag} writer ${w} article ${n}`, body: 'Load.', tags: ['load'], status: 'published' })
        })
        if (res.status !== 201) { failures.push(`article ${res.status}`); continue }
        const article = await res.json() as { id: number, slug: string }
        acked.push({ kind: 'article', id: article.id, slug: article.slug })
        if (!opts.comments) continue
        const reply = await fetch(`${base}/v1/articles/${article.slug}/comments`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ authorName: `Reader ${w}`, authorEmail: `reader${w}@example.com`, body: `Comment ${n}.` })
        })
        if (reply.status !== 201) { failures.push(`comment ${reply.status}`); continue }
        const comment = await reply.json() as { id: number }
        acked.push({ kind: 'comment', id: comment.id, slug: article.slug })
      } catch {
        return // the server is gone (killed, or stopping)
      }
    }
  }
  const done = Promise.all(Array.from({ length: opts.writers }, (_, w) => writer(w)))
  return { acked, failures, done, stop: () => { state.stopped = true } }
}
