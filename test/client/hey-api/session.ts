// A newsroom session through the client @hey-api/openapi-ts generates from the committed document. Not
// compiled with the project: test/client/hey-api.test.ts generates the client into a temporary folder
// (./generated beside a copy of this file), type-checks both with `tsc --strict`, and runs this against a
// listening server. It may use only what the generated client and the standard fetch API offer, as an
// SDK user's code would.
import { createClient, createConfig, type Client } from './generated/client/index.js'
import {
  createArticle, createComment, createTag, createToken, createWebhook, deleteTag, erasePersonalData, exportPersonalData, getArticle,
  getComment, getOpenApiYaml, listArticleComments, listArticles, listComments, listEvents, reportComment, updateArticle, updateComment
} from './generated/sdk.gen.js'
import type { Comment, Event, ModeratedComment, Problem } from './generated/types.gen.js'

/** The assertions the session makes (tap's `t` has them). */
export interface Check {
  equal: (actual: unknown, expected: unknown, message: string) => unknown
  ok: (value: unknown, message: string) => unknown
}

export interface Session {
  baseUrl: string
  adminToken: string
  /** The fetch every request goes through (the test checks each response against the document). */
  fetch: typeof fetch
  check: Check
}

export async function newsroom ({ baseUrl, adminToken, fetch, check }: Session): Promise<void> {
  const as = (token?: string): Client => createClient(createConfig({ baseUrl, fetch, ...(token === undefined ? {} : { auth: token }) }))
  const admin = as(adminToken)
  const reader = as()

  // The admin makes a token for the desk and one for moderation.
  const desk = await createToken({ client: admin, body: { name: 'newsdesk', role: 'editor' } })
  check.equal(desk.response.status, 201, 'token created')
  check.ok(desk.response.headers.get('location')?.startsWith('/v1/tokens/'), 'Location of the token')
  const mod = await createToken({ client: admin, body: { name: 'comments desk', role: 'moderator' } })
  if (desk.data?.token == null || mod.data?.token == null) throw new Error('no token secret in the 201')
  const editor = as(desk.data.token)
  const moderator = as(mod.data.token)

  // The desk publishes a tagged story and a few more.
  const story = await createArticle({
    client: editor,
    body: { title: 'Pacific Fleet returns to Vladivostok', dateline: 'VLADIVOSTOK', body: 'The frigates **docked** at dawn.', tags: ['Navy'], status: 'published' }
  })
  check.equal(story.response.status, 201, 'article created')
  if (story.data === undefined) throw new Error('no article in the 201')
  check.equal(story.response.headers.get('location'), `/v1/articles/${story.data.slug}`, 'Location of the article')
  const etag = story.response.headers.get('etag')
  check.ok(etag, 'the 201 has an ETag')
  for (let i = 1; i <= 4; i++) {
    const more = await createArticle({ client: editor, body: { title: `Harbour report ${i}`, tags: ['Navy'], status: 'published' } })
    check.equal(more.response.status, 201, `report ${i} created`)
  }

  // Readers page through the Navy stories with the cursor.
  const slugs: string[] = []
  let cursor: string | undefined
  do {
    const page = await listArticles({ client: reader, query: { tag: ['navy'], limit: 2, ...(cursor === undefined ? {} : { cursor }) } })
    if (page.data === undefined) throw new Error(`list: ${page.response.status}`)
    slugs.push(...page.data.data.map((article) => article.slug))
    cursor = page.data.page.nextCursor ?? undefined
    check.equal(page.response.headers.get('link') !== null, cursor !== undefined, 'a Link header exactly while there is a next page')
  } while (cursor !== undefined)
  check.equal(new Set(slugs).size, 5, 'every Navy story exactly once')

  // A conditional GET with the ETag the desk holds: 304, no body.
  const cached = await getArticle({ client: reader, path: { slug: story.data.slug }, headers: { 'if-none-match': etag ?? '' } })
  check.equal(cached.response.status, 304, 'not modified')
  check.equal(cached.data, undefined, 'a 304 has no data')

  // A new slug with If-Match; the old one answers 301, which fetch follows unless told not to.
  const renamed = await updateArticle({ client: editor, path: { slug: story.data.slug }, headers: { 'if-match': etag ?? '' }, body: { slug: 'fleet-home' } })
  check.equal(renamed.data?.slug, 'fleet-home', 'renamed')
  const moved = await getArticle({ client: reader, path: { slug: story.data.slug }, redirect: 'manual' })
  check.equal(moved.response.status, 301, 'the old slug is a 301')
  check.equal(moved.response.headers.get('location'), '/v1/articles/fleet-home', 'to the current URL')
  const followed = await getArticle({ client: reader, path: { slug: story.data.slug } })
  check.equal(followed.data?.slug, 'fleet-home', 'followed to the article')

  // A reader comments; a first comment waits for moderation.
  const posted = await createComment({
    client: reader,
    path: { slug: 'fleet-home' },
    body: { authorName: 'Olga', authorEmail: 'olga@example.org', body: 'Welcome home, sailors.' }
  })
  check.equal(posted.response.status, 201, 'comment posted')
  if (posted.data === undefined) throw new Error('no comment in the 201')
  check.equal(posted.data.authorEmail, undefined, 'the reader does not get an email back')
  const editToken = posted.data.editToken
  if (editToken == null) throw new Error('no edit token in the 201')

  // Its author fixes it with the edit token, within the edit window.
  const fixed = await updateComment({
    client: reader,
    path: { id: posted.data.id },
    headers: { 'comment-token': editToken },
    body: { body: 'Welcome home, sailors!' }
  })
  check.equal(fixed.response.status, 200, 'the author edited the comment')
  check.equal(fixed.data?.edited, true, '… and it says so')

  // The moderator's queue and views carry the private fields, typed.
  const queue = await listComments({ client: moderator, query: { status: 'pending' } })
  const waiting: ModeratedComment | undefined = queue.data?.data[0]
  check.equal(waiting?.authorEmail, 'olga@example.org', 'the queue shows the email')
  const seen = await getComment({ client: moderator, path: { id: posted.data.id } })
  const asModerator: Comment | undefined = seen.data
  check.equal(asModerator?.authorEmail, 'olga@example.org', 'a moderator\'s Comment keeps authorEmail')
  check.equal(typeof asModerator?.ip, 'string', '… and ip')
  const approved = await updateComment({ client: moderator, path: { id: posted.data.id }, body: { status: 'approved' } })
  check.equal(approved.data?.status, 'approved', 'approved')
  const thread = await listArticleComments({ client: moderator, path: { slug: 'fleet-home' } })
  check.equal(thread.data?.data[0]?.authorEmail, 'olga@example.org', 'a moderator\'s thread has the private fields')
  const publicThread = await listArticleComments({ client: reader, path: { slug: 'fleet-home' } })
  check.equal(publicThread.data?.data[0]?.authorEmail, undefined, 'the public thread does not')

  // A reader reports it: 202 with no body.
  const report = await reportComment({ client: reader, path: { id: posted.data.id }, body: { reason: 'off-topic' } })
  check.equal(report.response.status, 202, 'report accepted')
  check.equal(report.error, undefined, 'a bodiless 202 is not an error')
  const reported = await getComment({ client: moderator, path: { id: posted.data.id } })
  check.equal(reported.data?.reportCount, 1, 'moderators see the report count')

  // The event log, one type of the union, told apart by `type`.
  const events = await listEvents({ client: admin, query: { type: ['comment.approved'] } })
  const event: Event | undefined = events.data?.data[0]
  if (event?.type !== 'comment.approved') throw new Error(`no comment.approved event: ${events.response.status}`)
  check.equal(event.data.id, posted.data.id, 'the approval is in the log, with the comment')
  check.equal(event.data.authorEmail, undefined, 'and nothing private')

  // A webhook's secret is in the 201 only.
  const hook = await createWebhook({ client: admin, body: { url: 'http://127.0.0.1:9/gazette', events: ['tag.deleted'], description: 'CDN purge' } })
  check.equal(hook.response.status, 201, 'webhook registered')
  check.ok(hook.data?.secret?.startsWith('whsec_'), 'with its signing secret')

  // A reader's data, exported and erased by the admin.
  const exported = await exportPersonalData({ client: admin, body: { email: 'olga@example.org' } })
  check.equal(exported.data?.data[0]?.authorEmail, 'olga@example.org', 'the export has the private fields')
  const erased = await erasePersonalData({ client: admin, body: { email: 'olga@example.org' } })
  check.equal(erased.data?.erased, 1, 'and erased: one comment')

  // A delete answers 204 with no body.
  const tag = await createTag({ client: editor, body: { name: 'Drafts desk' } })
  check.equal(tag.response.status, 201, 'tag created')
  const deleted = await deleteTag({ client: editor, path: { slug: 'drafts-desk' } })
  check.equal(deleted.response.status, 204, 'deleted')

  // Errors arrive as problem details.
  const refused = await createArticle({ client: editor, body: { title: '' } })
  check.equal(refused.response.status, 422, 'an empty title is a 422')
  const problem: Problem | undefined = refused.error
  check.equal(problem?.type, '/problems/validation', 'read as a Problem')
  check.equal(problem?.errors?.[0]?.pointer, '/title', 'pointing at the field')
  const forbidden = await createArticle({ client: moderator, body: { title: 'Not mine' } })
  check.equal(forbidden.error?.status, 403, 'a moderator may not write articles')
  const missing = await getComment({ client: reader, path: { id: 999999 } })
  check.equal(missing.error?.type, '/problems/not-found', 'a 404 is a Problem too')

  // The document itself, as YAML text.
  const yaml = await getOpenApiYaml({ client: reader, parseAs: 'text' })
  check.ok(yaml.data?.startsWith('openapi: 3.1.0'), 'GET /openapi.yaml is text')
}
