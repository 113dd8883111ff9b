// Child processes of a bench run: the real server and the baseline, each on its own loopback port.
import { spawn, type ChildProcess } from 'node:child_process'
import { get as httpGet, type IncomingHttpHeaders } from 'node:http'
import { existsSync, readFileSync } from 'node:fs'
import { cleanEnv, freePort } from '../scripts/harness.js'

export { cleanEnv, freePort }

export interface Child {
  process: ChildProcess
  pid: number
  output: () => string
  /** SIGTERM, then wait for the exit (a CPU profile is written on exit). */
  stop: () => Promise<number | null>
}

export function startChild (args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, args, { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { output += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    process: child,
    pid: child.pid ?? -1,
    output: () => output,
    async stop () {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return exited
    }
  }
}

export async function waitFor (url: string, child: Child, seconds = 60): Promise<void> {
  const until = Date.now() + seconds * 1000
  while (Date.now() < until) {
    if (child.process.exitCode !== null) throw new Error(`process exited before answering ${url}:\n${child.output()}`)
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} never answered:\n${child.output()}`)
}

/** Resident memory of a process in MB from /proc (Linux); undefined elsewhere or once it has exited. */
export function rssMb (pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? undefined : Number(kb) / 1024
  } catch {
    return undefined
  }
}

/**
 * Nanoseconds a process's main thread has run on a CPU, from /proc/<pid>/schedstat's first field (Linux;
 * exact, where /proc/<pid>/stat counts 10 ms ticks); null where there is no such file.
 */
export function cpuNanoseconds (pid: number): number | null {
  const file = `/proc/${pid}/schedstat`
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split(' ')[0]) : null
}

/**
 * CPU seconds (user + system) a process has used, from /proc (Linux; clock ticks of 1/100 s); undefined
 * elsewhere. Its difference over a round, divided by the requests served, is the CPU each request cost:
 * unlike req/s, it hardly moves when other programs compete for the CPUs.
 */
export function cpuSeconds (pid: number): number | undefined {
  try {
    // Fields after the command name (which may contain spaces, so split after its closing parenthesis).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

/** Samples a process's RSS every `ms` while running; `max` is the highest seen. */
export function rssSampler (pid: number, ms = 200) {
  let max: number | undefined
  let timer: NodeJS.Timeout | undefined
  const sample = (): void => {
    const v = rssMb(pid)
    if (v !== undefined && (max === undefined || v > max)) max = v
  }
  return {
    start () { max = undefined; sample(); timer = setInterval(sample, ms); timer.unref() },
    stop (): number | undefined { if (timer) clearInterval(timer); sample(); return max }
  }
}

/**
 * A GET as autocannon sends it: no Accept-Encoding (fetch would ask for gzip and hand back the decoded
 * body beside the compressed answer's headers), so the answer captured is the one the rounds get.
 */
export async function plainGet (url: string): Promise<{ status: number, headers: IncomingHttpHeaders, body: Buffer }> {
  return await new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    }).on('error', reject)
  })
}
