// The benchmark in --quick mode, so that it cannot rot: it must complete and report numbers for every
// scenario whose route exists on this build, and say why it skipped the others. No performance
// thresholds here: the machine running tests is shared and the numbers of a 1 s round are noise.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv } from '../../scripts/harness.js'

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
