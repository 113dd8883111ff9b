// On SQLite too, a public count is the stored count at the settled time plus the articles due since
// (src/articles/counts.ts), and another process on the same file may settle at any moment. Each read of a
// total, a tag or a page of tags reads both in one transaction, so in one snapshot
// (test/pg/totals-settle.test.ts is PostgreSQL's). Here a second process (test/fixtures/settler.ts) settles
// back and forth across ten publications as fast as it can while this one reads.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv, root } from '../../scripts/harness.js'
import { build, createArticle } from '../helper.js'

const READS = Number(process.env.RACE_ROUNDS ?? 60) * 20

t.test('SQLite: totals and tags read while another process settles back and forth count every visible article once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gazette-settle-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const databasePath = join(dir, 'gazette.db')
  const reader = await build(t, { databasePath }, { engine: 'sqlite' })
  const at = reader.clock.now
  for (let i = 1; i <= 10; i++) {
    await createArticle(reader, { title: `Due ${i}`, status: 'published', publishedAt: new Date(at - i * 1000).toISOString(), tags: ['Due'], section: 'Local' })
  }
  const reads: Record<string, (body: any) => string> = {
    '/v1/articles?include=total': (b) => `total ${b.page.total}`,
    '/v1/articles?include=total&tag=due': (b) => `total ${b.page.total}`,
    '/v1/articles?include=total&section=Local': (b) => `total ${b.page.total}`,
    '/v1/tags/due': (b) => `count ${b.articleCount}`,
    '/v1/tags?include=total': (b) => `count ${b.data[0]?.articleCount}, total ${b.page.total}`,
    '/v1/tags?include=total&sort=-articleCount&q=du': (b) => `count ${b.data[0]?.articleCount}, total ${b.page.total}`
  }
  const expected = (url: string) => url.startsWith('/v1/articles') ? 'total 10' : url === '/v1/tags/due' ? 'count 10' : 'count 10, total 1'
  const settler = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/settler.ts', databasePath, String(at - 20_000), String(at)],
    { cwd: root, env: cleanEnv({}), stdio: ['pipe', 'pipe', 'inherit'] })
  // 'close' comes after the child's stdout has ended, so `out` then holds all it printed.
  const closed = once(settler, 'close')
  t.teardown(() => { settler.kill() })
  let out = ''
  settler.stdout.on('data', (chunk: Buffer) => { out += chunk })
  // Ready, or gone before it was (then the test fails here rather than waiting for a line that never comes).
  while (!out.includes('ready\n')) {
    const exited = await Promise.race([once(settler.stdout, 'data').then(() => false), closed.then(() => true)])
    if (exited && !out.includes('ready\n')) throw new Error(`the settler exited before it was ready: ${out}`)
  }
  const wrong: string[] = []
  const urls = Object.keys(reads)
  for (let i = 0; i < READS; i++) {
    const url = urls[i % urls.length]!
    const said = reads[url]!((await reader.inject({ method: 'GET', url })).json())
    if (said !== expected(url)) wrong.push(`read ${i}: ${url}: ${said}`)
  }
  settler.stdin.end()
  await closed
  const settles = Number(out.split('\n')[1])
  t.ok(settles > READS / 10, `the other process settled meanwhile (${settles} times)`)
  t.same(wrong, [], `every read counts 10 articles and one tag (${READS} reads)`)
})
