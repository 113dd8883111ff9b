// What article history costs: a story edited many times through the real API (small edits of a long
// body, now and then a headline), then the bytes its revisions take on disk, what full copies would
// have taken, and how long reading the oldest revision and a PATCH take.
//
//   npm run bench:revisions                          # 500 edits of a 5,000-word generated body
//   npm run bench:revisions -- --edits 200 --text /usr/share/common-licenses/GPL-3   # real prose
//
// test/revisions/storage.test.ts runs a short version and checks every revision reads back exactly.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { brotliCompressSync, constants } from 'node:zlib'
import { createPatch } from 'diff'
import { buildApp } from '../src/app.js'
import { defaultConfig } from '../src/config.js'
import { articleBody, pick, seededRandom, sentence, words, type Rng } from './content.js'

export interface RevisionBenchOptions {
  edits: number
  /** The body to start from; default a generated Markdown body of at least `words` words. */
  text?: string
  words?: number
  seed?: number
  /** Read every revision back and compare with what the article was (slow for many edits). */
  verify?: boolean
}

export interface RevisionBenchResult {
  revisions: number
  words: number
  bodyBytes: number
  /** Pages of article_revisions and its primary key index, from SQLite's dbstat. */
  diskBytes: number
  /** The stored columns' own bytes (state, body, author, changed…), without page overhead. */
  payloadBytes: number
  rows: { full: number, delta: number, current: number }
  fullCopyBytes: number
  brotliCopyBytes: number
  /** Unified line diffs from each body back to the one before it, without context. */
  linePatchBytes: number
  patchMs: { median: number, p95: number }
  /** Median of 20: GET the oldest revision over HTTP, and the repository's load of its state alone. */
  readOldestMs: number
  loadOldestMs: number
  mismatches: string[]
}

/** One small edit, as a copy desk makes them: a word, a sentence, a paragraph. Never no change. */
export function smallEdit (rng: Rng, body: string): string {
  for (;;) {
    const edited = tryEdit(rng, body)
    if (edited !== body) return edited
  }
}

function tryEdit (rng: Rng, body: string): string {
  const paragraphs = body.split('\n\n')
  const i = Math.floor(rng() * paragraphs.length)
  const p = paragraphs[i]!
  const k = rng()
  if (k < 0.6) {
    const w = p.split(' ')
    w[Math.floor(rng() * w.length)] = pick(rng, words)
    paragraphs[i] = w.join(' ')
  } else if (k < 0.8) {
    paragraphs[i] = `${p} ${sentence(rng)}`
  } else if (k < 0.9) {
    paragraphs.splice(i, 0, `${sentence(rng)} ${sentence(rng)}`)
  } else {
    const s = p.split('. ')
    if (s.length > 1) s.splice(Math.floor(rng() * s.length), 1)
    paragraphs[i] = s.join('. ')
  }
  return paragraphs.join('\n\n')
}

/** Paragraphs of a text file joined back one per line, as Markdown keeps them. */
export const prose = (path: string): string =>
  readFileSync(path, 'utf8').split(/\n\s*\n/).map((p) => p.replace(/\s*\n\s*/g, ' ').trim()).filter(Boolean).join('\n\n') + '\n'

const wordCount = (text: string) => text.split(/\s+/).filter(Boolean).length
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

