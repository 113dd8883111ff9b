// Builds a fresh Gazette on a fresh in-memory database, migrated by the real migrations, for one test
// file (or one test), and closes it in teardown.
import type { Test } from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp, type AppOptions } from '../src/app.js'
import { defaultConfig, type Config } from '../src/config.js'
import { contractChecker } from './contract.js'
import type { TestDatabase } from './pg/cluster.js'

/** What a test app stores its data in (the repositories with a PostgreSQL adapter: src/plugins/repositories.ts). */
export type Engine = 'sqlite' | 'postgres'
/** The engine of `build` when a test names none: `TEST_ENGINE=postgres` runs a suite on PostgreSQL. */
export const TEST_ENGINE: Engine = process.env.TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite'

/**
 * Options for a test that works on the SQLite database itself (its rows behind the API's back, its
 * statements, plans or pragmas, its file across a restart): it runs on SQLite, and `TEST_ENGINE=postgres`
 * skips it (test/pg/ holds PostgreSQL's side of such checks). `t.test(name, onSqlite, async (t) => …)`.
 */
export const onSqlite: { skip: string | false } = {
  skip: TEST_ENGINE === 'postgres' ? 'works on the SQLite database itself (test/pg/ covers PostgreSQL)' : false
}

export interface TestApp {
  app: FastifyInstance
  /** A token for each role, made through the API's own repository. */
  tokens: { admin: string, editor: string, moderator: string }
  /** Moves the app's clock; it starts at the real time and only moves when told. */
  clock: { now: number, advance: (ms: number) => void }
  inject: (opts: InjectOptions) => Promise<LightMyRequestResponse>
  /** Shorthand for an authenticated request as the given role. */
  as: (role: 'admin' | 'editor' | 'moderator', opts: InjectOptions) => Promise<LightMyRequestResponse>
  engine: Engine
  /** On PostgreSQL: the test's own database (a pool of the test's, its URL), to look at rows directly. */
  pg: TestDatabase | undefined
  /**
   * Resolves once the app has heard of every write committed so far. On SQLite at once; on PostgreSQL
   * when the notifications of those commits have arrived (each empties the response cache once more),
   * so that a test may then expect a cache hit on the next repeat.
   */
  settled: () => Promise<void>
}

export async function build (t: Test, config: Partial<Config> = {}, options: Pick<AppOptions, 'workers'> & { engine?: Engine } = {}): Promise<TestApp> {
  const { engine = TEST_ENGINE, ...appOptions } = options
  // On PostgreSQL, a fresh database of the run's cluster (test/pg/cluster.ts, loaded only then). tap runs
  // teardowns last registered first: the app (below) closes its pool before the database is dropped.
  const pg = engine === 'postgres' ? await (await import('./pg/cluster.js')).testDatabase(t) : undefined
  const clock = { now: Date.parse('2026-07-08T09:00:00.000Z'), advance (ms: number) { clock.now += ms } }
  const app = await buildApp({
    // No load shedding unless a test asks: inject() runs a test's requests without handing the event loop
    // back, which the monitor would read as a stalled loop and answer with 503s. A query budget far above
    // the production default: on a busy shared machine an ordinary write can take 250 ms of wall time, and
    // the tests of the budget itself set their own (test/plugins/query-budget.test.ts).
    config: {
      ...defaultConfig,
      databasePath: ':memory:',
      seedDemo: false,
      maxEventLoopDelay: 0,
      queryBudgetMs: 10_000,
      ...(pg === undefined ? {} : { postgres: { url: pg.url, poolSize: 4 } }),
      ...config
    },
    clock: () => clock.now,
    ...appOptions
  })
  t.teardown(() => app.close())
  await app.ready()
  // The retention pass the server starts with runs in the background (src/privacy/retention.ts): let it
  // end, so that a test's own call of the job is a pass of its own.
  await app.retention.running()
  const tokens = {
    admin: (await app.tokens.create('test admin', 'admin')).token,
    editor: (await app.tokens.create('test editor', 'editor')).token,
    moderator: (await app.tokens.create('test moderator', 'moderator')).token
  }
  // Every response a test receives must match the OpenAPI document (test/contract.ts).
  const contract = contractChecker(app.swagger() as Parameters<typeof contractChecker>[0])
  const inject = async (opts: InjectOptions) => {
    const res = await app.inject(opts)
    const problems = contract.check(opts.method ?? 'GET', String(opts.url ?? '/'), res)
    if (problems.length > 0) t.fail(`response does not match the OpenAPI document:\n${problems.join('\n')}`)
    return res
  }
  const as = (role: keyof typeof tokens, opts: InjectOptions) =>
    inject({ ...opts, headers: { ...opts.headers, authorization: `Bearer ${tokens[role]}` } })
  const storage = app.storage
  const settled = async () => { if (storage.engine === 'postgres') await storage.changes.caughtUp() }
  return { app, tokens, clock, inject, as, engine, pg, settled }
}

