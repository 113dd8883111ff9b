// How a bench run is shown: a table on stdout, a JSON report and an SVG bar chart.
import type { Round } from './measure.js'
import type { Target } from './scenarios.js'

export interface Summary {
  rps: number
  p50: number
  p99: number
  /** Median server CPU per request, µs. */
  cpuUs?: number
  rounds: Round[]
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
}

export function targetMet (t: Target | undefined, real: Summary | undefined, ratio: number | undefined): boolean | null {
  if (!t || !real) return null
  if (t.ratio !== undefined) return ratio !== undefined && ratio >= t.ratio
  return (t.rps === undefined || real.rps >= t.rps) && (t.p99 === undefined || real.p99 <= t.p99)
}

const num = (v: number | undefined, digits = 0): string => v === undefined ? '—' : v.toFixed(digits)

export function table (results: ScenarioResult[]): string {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'baseline req/s', 'ratio', 'µs/req', 'baseline µs/req', 'CPU ratio', 'target', '']
  const times = (v: number | undefined) => v === undefined ? '—' : `${v.toFixed(2)}×`
  const rows = results.map((r) => r.status === 'skipped'
    ? [r.label, 'skipped', '', '', '', '', '', '', '', r.target?.text ?? '', r.skipReason ?? '']
    : [
        r.label, num(r.real?.rps), num(r.real?.p50), num(r.real?.p99), num(r.baseline?.rps),
        times(r.ratio), num(r.real?.cpuUs), num(r.baseline?.cpuUs), times(r.cpuRatio),
        r.target?.text ?? '',
        (r.target?.met === true ? 'met' : r.target?.met === false ? 'MISSED' : '') +
          (r.failures ? ` (${r.failures} failed requests)` : '')
      ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === 0 || i >= 9 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join('  ').trimEnd()
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
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
