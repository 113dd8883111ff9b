// How a bench run is shown: a table on stdout, a JSON report and an SVG bar chart.
import { median, type Round, type Writes } from './measure.js'
import type { Target } from './scenarios.js'

export interface Summary {
  rps: number
  p50: number
  p99: number
  /** Median server CPU per request, µs. */
  cpuUs?: number
  /** On PostgreSQL: median CPU of the PostgreSQL server's processes per request, µs. */
  dbCpuUs?: number
  rounds: Round[]
}

/** The same scenario on PostgreSQL (`--database-url`, `--postgres`), measured in rounds alternating with SQLite's. */
export interface PostgresResult extends Summary {
  /** Median of the per-round ratios PostgreSQL/baseline req/s (reads). */
  ratio?: number
  /** PostgreSQL's CPU per request ÷ SQLite's: the Gazette process's alone, and with the PostgreSQL server's added. */
  cpuRatio?: number
  totalCpuRatio?: number
  /** Issue 16: from the database, PostgreSQL within 3× of SQLite's CPU per request (Gazette + PostgreSQL server). */
  target?: { text: string, met: boolean | null }
  /** Of the URLs captured from SQLite, how many PostgreSQL answered with other bytes (the baseline replays SQLite's). */
  differingAnswers?: number
}

export interface ScenarioResult {
  id: string
  label: string
  method: string
  path: string
  status: 'measured' | 'skipped'
  skipReason?: string
  real?: Summary
  baseline?: Summary
  /** Median of the per-round ratios real/baseline req/s (each pair ran back to back). */
  ratio?: number
  /** Baseline CPU per request ÷ Gazette's: the req/s ratio the two would have with a CPU each to themselves. */
  cpuRatio?: number
  target?: Target & { met: boolean | null }
  rssMaxMb?: number
  /** Requests that did not get the expected 2xx, or failed, over all rounds. */
  failures?: number
  /** The mixed scenarios: what the writer sent beside the reads, over the real server's measured rounds. */
  writes?: Writes
  /** `--cache-stats`: the response cache's counters over the real server's measured rounds. */
  cache?: CacheCounts
  postgres?: PostgresResult
}

/** Most PostgreSQL CPU per request, as a multiple of SQLite's, that issue 16 allows (from the database). */
export const PG_CPU_TARGET = 3

/** Per-round medians of PostgreSQL's rounds compared with SQLite's; `judged` when the target applies (from the database). */
export function postgresResult (pg: Summary, sqlite: Summary, baseline: Summary | undefined, judged: boolean): PostgresResult {
  const cpuRatio = pg.cpuUs !== undefined && sqlite.cpuUs ? pg.cpuUs / sqlite.cpuUs : undefined
  const totalCpuRatio = pg.cpuUs !== undefined && pg.dbCpuUs !== undefined && sqlite.cpuUs ? (pg.cpuUs + pg.dbCpuUs) / sqlite.cpuUs : undefined
  const ratio = baseline === undefined ? undefined : median(pg.rounds.map((r, i) => r.rps / Math.max(baseline.rounds[i]?.rps ?? 0, 0.001)))
  return {
    ...pg,
    ...(ratio === undefined ? {} : { ratio }),
    ...(cpuRatio === undefined ? {} : { cpuRatio }),
    ...(totalCpuRatio === undefined ? {} : { totalCpuRatio }),
    ...(judged ? { target: { text: `CPU ≤ ${PG_CPU_TARGET}× SQLite's`, met: totalCpuRatio === undefined ? null : totalCpuRatio <= PG_CPU_TARGET } } : {})
  }
}