/**
 * Runs `story` on SQLite, then on PostgreSQL, each as a subtest, and requires both to have answered the same
 * (the story records what it saw, ids and timestamps left out): API.md section 12's "the same responses".
 * `steps` is how many answers the story records, so a story cut short cannot pass for equal.
 */
export async function sameOnBothEngines (t: Test, steps: number, story: (t: Test, engine: Engine) => Promise<unknown[]>): Promise<void> {
  const seen: Partial<Record<Engine, unknown[]>> = {}
  for (const engine of ['sqlite', 'postgres'] as const) await t.test(engine, async (t) => { seen[engine] = await story(t, engine) })
  t.equal(seen.sqlite?.length, steps, 'the story ran to its end')
  t.same(seen.postgres, seen.sqlite, 'the same answers on both engines')
}

/** Asserts a problem+json response of the given status and problem name; returns its body. */
export function assertProblem (t: Test, res: LightMyRequestResponse, status: number, name: string): Record<string, unknown> {
  t.equal(res.statusCode, status, `status ${status} (${res.body.slice(0, 200)})`)
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json')
  const body = res.json() as Record<string, unknown>
  t.equal(body.type, `/problems/${name}`)
  t.equal(body.status, status)
  t.type(body.title, 'string')
  return body
}

/** Creates an article as an editor and returns its body. */
export async function createArticle (a: TestApp, payload: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await a.as('editor', { method: 'POST', url: '/v1/articles', payload })
  if (res.statusCode !== 201) throw new Error(`createArticle: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** Posts a comment as the public (no token); returns the raw response. */
export function postComment (a: TestApp, slug: string, payload: Record<string, unknown>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return a.inject({ method: 'POST', url: `/v1/articles/${slug}/comments`, payload, headers })
}

/** Posts a comment as the public; returns its id and edit token (shown once, in the 201), or throws. */
export async function postWithToken (a: TestApp, slug: string, payload: Record<string, unknown>): Promise<{ id: number, editToken: string, res: LightMyRequestResponse }> {
  const res = await postComment(a, slug, payload)
  if (res.statusCode !== 201) throw new Error(`postWithToken: ${res.statusCode} ${res.body}`)
  return { id: res.json().id, editToken: res.json().editToken, res }
}

/** A comment's author acting with its edit token as Comment-Token (no credentials at all when undefined). */
const asAuthor = (a: TestApp, token: string | undefined, opts: InjectOptions): Promise<LightMyRequestResponse> =>
  a.inject({ ...opts, headers: { ...opts.headers as Record<string, string>, ...(token === undefined ? {} : { 'comment-token': token }) } })

/** PATCH /v1/comments/{id} as its author. */
export const authorEdit = (a: TestApp, id: number, token: string | undefined, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
  asAuthor(a, token, { method: 'PATCH', url: `/v1/comments/${id}`, payload, headers })

/** DELETE /v1/comments/{id} as its author. */
export const authorDelete = (a: TestApp, id: number, token: string | undefined, headers: Record<string, string> = {}) =>
  asAuthor(a, token, { method: 'DELETE', url: `/v1/comments/${id}`, headers })

/** How many comments exist (every status, every article), asked through the moderation queue. */
export async function countComments (a: TestApp, query = ''): Promise<number> {
  const res = await a.as('moderator', { method: 'GET', url: `/v1/comments?include=total&limit=1${query}` })
  if (res.statusCode !== 200) throw new Error(`countComments: ${res.statusCode} ${res.body}`)
  return res.json().page.total
}

export interface LoggedEvent { id: string, type: string, occurredAt: string, data: any }

/** The whole event log (GET /v1/events, every page), oldest first; `query` adds filters (`&type=…`). */
export async function eventLog (a: TestApp, query = ''): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = []
  let cursor: string | null = null
  do {
    const res = await a.as('admin', { method: 'GET', url: `/v1/events?limit=100${query}${cursor ? `&cursor=${cursor}` : ''}` })
    if (res.statusCode !== 200) throw new Error(`eventLog: ${res.statusCode} ${res.body}`)
    out.push(...res.json().data)
    cursor = res.json().page.nextCursor
  } while (cursor !== null)
  return out
}

/** A function that returns the events recorded since its last call, as [type, data] pairs. */
export function eventTracker (a: TestApp): () => Promise<[string, any][]> {
  let seen = 0
  return async () => {
    const all = await eventLog(a)
    const fresh = all.slice(seen)
    seen = all.length
    return fresh.map((e) => [e.type, e.data])
  }
}

export interface Sample { name: string, labels: Record<string, string>, value: number }

/** Parses the Prometheus text format into samples (comments skipped). */
export function parseMetrics (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => c === 'n' ? '\n' : c)
    samples.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return samples
}

/** The value of one sample (0 when absent): `name` with labels including `labels`, summed when several match. */
export function metric (samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
}

/** GET /metrics (200 expected), parsed. */
export async function scrape (a: TestApp, headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await a.inject({ method: 'GET', url: '/metrics', headers })
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}: ${res.body}`)
  return parseMetrics(res.body)
}
