// Repositories and services, built once over the database and decorated onto the app.
import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import { articleRepository, type ArticleRepository } from '../articles/repository.js'
import { articleRepositoryPg, dueAnnouncerPg } from '../articles/repository.pg.js'
import { articleService, type ArticleService } from '../articles/service.js'
import { revisionRepository, type RevisionRepository } from '../revisions/repository.js'
import { revisionRepositoryPg } from '../revisions/repository.pg.js'
import { idempotencyKeyRepository, type IdempotencyKeyRepository } from '../idempotency/repository.js'
import { idempotencyKeyRepositoryPg } from '../idempotency/repository.pg.js'
import { commentRepository, type CommentRepository } from '../comments/repository.js'
import { commentService, type CommentService } from '../comments/service.js'
import { commentEvents } from '../comments/events.js'
import { reportRepository, reportService, type ReportRepository, type ReportService } from '../comments/reports.js'
import { commentRepositoryPg } from '../comments/repository.pg.js'
import { commentEventsPg } from '../comments/events.pg.js'
import { reportRepositoryPg } from '../comments/reports.pg.js'
import { privacyRepository, type PrivacyRepository, type PrivacyRepositoryOptions } from '../privacy/repository.js'
import { privacyRepositoryPg } from '../privacy/repository.pg.js'
import { settingsRepository, type SettingsRepository } from '../settings/repository.js'
import { settingsRepositoryPg } from '../settings/repository.pg.js'
import { tagRepository, type TagRepository } from '../tags/repository.js'
import { tagRepositoryPg } from '../tags/repository.pg.js'
import { tagService, type TagService } from '../tags/service.js'
import { tokenRepository, type TokenRepository } from '../tokens/repository.js'
import { tokenRepositoryPg } from '../tokens/repository.pg.js'
import { outbox as eventOutbox, type Outbox, type WriteEvents } from '../events/outbox.js'
import { eventRepository, type EventRepository } from '../events/repository.js'
import { eventRepositoryPg } from '../events/repository.pg.js'
import { outboxPg } from '../events/outbox.pg.js'
import { webhookRepository, type WebhookRepository } from '../webhooks/repository.js'
import { webhookRepositoryPg } from '../webhooks/repository.pg.js'
import { syndicationRepository, type SyndicationRepository } from '../syndication/repository.js'
import { syndicationRepositoryPg } from '../syndication/repository.pg.js'
import { instrumentRepositories } from '../observability/instrument.js'
import type { Db } from '../db/connection.js'
import type { PgDb } from '../db/pg/connection.js'
import type { ChangeClock } from '../db/pg/change-clock.js'

declare module 'fastify' {
  interface FastifyInstance {
    settings: SettingsRepository
    /** Where SQLite's writers record their events (src/events/outbox.ts); on PostgreSQL, reading it throws. */
    outbox: Outbox
    /** Tells a listener after events were recorded, on either engine (the webhook dispatcher's wake-up). */
    onEventsRecorded: (listener: () => void) => void
    events: EventRepository
    webhooks: WebhookRepository
    idempotencyKeys: IdempotencyKeyRepository
    tokens: TokenRepository
    articles: ArticleRepository
    articleService: ArticleService
    revisions: RevisionRepository
    tags: TagRepository
    tagService: TagService
    comments: CommentRepository
    commentService: CommentService
    syndication: SyndicationRepository
    reportService: ReportService
    privacy: PrivacyRepository
  }
}

/** The repositories that have a PostgreSQL adapter (issue 16). */
interface Ported {
  settings: SettingsRepository
  tokens: TokenRepository
  idempotencyKeys: IdempotencyKeyRepository
  articles: ArticleRepository
  /** The event log's reader: on PostgreSQL it reads what the ported writers (articles, tags, comments) record there. */
  events: EventRepository
  revisions: RevisionRepository
  tags: TagRepository
  comments: CommentRepository
  reports: ReportRepository
  syndication: SyndicationRepository
  webhooks: WebhookRepository
  /** Readers' rights; built once the reporters' key is read (it unlinks an erased author's reports). */
  privacy: (opts: PrivacyRepositoryOptions) => PrivacyRepository
  /** Tells `listener` after the engine's writers recorded events (the webhook dispatcher wakes up). */
  onEventsRecorded: (listener: () => void) => void
}

/**
 * Each ported repository on each engine: the adapter is chosen by the engine the db plugin opened
 * (DATABASE_URL: PostgreSQL). Both must make every port of `Ported`, so an adapter missing on one engine
 * fails the type check.
 */
