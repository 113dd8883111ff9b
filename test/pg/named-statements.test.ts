// The statements of the public's common reads and of the webhook dispatcher's rounds are named prepared
// statements on PostgreSQL (src/db/pg/connection.ts, executePrepared): an unnamed one is parsed and planned
// on every run, which cost the dispatcher's claim 650–820 µs a round against 93–175 µs named (bench/README.md,
// "Session 33"). Each request here is captured as sent (./sent.ts) and every statement it sent, but for
// transaction control, must carry a name. Some pages stay unnamed by design, planned with their values
// (a thread's page, a search sorted by date, a list with several filters: src/comments/repository.pg.ts,
// src/articles/listing/index.pg.ts); they are not among these.
//
// The capture sees the whole pool, so the app's background work (upkeep, the scheduler) may send a statement
// of its own during a request: a request passes when one of three captures has nothing unnamed; a statement
// of the request's own that is unnamed fails all three.
import t from 'tap'
import { build, createArticle, postComment, type TestApp } from '../helper.js'
import { startReceiver } from '../../scripts/webhook-receiver.js'
import { statementsSent, type SentStatement } from './sent.js'

const CONTROL = /^\s*(begin|commit|rollback|start transaction|set transaction)\b/i

/**
 * What `work` sent, and those of its statements without a name (transaction control left out): of the first
 * of three tries that sent no unnamed one, else of the last.
 */
async function captured (work: () => Promise<unknown>): Promise<{ sent: SentStatement[], unnamed: SentStatement[] }> {
  let last = { sent: [] as SentStatement[], unnamed: [] as SentStatement[] }
  for (let i = 0; i < 3; i++) {
    const { sent } = await statementsSent(work)
    last = { sent, unnamed: sent.filter((s) => s.name === undefined && !CONTROL.test(s.text)) }
    if (last.unnamed.length === 0) break
  }
  return last
}

const shown = (statements: SentStatement[]): string => statements.map((s) => s.text.replace(/\s+/g, ' ').slice(0, 200)).join('\n')

async function seed (a: TestApp): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await createArticle(a, { title: `Harbour report ${i}`, summary: 'Boats in the harbour.', body: `The harbour was busy on day ${i}.`, tags: ['Harbour', `Day ${i}`], authors: ['Ada Reporter'], status: 'published' })
  }
  // A publication that falls due after the counts were last settled: the public's counts add what moved
  // since (src/articles/counts.pg.ts, deltas).
  await a.app.upkeep.settle()
  await createArticle(a, { title: 'Scheduled harbour note', body: 'Later.', tags: ['Harbour'], status: 'published', publishedAt: new Date(a.clock.now + 60_000).toISOString() })
  a.clock.advance(120_000)
  await a.app.upkeep.fillRepresentations()
}

/** The statements that read what moved since the counts were settled (src/articles/counts.pg.ts, deltas). */
const DELTAS = /GROUP BY at\.tag_id/

t.test("the public's common reads send only named statements", async (t) => {
  // The scheduler sleeps (its rounds would be captured too); the upkeep's timer may still settle the counts.
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres', workers: { pollMs: 60_000 } })
  await seed(a)
  // [what, url, whether its counts add what moved since they were settled]
  const reads: [string, string, boolean][] = [
    ['an article', '/v1/articles/harbour-report-1', false],
    ['the front page', '/v1/articles?limit=20', false],
    ['a tag\'s page', '/v1/articles?limit=20&tag=harbour', false],
    ['a ranked search', '/v1/articles?limit=20&q=harbour', false],
    ['the front page with its total', '/v1/articles?limit=20&include=total', true],
    ['the tags', '/v1/tags?limit=20', true],
    ['the tags by count, with their total', '/v1/tags?limit=20&sort=-articleCount&include=total', true],
    ['a tag', '/v1/tags/harbour', true]
  ]
  for (const [what, url, moved] of reads) {
    const res = await a.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, `${what}: 200${res.statusCode === 200 ? '' : ` (${res.body.slice(0, 200)})`}`)
    // A millisecond on, so that the counts' range is never empty (a settle by the upkeep's timer would make
    // it so, and the deltas' statements would not be sent).
    const { sent, unnamed } = await captured(() => { a.clock.advance(1); return a.inject({ method: 'GET', url }) })
    t.same(unnamed, [], `${what} (${url}): no unnamed statement${unnamed.length === 0 ? '' : `, but:\n${shown(unnamed)}`}`)
    t.ok(sent.some((s) => s.name !== undefined), `${what}: its statements were captured`)
    if (moved) t.ok(sent.some((s) => s.name !== undefined && DELTAS.test(s.text)), `${what}: the counts moved since they were settled were read, named`)
  }
  // The count of the scheduled article that fell due is in the public's numbers.
  const tag = (await a.inject({ method: 'GET', url: '/v1/tags/harbour' })).json()
  t.equal(tag.articleCount, 6, 'the tag counts the publication that fell due since the counts were settled')
})