/** SQLite and PostgreSQL side by side, for a run with `--database-url` or `--postgres`. */
export function enginesTable (results: ScenarioResult[]): string {
  const head = ['scenario', 'SQLite req/s', 'PG req/s', 'SQLite p50/p99', 'PG p50/p99', 'SQLite ratio', 'PG ratio',
    'SQLite µs/req', 'PG Gazette µs/req', 'PG server µs/req', 'PG÷SQLite CPU', 'with PG server', 'target', '']
  const times = (v: number | undefined) => v === undefined ? '—' : `${v.toFixed(2)}×`
  const rows = results.filter((r) => r.status === 'measured' && r.postgres !== undefined).map((r) => {
    const p = r.postgres!
    return [
      r.label, num(r.real?.rps), num(p.rps), `${num(r.real?.p50)}/${num(r.real?.p99)}`, `${num(p.p50)}/${num(p.p99)}`,
      times(r.ratio), times(p.ratio), num(r.real?.cpuUs), num(p.cpuUs), num(p.dbCpuUs), times(p.cpuRatio), times(p.totalCpuRatio),
      p.target?.text ?? '',
      (p.target?.met === true ? 'met' : p.target?.met === false ? 'MISSED' : p.target === undefined ? '' : 'not measured') +
        (p.differingAnswers ? ` (${p.differingAnswers} answers differ from SQLite's)` : '')
    ]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === 0 || i >= 12 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join('  ').trimEnd()
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export interface CacheCounts {
  hits: number
  misses: number
  stores: number
  /** Times the cache was emptied (it held entries when the database or the clock moved on). */
  clears: number
  evictions: number
}

export function targetMet (t: Target | undefined, real: Summary | undefined, ratio: number | undefined): boolean | null {
  if (!t || !real) return null
  if (t.ratio !== undefined) return ratio !== undefined && ratio >= t.ratio
  return (t.rps === undefined || real.rps >= t.rps) && (t.p99 === undefined || real.p99 <= t.p99)
}

const num = (v: number | undefined, digits = 0): string => v === undefined ? '—' : v.toFixed(digits)

export function table (results: ScenarioResult[]): string {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'baseline req/s', 'ratio', 'µs/req', 'baseline µs/req', 'CPU ratio', 'writes', 'target', '']
  const times = (v: number | undefined) => v === undefined ? '—' : `${v.toFixed(2)}×`
  const rows = results.map((r) => r.status === 'skipped'
    ? [r.label, 'skipped', '', '', '', '', '', '', '', '', r.target?.text ?? '', r.skipReason ?? '']
    : [
        r.label, num(r.real?.rps), num(r.real?.p50), num(r.real?.p99), num(r.baseline?.rps),
        times(r.ratio), num(r.real?.cpuUs), num(r.baseline?.cpuUs), times(r.cpuRatio),
        r.writes === undefined ? '' : `${r.writes.ok} (${(r.writes.ok / Math.max(r.writes.seconds, 0.001)).toFixed(1)}/s)`,
        r.target?.text ?? '',
        (r.target?.met === true ? 'met' : r.target?.met === false ? 'MISSED' : '') +
          (r.failures ? ` (${r.failures} failed requests)` : '')
      ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === 0 || i >= 10 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join('  ').trimEnd()
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/** Below the table: what each mixed scenario's writer sent and got back (the table's "writes" are the ones that worked). */
export function writesLines (results: ScenarioResult[]): string[] {
  return results.filter((r) => r.writes !== undefined).map((r) => {
    const w = r.writes!
    const answers = Object.entries(w.statuses).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} × ${n}`).join(', ')
    return `${r.label}: the writer sent ${w.sent} in ${w.seconds.toFixed(1)} s of measured rounds (${(w.sent / Math.max(w.seconds, 0.001)).toFixed(1)}/s), answered ${answers}; ` +
      'the readers\' µs/req includes the writes\' CPU'
  })
}

/** `--cache-stats`: per scenario, the response cache's hit rate and how often it was emptied. */
export function cacheLines (results: ScenarioResult[]): string[] {
  return results.filter((r) => r.cache !== undefined && r.cache.hits + r.cache.misses + r.cache.clears > 0).map((r) => {
    const c = r.cache!
    const lookups = c.hits + c.misses
    const perWrite = r.writes === undefined || r.writes.ok === 0 ? '' : `, ${(c.clears / r.writes.ok).toFixed(2)} per write`
    return `cache, ${r.label}: ${lookups} lookups, hit rate ${lookups === 0 ? '—' : `${((c.hits / lookups) * 100).toFixed(1)}%`}, ` +
      `${c.stores} stored, emptied ${c.clears} times${perWrite}, ${c.evictions} evicted`
  })
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Horizontal bars of req/s: Gazette and, for reads, the baseline beside it, with the ratio. */
export function svgChart (results: ScenarioResult[], title: string): string {
  const measured = results.filter((r) => r.status === 'measured' && r.real)
  const max = Math.max(1, ...measured.flatMap((r) => [r.real!.rps, r.baseline?.rps ?? 0]))
  const left = 190
  const width = 900
  const barMax = width - left - 150
  const rowH = 56
  const height = 70 + measured.length * rowH + 30
  const bar = (y: number, value: number, color: string, label: string): string => {
    const w = Math.max(1, (value / max) * barMax)
    return `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${color}"/>` +
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 14}" font-size="12">${escape(label)}</text>`
  }
  const rows = measured.map((r, i) => {
    const y = 60 + i * rowH
    const ratio = r.ratio === undefined ? '' : `, ratio ${r.ratio.toFixed(2)}×`
    return `<text x="${left - 10}" y="${y + 14}" font-size="13" text-anchor="end">${escape(r.label)}</text>` +
      bar(y, r.real!.rps, '#2b6cb0', `${r.real!.rps.toFixed(0)} req/s, p99 ${r.real!.p99.toFixed(0)} ms${ratio}`) +
      (r.baseline ? bar(y + 20, r.baseline.rps, '#a0aec0', `${r.baseline.rps.toFixed(0)} req/s baseline`) : '')
  }).join('\n')
  const skipped = results.filter((r) => r.status === 'skipped').map((r) => r.label).join(', ')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="28" font-size="16" font-weight="bold">${escape(title)}</text>
<rect x="${left}" y="38" width="12" height="12" fill="#2b6cb0"/><text x="${left + 18}" y="49" font-size="12">Gazette</text>
<rect x="${left + 90}" y="38" width="12" height="12" fill="#a0aec0"/><text x="${left + 108}" y="49" font-size="12">bare Fastify, same bytes from memory</text>
${rows}
<text x="20" y="${height - 12}" font-size="11" fill="#555">${escape(skipped ? `Not on this build: ${skipped}` : '')}</text>
</svg>
`
}
