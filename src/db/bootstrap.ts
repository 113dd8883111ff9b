// First-start chores: the operator's ADMIN_TOKEN, a first admin token when there is none, and the
// welcome content on a brand-new database. Idempotent: safe on every start.
import type { FastifyInstance } from 'fastify'

const SEEDED = 'demo_seeded'

const welcomeBody = `Welcome to **Gazette**, the API behind your articles, tags and reader comments.

This article was created when the database was new, so that there is something to read straight away.
Edit it, unpublish it or delete it: it will not come back.

A few things to try:

- \`GET /v1/articles\` lists what is published, newest first.
- \`GET /v1/articles/welcome-to-gazette\` returns this article with an \`ETag\`.
- \`POST /v1/articles/welcome-to-gazette/comments\` leaves a reply; your email is never published.

The whole API is described at \`/openapi.json\` and can be explored at \`/docs\`.
`

export interface BootstrapResult {
  /** The secret of an admin token created because none existed; print it once. */
  createdAdminSecret?: string
}

export async function bootstrap (app: FastifyInstance): Promise<BootstrapResult> {
  const result: BootstrapResult = {}
  const { config } = app
  if (config.adminToken !== undefined) {
    await app.tokens.ensure(config.adminToken, 'admin (ADMIN_TOKEN)', 'admin')
  } else if (await app.tokens.count() === 0) {
    result.createdAdminSecret = (await app.tokens.create('first admin', 'admin')).token
  }

  if (config.seedDemo && await app.settings.get(SEEDED) === undefined) {
    const welcome = await app.articleService.create({
      title: 'Welcome to Gazette',
      summary: 'Your new article API is up and running.',
      body: welcomeBody,
      section: 'Meta',
      authors: ['The Gazette team'],
      tags: ['Gazette'],
      status: 'published'
    }, { author: 'Gazette' })
    const article = await app.articles.findRowBySlug(welcome.slug, null)
    if (article) {
      // Approved from the start, like WordPress's first comment, so the thread is not empty. Its email
      // has no dot in the domain, which the API refuses, so no reader can claim it to skip moderation
      // in the `first` mode.
      await app.commentService.create(article, {
        authorName: 'A Gazette reader',
        authorEmail: 'welcome@localhost',
        body: 'Hi, this is a comment. Moderators can approve, edit or delete comments with `PATCH` and `DELETE /v1/comments/{id}`; readers only ever see the approved ones.'
      }, { ip: null, userAgent: null }, 'approved')
    }
    await app.settings.getOrCreate(SEEDED, () => new Date(app.clock()).toISOString())
  }
  return result
}