const ADAPTERS: {
  sqlite: (db: Db, now: () => number) => Ported & { outbox: Outbox }
  postgres: (db: PgDb, now: () => number, changes: ChangeClock) => Ported
} = {
  sqlite: (db, now) => {
    const outbox = eventOutbox(db)
    const articles = articleRepository(db, outbox, now)
    const writeEvents: WriteEvents = { outbox, announceDue: articles.announcements.announceDue }
    const comments = commentEvents(db, writeEvents)
    return {
      outbox,
      settings: settingsRepository(db),
      tokens: tokenRepository(db, now),
      idempotencyKeys: idempotencyKeyRepository(db, now),
      articles,
      events: eventRepository(db),
      revisions: revisionRepository(db),
      tags: tagRepository(db, writeEvents),
      comments: commentRepository(db, comments),
      reports: reportRepository(db, comments),
      syndication: syndicationRepository(db),
      webhooks: webhookRepository(db),
      privacy: (opts) => privacyRepository(db, comments, opts),
      onEventsRecorded: outbox.onRecorded
    }
  },
  postgres: (db, now, changes) => {
    // One outbox for every PostgreSQL writer: articles, tags and comments record in one ordered log.
    const outbox = outboxPg()
    const comments = commentEventsPg(db, outbox)
    return {
      settings: settingsRepositoryPg(db),
      tokens: tokenRepositoryPg(db, now),
      idempotencyKeys: idempotencyKeyRepositoryPg(db, now),
      articles: articleRepositoryPg(db, outbox, now),
      events: eventRepositoryPg(db),
      revisions: revisionRepositoryPg(db),
      tags: tagRepositoryPg(db, outbox, dueAnnouncerPg(db, outbox)),
      comments: commentRepositoryPg(db, comments),
      reports: reportRepositoryPg(db, comments),
      syndication: syndicationRepositoryPg(db),
      webhooks: webhookRepositoryPg(db),
      privacy: (opts) => privacyRepositoryPg(db, comments, opts),
      // This process's events (on the turn after they are recorded, usually before their commit), and
      // every commit anywhere (its notification): a delivery starts when its event is visible, whichever
      // process wrote it, rather than at the dispatcher's next poll.
      onEventsRecorded: (listener) => {
        outbox.onRecorded(listener)
        changes.onChange(listener)
      }
    }
  }
}

export default fp(async (app) => {
  const now = app.clock
  const storage = app.storage
  let ported: Ported
  if (storage.engine === 'postgres') {
    ported = ADAPTERS.postgres(storage.db, now, storage.changes)
    app.decorate('outbox', {
      getter (): Outbox {
        throw new Error('app.outbox is SQLite\'s event outbox, and this app runs on PostgreSQL')
      }
    })
  } else {
    const sqlite = ADAPTERS.sqlite(storage.db, now)
    ported = sqlite
    app.decorate('outbox', sqlite.outbox)
  }
  app.decorate('onEventsRecorded', ported.onEventsRecorded)
  app.decorate('events', ported.events)
  app.decorate('webhooks', ported.webhooks)
  const articles = ported.articles
  const settings = ported.settings
  app.decorate('settings', settings)
  app.decorate('tokens', ported.tokens)
  app.decorate('articles', articles)
  app.decorate('articleService', articleService(articles, now))
  app.decorate('revisions', ported.revisions)
  app.decorate('idempotencyKeys', ported.idempotencyKeys)
  const tags = ported.tags
  app.decorate('tags', tags)
  app.decorate('tagService', tagService(tags, now))

  const syndication = ported.syndication
  app.decorate('syndication', syndication)

  const comments = ported.comments
  // Generated once per database and kept there, so avatar hashes stay the same across restarts.
  const avatarKey = await settings.getOrCreate('avatar_hmac_key', () => randomBytes(32).toString('base64url'))
  app.decorate('comments', comments)
  app.decorate('commentService', commentService(comments, {
    moderation: app.config.commentModeration,
    maxLinks: app.config.commentMaxLinks,
    avatarKey,
    editMinutes: app.config.commentEditMinutes,
    now
  }))
  // The key of reporters' identity hashes: also kept in the database, so a repeat is known after a restart.
  const reportRepo = ported.reports
  const reports = reportService(reportRepo, {
    key: await settings.getOrCreate('reporter_hmac_key', () => randomBytes(32).toString('base64url')),
    threshold: app.config.commentReportThreshold,
    now
  })
  app.decorate('reportService', reports)
  const privacy = ported.privacy({ reporterOf: reports.reporterOf })
  app.decorate('privacy', privacy)

  // With metrics or tracing on, every method of these is timed as `<name>.<method>` (in place, so the
  // services above are measured too). A new repository goes in this list (a test fails otherwise).
  instrumentRepositories(app, {
    settings,
    idempotencyKeys: app.idempotencyKeys,
    tokens: app.tokens,
    articles,
    revisions: app.revisions,
    tags,
    comments,
    syndication,
    reports: reportRepo,
    privacy,
    events: app.events,
    webhooks: app.webhooks
  })
}, { name: 'repositories', dependencies: ['db'] })
