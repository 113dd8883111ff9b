// First-start chores: the operator's ADMIN_TOKEN (unless it was revoked through the API: then it stays
// revoked, and the log says so), a first admin token when there is none, and the welcome content on a
// brand-new database. Idempotent: safe on every start, and on two processes starting at once.
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
    const outcome = await app.tokens.ensure(config.adminToken, 'admin (ADMIN_TOKEN)', 'admin')
    if (outcome === 'revoked') {
      app.log.warn('ADMIN_TOKEN is revoked: it was revoked through the API (DELETE /v1/tokens/{id}) and stays revoked, so it was not registered again and requests made with it are refused (401). Set ADMIN_TOKEN to a new secret, or make a token with `npm run token`.')
    }
  } else {
    result.createdAdminSecret = (await app.tokens.createIfNone('first admin', 'admin'))?.token
  }

  // Claimed before seeding, so that of two processes starting on a new database only one seeds.
  if (config.seedDemo && await app.settings.claim(SEEDED, new Date(app.clock()).toISOString())) {
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
  }
  return result
}
