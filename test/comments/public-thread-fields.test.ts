// The public's page of a thread and its comments feed never select a comment's private fields (its
// author's email, IP and user agent, its reports, the hash of its edit token): what is not read cannot
// leak, whatever a mapping does later. A moderator's page of the same thread reads them all. On either
// engine (TEST_ENGINE): the statements the app prepares on SQLite (once per shape, on first use, so each
// shape is asked for first here), those it sends to PostgreSQL.
import t from 'tap'
import { build, createArticle, postComment, type TestApp } from '../helper.js'
import { statementsSent } from '../pg/sent.js'

const PRIVATE_COLUMNS = ['author_email', 'ip', 'user_agent', 'edit_token_hash', 'report_count']

/** The texts of the statements `work` prepares (SQLite) or sends (PostgreSQL) that read comments. */
async function commentReads (a: TestApp, work: () => Promise<unknown>): Promise<string[]> {
  let texts: string[]
  if (a.engine === 'postgres') {
    texts = (await statementsSent(work)).sent.map((s) => s.text)
  } else {
    const client = a.app.db.$client
    const prepare = client.prepare
    texts = []
    client.prepare = function (this: typeof client, source: string) { texts.push(source); return prepare.call(this, source) } as typeof prepare
    try { await work() } finally { client.prepare = prepare }
  }
  return texts.filter((text) => /\bfrom\s+"?comments"?/i.test(text) && /^\s*(select|with)\b/i.test(text))
}

const named = (text: string) => PRIVATE_COLUMNS.filter((column) => new RegExp(`"?\\b${column}\\b"?`).test(text))

t.test('a public thread page and feed select no private field; a moderator\'s page selects them all', async (t) => {
  const a = await build(t, { responseCacheMb: 0, commentModeration: 'none' })
  const article = await createArticle(a, { title: 'A thread', status: 'published' })
  for (let i = 0; i < 3; i++) {
    const res = await postComment(a, article.slug, { authorName: `Reader ${i}`, authorEmail: `reader${i}@example.com`, body: `Comment ${i}` }, { 'user-agent': 'Probe/1.0' })
    t.equal(res.statusCode, 201, res.body)
  }

  for (const url of [`/v1/articles/${article.slug}/comments?limit=2`, `/v1/articles/${article.slug}/comments?limit=2&include=total`]) {
    let res: Awaited<ReturnType<typeof a.inject>> | undefined
    const reads = await commentReads(a, async () => { res = await a.inject({ method: 'GET', url }) })
    t.equal(res?.statusCode, 200, url)
    t.equal(res?.json().data.length, 2, `${url}: a page of the public's comments`)
    // The first URL's shape is new to this app, so SQLite prepares its statement here; the second is the
    // same shape (the total is a statement of its own).
    if (url.endsWith('limit=2')) t.ok(reads.length > 0, `${url}: the page's statement seen`)
    for (const text of reads) t.same(named(text), [], `${url}: no private column in ${text.replace(/\s+/g, ' ').slice(0, 120)}`)
    // Its cursor's next page (another shape: after a cursor).
    const next = res!.json().page.nextCursor as string
    const after = await commentReads(a, async () => { res = await a.inject({ method: 'GET', url: `${url}&cursor=${encodeURIComponent(next)}` }) })
    t.equal(res?.json().data.length, 1, `${url}: the next page`)
    for (const text of after) t.same(named(text), [], `${url}, next page: no private column`)
  }

  let feed: Awaited<ReturnType<typeof a.inject>> | undefined
  const feedReads = await commentReads(a, async () => { feed = await a.inject({ method: 'GET', url: `/feeds/json?comments=${article.slug}` }) })
  t.equal(feed?.statusCode, 200)
  t.equal(feed?.json().items.length, 3, 'the feed has the comments')
  t.ok(feedReads.length > 0, 'the feed\'s statement seen')
  for (const text of feedReads) t.same(named(text), [], 'the comments feed: no private column')

  let moderated: Awaited<ReturnType<typeof a.as>> | undefined
  const moderatorReads = await commentReads(a, async () => { moderated = await a.as('moderator', { method: 'GET', url: `/v1/articles/${article.slug}/comments?limit=2` }) })
  t.equal(moderated?.statusCode, 200)
  t.equal(moderated?.json().data[0].authorEmail, 'reader0@example.com', 'a moderator sees the email')
  t.equal(moderated?.json().data[0].userAgent, 'Probe/1.0', 'and the user agent')
  t.ok(moderatorReads.some((text) => named(text).length === PRIVATE_COLUMNS.length), 'a moderator\'s page reads every private column')

  // What the public gets is what it got when every column was read: the moderator's page of the same
  // comments without the moderator's fields, key for key and in order.
  const publicPage = (await a.inject({ method: 'GET', url: `/v1/articles/${article.slug}/comments?limit=2` })).json().data as Record<string, unknown>[]
  const withoutPrivate = (moderated!.json().data as Record<string, unknown>[])
    .map(({ authorEmail: _e, ip: _i, userAgent: _u, reportCount: _r, ...rest }) => rest)
  t.same(publicPage.map((c) => Object.keys(c)), withoutPrivate.map((c) => Object.keys(c)), 'the same fields, in the same order')
  t.same(publicPage, withoutPrivate, 'and the same values')
})