t.test("the webhook dispatcher's rounds and its deliveries' outcomes send only named statements", async (t) => {
  const receiver = await startReceiver(() => 200)
  t.teardown(() => receiver.close())
  const a = await build(t, { webhookAllowPrivate: true, commentModeration: 'none' }, { engine: 'postgres', workers: { pollMs: 60_000, minIntervalMs: 0 } })
  const article = await createArticle(a, { title: 'Harbour report', body: 'Boats.', status: 'published' })
  const created = await a.as('admin', { method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: ['comment.submitted'] } })
  t.equal(created.statusCode, 201, `the webhook is made (${created.statusCode === 201 ? 'yes' : created.body})`)
  receiver.secret = created.json().secret
  // A round's statements: is there a webhook, is one behind the log, its fan-out (lock, deliveries, cursor),
  // the claim; and each delivery's outcome (the webhook locked, the delivery marked).
  const dispatcher = /FROM webhooks\b|INTO webhook_deliveries|UPDATE webhooks SET cursor|WITH leased AS|from "webhooks" .*for no key update|UPDATE webhook_deliveries SET status/is
  let n = 0
  const { sent } = await statementsSent(async () => {
    for (let i = 0; i < 3; i++) {
      const res = await postComment(a, article.slug as string, { authorName: 'Reader', authorEmail: 'reader@example.com', body: `Comment ${++n}.` }, { 'x-forwarded-for': `192.0.2.${n}` })
      t.equal(res.statusCode, 201, `comment ${n} posted${res.statusCode === 201 ? '' : `: ${res.body}`}`)
      await receiver.waitUntil(() => receiver.received.length >= n)
    }
  })
  const rounds = sent.filter((s) => dispatcher.test(s.text))
  t.ok(rounds.some((s) => /WITH leased AS/.test(s.text)), 'the capture holds claims')
  t.ok(rounds.some((s) => /INSERT INTO webhook_deliveries/.test(s.text)), 'and fan-outs')
  t.ok(rounds.some((s) => /for no key update/i.test(s.text)) && rounds.some((s) => /UPDATE webhook_deliveries SET status = 'succeeded'/.test(s.text)), 'and outcomes')
  const unnamed = rounds.filter((s) => s.name === undefined)
  t.same(unnamed, [], `every statement of the rounds is named${unnamed.length === 0 ? '' : `, but:\n${shown(unnamed)}`}`)
})

t.test("an editor's write reads its token by name: by its hash, and by its id for the revision's author", async (t) => {
  const a = await build(t, { responseCacheMb: 0 }, { engine: 'postgres', workers: { pollMs: 60_000 } })
  const article = await createArticle(a, { title: 'Harbour report', body: 'Boats.', status: 'published' })
  const { result: res, sent } = await statementsSent(async () => await a.as('editor', {
    method: 'PATCH', url: `/v1/articles/${article.slug as string}`, payload: { title: 'Harbour report, updated' }, headers: { 'if-match': '*' }
  }))
  t.equal(res.statusCode, 200, `the PATCH is made${res.statusCode === 200 ? '' : `: ${res.body}`}`)
  const reads = sent.filter((s) => /\bfrom "tokens"/i.test(s.text))
  t.ok(reads.some((s) => /"token_hash" = \$1/.test(s.text)) && reads.some((s) => /"tokens"\."id" = \$1/.test(s.text)), 'the token read by its hash and by its id')
  const unnamed = reads.filter((s) => s.name === undefined)
  t.same(unnamed, [], `every read of the token is named${unnamed.length === 0 ? '' : `, but:\n${shown(unnamed)}`}`)
})
