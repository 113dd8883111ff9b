// Repositories and services, built once over the database and decorated onto the app.
import fp from 'fastify-plugin'
import { articleRepository, type ArticleRepository } from '../articles/repository.js'
import { articleService, type ArticleService } from '../articles/service.js'
import { idempotencyKeyRepository, type IdempotencyKeyRepository } from '../db/idempotency-keys.js'
import { settingsRepository, type SettingsRepository } from '../db/settings.js'
import { tagRepository, type TagRepository } from '../tags/repository.js'
import { tagService, type TagService } from '../tags/service.js'
import { tokenRepository, type TokenRepository } from '../tokens/repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    settings: SettingsRepository
    idempotencyKeys: IdempotencyKeyRepository
    tokens: TokenRepository
    articles: ArticleRepository
    articleService: ArticleService
    tags: TagRepository
    tagService: TagService
  }
}

export default fp(async (app) => {
  const now = app.clock
  const articles = articleRepository(app.db)
  app.decorate('settings', settingsRepository(app.db))
  app.decorate('idempotencyKeys', idempotencyKeyRepository(app.db, now))
  app.decorate('tokens', tokenRepository(app.db, now))
  app.decorate('articles', articles)
  app.decorate('articleService', articleService(articles, now))
  const tags = tagRepository(app.db)
  app.decorate('tags', tags)
  app.decorate('tagService', tagService(tags, now))
}, { name: 'repositories', dependencies: ['db'] })