export async function measureRevisions (opts: RevisionBenchOptions): Promise<RevisionBenchResult> {
  const rng = seededRandom(opts.seed ?? 20)
  let body = opts.text ?? ''
  if (opts.text === undefined) {
    while (wordCount(body) < (opts.words ?? 5000)) body = articleBody(rng, body.length + 4000)
  }
  const dir = mkdtempSync(join(tmpdir(), 'gazette-revisions-bench-'))
  const app = await buildApp({ config: { ...defaultConfig, databasePath: join(dir, 'bench.db'), seedDemo: false, maxEventLoopDelay: 0 } })
  try {
    await app.ready()
    const headers = { authorization: `Bearer ${(await app.tokens.create('bench desk', 'editor')).token}` }
    const created = await app.inject({ method: 'POST', url: '/v1/articles', headers, payload: { title: 'A long story', body, tags: ['Bench'], status: 'published' } })
    if (created.statusCode !== 201) throw new Error(`create: ${created.statusCode} ${created.body}`)
    const slug = created.json().slug as string
    const history = [{ title: 'A long story', body }]
    const patchTimes: number[] = []
    let fullCopyBytes = 0
    let brotliCopyBytes = 0
    let linePatchBytes = 0
    for (let n = 1; n <= opts.edits; n++) {
      const title = n % 10 === 0 ? `A long story, update ${n / 10}` : history[history.length - 1]!.title
      const next = smallEdit(rng, history[history.length - 1]!.body)
      const started = performance.now()
      const res = await app.inject({ method: 'PATCH', url: `/v1/articles/${slug}`, headers, payload: { title, body: next } })
      patchTimes.push(performance.now() - started)
      if (res.statusCode !== 200) throw new Error(`edit ${n}: ${res.statusCode} ${res.body}`)
      const previous = history[history.length - 1]!
      fullCopyBytes += Buffer.byteLength(previous.body)
      brotliCopyBytes += brotliCompressSync(previous.body, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }).length
      linePatchBytes += Buffer.byteLength(createPatch('body', next, previous.body, undefined, undefined, { context: 0 }))
      history.push({ title, body: next })
    }
    const sqlite = app.db.$client
    const diskBytes = sqlite.prepare("SELECT sum(pgsize) AS n FROM dbstat WHERE name IN ('article_revisions', 'sqlite_autoindex_article_revisions_1')").pluck().get() as number
    const payloadBytes = sqlite.prepare(`SELECT sum(8 + 8 + length(author) + length(changed) + length(kind) + coalesce(length(state), 0) +
      coalesce(length(body), 0)) FROM article_revisions`).pluck().get() as number
    const kinds = Object.fromEntries((sqlite.prepare('SELECT kind, count(*) AS n FROM article_revisions GROUP BY kind').all() as { kind: string, n: number }[]).map((r) => [r.kind, r.n]))

    // The oldest revision, read 20 times: through HTTP (with the Markdown render), and its stored state alone.
    const timed = async (f: () => Promise<unknown>) => {
      const times: number[] = []
      for (let i = 0; i < 20; i++) {
        const started = performance.now()
        await f()
        times.push(performance.now() - started)
      }
      return percentile(times.sort((x, y) => x - y), 0.5)
    }
    const oldest = await app.inject({ method: 'GET', url: `/v1/articles/${slug}/revisions/1`, headers })
    const readOldestMs = await timed(() => app.inject({ method: 'GET', url: `/v1/articles/${slug}/revisions/1`, headers }))
    const id = created.json().id as number
    const loadOldestMs = await timed(() => app.revisions.load(id, 1))
    const mismatches: string[] = []
    if (oldest.json().article.body !== history[0]!.body) mismatches.push('revision 1')
    if (opts.verify === true) {
      for (const [i, expected] of history.entries()) {
        const got = (await app.inject({ method: 'GET', url: `/v1/articles/${slug}/revisions/${i + 1}`, headers })).json()
        if (got.article?.body !== expected.body || got.article?.title !== expected.title) mismatches.push(`revision ${i + 1}`)
      }
    }
    const sorted = [...patchTimes].sort((x, y) => x - y)
    return {
      revisions: history.length,
      words: wordCount(body),
      bodyBytes: Buffer.byteLength(body),
      diskBytes,
      payloadBytes,
      rows: { full: kinds.full ?? 0, delta: kinds.delta ?? 0, current: kinds.current ?? 0 },
      fullCopyBytes,
      brotliCopyBytes,
      linePatchBytes,
      patchMs: { median: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) },
      readOldestMs,
      loadOldestMs,
      mismatches
    }
  } finally {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: { edits: { type: 'string', default: '500' }, words: { type: 'string', default: '5000' }, text: { type: 'string' }, seed: { type: 'string' }, verify: { type: 'boolean' } }
  })
  const r = await measureRevisions({
    edits: Number(values.edits),
    words: Number(values.words),
    text: values.text === undefined ? undefined : prose(values.text),
    seed: values.seed === undefined ? undefined : Number(values.seed),
    verify: values.verify
  })
  const per = (bytes: number) => Math.round(bytes / r.revisions).toLocaleString('en')
  const stored = r.revisions - 1
  console.log(`${r.revisions} revisions of a ${r.words.toLocaleString('en')}-word body (${r.bodyBytes.toLocaleString('en')} bytes): ` +
    `${r.rows.full} full, ${r.rows.delta} delta, ${r.rows.current} current rows`)
  console.log('| storage | bytes per revision | total |\n| --- | ---: | ---: |')
  console.log(`| article_revisions on disk (pages, with its key index) | ${per(r.diskBytes)} | ${r.diskBytes.toLocaleString('en')} |`)
  console.log(`| its columns' own bytes | ${per(r.payloadBytes)} | ${r.payloadBytes.toLocaleString('en')} |`)
  console.log(`| full copies of the old bodies | ${Math.round(r.fullCopyBytes / stored).toLocaleString('en')} | ${r.fullCopyBytes.toLocaleString('en')} |`)
  console.log(`| brotli (q5) copies of the old bodies | ${Math.round(r.brotliCopyBytes / stored).toLocaleString('en')} | ${r.brotliCopyBytes.toLocaleString('en')} |`)
  console.log(`| unified line diffs back to the old bodies (no context) | ${Math.round(r.linePatchBytes / stored).toLocaleString('en')} | ${r.linePatchBytes.toLocaleString('en')} |`)
  console.log(`PATCH (in-process, inject) median ${r.patchMs.median.toFixed(2)} ms, p95 ${r.patchMs.p95.toFixed(2)} ms; ` +
    `GET the oldest revision ${r.readOldestMs.toFixed(2)} ms (its state alone ${r.loadOldestMs.toFixed(2)} ms)`)
  if (r.mismatches.length > 0) {
    console.error(`MISMATCH: ${r.mismatches.join(', ')}`)
    process.exitCode = 1
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
