// scripts/prometheus/: the example scrape configuration and the two alerts the README documents.
// promtool (Debian's `prometheus` package, installed by .ci/run) checks the configuration and the rules
// and runs the rules' unit tests (alerts.test.yml); without it, the files are parsed here. Either way,
// every metric the rules use must be one the server exposes.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'
import { build, createArticle, scrape } from '../helper.js'

const folder = fileURLToPath(new URL('../../scripts/prometheus/', import.meta.url))
const read = (file: string) => readFileSync(join(folder, file), 'utf8')
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0

interface Rule { alert: string, expr: string, for: string, labels: Record<string, string>, annotations: Record<string, string> }

t.test('the rules: an error-rate and a p99-latency alert, on metrics the server exposes', async (t) => {
  const rules = (parse(read('alerts.yml')) as { groups: { name: string, rules: Rule[] }[] }).groups.flatMap((g) => g.rules)
  t.same(rules.map((r) => r.alert), ['GazetteHighErrorRate', 'GazetteHighLatencyP99'])
  for (const rule of rules) {
    t.match(rule, { expr: String, for: /^\d+m$/, labels: { severity: String }, annotations: { summary: String, description: String } }, rule.alert)
  }
  t.match(rules[0]!.expr, /status_class="5xx"/)
  t.match(rules[1]!.expr, /histogram_quantile\(0\.99,/)

  const a = await build(t, { metrics: true })
  await createArticle(a, { title: 'Scraped', status: 'published' })
  await a.inject({ method: 'GET', url: '/v1/articles/scraped' })
  await a.inject({ method: 'GET', url: '/v1/articles/not-there' })
  const exposed = new Set((await scrape(a)).map((s) => s.name))
  const used = new Set(rules.flatMap((r) => [r.expr, r.annotations.description ?? '']).flatMap((text) => text.match(/\bgazette_\w+/g) ?? []))
  t.ok(used.size >= 3)
  for (const name of used) t.ok(exposed.has(name), `${name} is exposed by /metrics`)

  const config = parse(read('prometheus.yml')) as { rule_files: string[], scrape_configs: { job_name: string, metrics_path: string, authorization: { type: string } }[] }
  t.same(config.rule_files, ['alerts.yml'])
  t.match(config.scrape_configs[0], { job_name: 'gazette', metrics_path: '/metrics', authorization: { type: 'Bearer' } })
})

t.test('promtool: check config, check rules, test rules', { skip: promtool || process.env.REQUIRE_PROMTOOL === '1' ? false : 'promtool is not installed (Debian: apt-get install prometheus)' }, async (t) => {
  t.ok(promtool, 'promtool is installed (REQUIRE_PROMTOOL=1)')
  const run = (...args: string[]) => spawnSync('promtool', args, { cwd: folder, encoding: 'utf8' })
  const rules = run('check', 'rules', 'alerts.yml')
  t.equal(rules.status, 0, `promtool check rules: ${rules.stdout}${rules.stderr}`)
  t.match(rules.stdout, /SUCCESS: 2 rules found/)
  const tests = run('test', 'rules', 'alerts.test.yml')
  t.equal(tests.status, 0, `promtool test rules: ${tests.stdout}${tests.stderr}`)
  // The configuration names a token file that exists on a Prometheus server; here, one made for the check.
  const dir = mkdtempSync(join(tmpdir(), 'gazette-prometheus-'))
  writeFileSync(join(dir, 'token'), 'a-metrics-token-0123456789\n')
  writeFileSync(join(dir, 'alerts.yml'), read('alerts.yml'))
  writeFileSync(join(dir, 'prometheus.yml'), read('prometheus.yml').replace('/etc/prometheus/gazette-metrics-token', join(dir, 'token')))
  const config = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: dir, encoding: 'utf8' })
  t.equal(config.status, 0, `promtool check config: ${config.stdout}${config.stderr}`)
})
