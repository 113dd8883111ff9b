// The benchmark in --quick mode, so that it cannot rot: it must complete and report numbers for every
// scenario whose route exists on this build, and say why it skipped the others. No performance
// thresholds here: the machine running tests is shared and the numbers of a 1 s round are noise.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv } from '../../scripts/harness.js'
import { testDatabase } from '../pg/cluster.js'

interface Result {
  id: string
  status: 'measured' | 'skipped'
  skipReason?: string
  real?: { rps: number, p50: number, p99: number }
  baseline?: { rps: number }
  ratio?: number
  failures?: number
  writes?: { sent: number, ok: number }
}

interface WebhookResult {
  id: string
  without: { rps: number }
  with: { rps: number, deliveriesPerRequest: number, undelivered: number }
}

/** Scenarios that only write: measured alone, with no baseline. */
const WRITES = ['patch-article', 'post-comment', 'post-comment-spread']

/** `node bench/run.ts …args`: its exit code, stdout and stderr. */
async function bench (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  return { code, stdout, stderr }
}

t.test('npm run bench:quick measures every route this build has, and the writes with a webhook too', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'gazette-bench-'))
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--webhooks', '1', '--out', out], {
    env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.equal(code, 0, `exit code 0\n${stderr}`)

  const reportPath = /^report: (.+)$/m.exec(stdout)?.[1]
  t.ok(reportPath, 'prints where the JSON report is')
  const report = JSON.parse(readFileSync(reportPath!, 'utf8')) as { scenarios: Result[], server: { rssMaxMb?: number }, webhooks: { scenarios: WebhookResult[] } }
  const byId = new Map(report.scenarios.map((s) => [s.id, s]))
  t.same([...byId.keys()].sort(), ['comments', 'feed', 'get-article', 'list', 'list-tag', 'mixed', 'mixed-front', 'news-sitemap', 'patch-article', 'post-comment', 'post-comment-spread', 'search', 'sitemap-page', 'spread'])

  // These routes exist on every build since the first one.
  for (const id of ['get-article', 'list', 'list-tag', 'patch-article']) t.equal(byId.get(id)?.status, 'measured', `${id} measured`)
  for (const s of report.scenarios) {
    if (s.status === 'skipped') {
      t.match(s.skipReason, /not on this build/, `${s.id} says why it was skipped`)
      t.match(stdout, new RegExp(`skipped.*${s.skipReason!.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `${s.id}: the table says so`)
      continue
    }
    t.ok(s.real!.rps > 0, `${s.id}: req/s`)
    t.ok(Number.isFinite(s.real!.p50) && Number.isFinite(s.real!.p99), `${s.id}: latencies`)
    t.equal(s.failures, 0, `${s.id}: every request got the expected status`)
    if (!WRITES.includes(s.id)) {
      t.ok(s.baseline!.rps > 0, `${s.id}: baseline req/s`)
      t.ok(s.ratio! > 0, `${s.id}: ratio`)
    }
  }
  // The mixed scenarios read while a writer posts comments: it wrote, and every comment was accepted.
  for (const id of ['mixed', 'mixed-front']) {
    const w = byId.get(id)?.writes
    t.ok(w !== undefined && w.ok > 0 && w.ok === w.sent, `${id}: its writer's comments were all accepted`)
  }
  t.ok(report.server.rssMaxMb! > 0, 'server RSS sampled')

  // --webhooks: each write measured again with a webhook, every delivery it caused received.
  t.same(report.webhooks.scenarios.map((w) => w.id).sort(), WRITES)
  for (const w of report.webhooks.scenarios) {
    t.ok(w.with.rps > 0 && w.without.rps > 0, `${w.id}: req/s with and without`)
    t.ok(w.with.deliveriesPerRequest > 0, `${w.id}: its writes caused deliveries`)
    t.equal(w.with.undelivered, 0, `${w.id}: the receiver got them all`)
  }
  t.match(stdout, /POST comment with 1 webhooks vs without/)
  t.match(readFileSync(reportPath!.replace(/\.json$/, '.svg'), 'utf8'), /^<svg /, 'writes an SVG chart')
})

interface PostgresResult { rps: number, cpuUs?: number, dbCpuUs?: number, totalCpuRatio?: number, target?: { met: boolean | null } }

t.test('--database-url runs the scenarios on PostgreSQL beside SQLite, and refuses a database that holds data', async (t) => {
  const { url } = await testDatabase(t, { migrate: false })
  const password = decodeURIComponent(new URL(url).password)
  const only = ['--only', 'list,post-comment']
  const run = await bench(['--quick', '--database-url', url, ...only, '--out', mkdtempSync(join(tmpdir(), 'gazette-bench-'))])
  t.equal(run.code, 0, `exit code 0\n${run.stderr}`)
  const report = JSON.parse(readFileSync(/^report: (.+)$/m.exec(run.stdout)![1]!, 'utf8')) as { scenarios: (Result & { postgres?: PostgresResult })[] }
  for (const s of report.scenarios) {
    const pg = s.postgres
    t.ok(pg !== undefined && pg.rps > 0, `${s.id}: measured on PostgreSQL`)
    t.equal(s.failures, 0, `${s.id}: every request on both engines got the expected status`)
    // The cluster is local: the PostgreSQL server's CPU is counted, beside the Gazette process's (a cached
    // read may cost it nothing within /proc's 10 ms ticks; a write cannot).
    t.ok(pg!.cpuUs! > 0 && pg!.dbCpuUs !== undefined && pg!.totalCpuRatio !== undefined, `${s.id}: CPU per request of both processes, and the ratio to SQLite's`)
  }
  t.ok(report.scenarios.find((s) => s.id === 'post-comment')!.postgres!.dbCpuUs! > 0, 'POST comment: the PostgreSQL server\'s CPU counted')
  // The CPU target is judged for writes always (they go to the database), for reads only with the cache off.
  t.type(report.scenarios.find((s) => s.id === 'post-comment')?.postgres?.target?.met, 'boolean', 'POST comment: the CPU target judged')
  t.equal(report.scenarios.find((s) => s.id === 'list')?.postgres?.target, undefined, 'a cached read: not judged')
  t.match(run.stdout, /SQLite and PostgreSQL \(--database-url\)/, 'the side-by-side table')

  // The database now holds the copy: a second run refuses it, and --reset-database empties it first.
  const again = await bench(['--quick', '--database-url', url, '--only', 'list', '--out', mkdtempSync(join(tmpdir(), 'gazette-bench-'))])
  t.not(again.code, 0, 'a database that holds data is refused')
  t.match(again.stderr, /already holds data.*--reset-database/, 'and says how to empty it')
  const reset = await bench(['--quick', '--database-url', url, '--reset-database', '--only', 'list', '--out', mkdtempSync(join(tmpdir(), 'gazette-bench-'))])
  t.equal(reset.code, 0, `--reset-database: exit code 0\n${reset.stderr}`)
  t.match(reset.stderr, /--reset-database: dropped the Gazette database's \d+ tables/)
  for (const r of [run, again, reset]) t.notOk((r.stdout + r.stderr).includes(password), 'the password is never printed')
})
