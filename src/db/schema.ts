// Drizzle tables: the one description of Gazette's storage. drizzle-kit turns changes here into SQL
// migrations in migrations/. Timestamps are integer milliseconds since the epoch (UTC): they sort and
// compare as numbers, and the API renders them as RFC 3339 strings.
import { sqliteTable, integer, text, blob, index, uniqueIndex, primaryKey, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core'
import { sql } from 'drizzle-orm'

export const tokens = sqliteTable('tokens', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  role: text('role', { enum: ['admin', 'editor', 'moderator'] }).notNull(),
  // SHA-256 of the secret, hex. The secret itself is never stored.
  tokenHash: text('token_hash').notNull(),
  createdAt: integer('created_at').notNull()
}, (t) => [
  uniqueIndex('tokens_token_hash_unique').on(t.tokenHash)
])

/**
 * An article's status, the one list of them (src/articles/status.ts names the type). Declared here, not
 * imported: drizzle-kit cannot resolve the `.js` imports of TypeScript files in this one (drizzle-orm#1561).
 */
export const ARTICLE_STATUSES = ['draft', 'published', 'archived'] as const

export const articles = sqliteTable('articles', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  slug: text('slug').notNull(),
  title: text('title').notNull(),
  summary: text('summary'),
  body: text('body').notNull().default(''),
  bodyHtml: text('body_html').notNull().default(''),
  section: text('section'),
  dateline: text('dateline'),
  source: text('source'),
  // JSON array of author names, in the order the editor gave.
  authors: text('authors').notNull().default('[]'),
  status: text('status', { enum: ARTICLE_STATUSES }).notNull().default('draft'),
  publishedAt: integer('published_at'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  commentsOpen: integer('comments_open', { mode: 'boolean' }).notNull().default(true),
  commentCount: integer('comment_count').notNull().default(0),
  revision: integer('revision').notNull().default(1),
  // The lead image: all four null when there is none (image_url decides).
  imageUrl: text('image_url'),
  imageAlt: text('image_alt'),
  imageCaption: text('image_caption'),
  imageCredit: text('image_credit'),
  // The original of republished copy (a wire story), for search engines and feeds.
  canonicalUrl: text('canonical_url'),
  // Whether the event log last told consumers this article is visible (article.published) rather than
  // not (article.unpublished, or never announced). A scheduled article is not announced until its time
  // comes: src/articles/announcements.ts emits article.published then, exactly once, and sets this.
  announced: integer('announced', { mode: 'boolean' }).notNull().default(false)
}, (t) => [
  uniqueIndex('articles_slug_unique').on(t.slug),
  index('articles_status_published_idx').on(t.status, t.publishedAt, t.id),
  index('articles_published_idx').on(t.publishedAt, t.id),
  index('articles_updated_idx').on(t.updatedAt, t.id),
  // published_at last: the public's pages by updatedAt check visibility in the index, not in the row (whose
  // published_at lies behind the body, in overflow pages), so scheduled articles at the top cost nothing.
  index('articles_status_updated_idx').on(t.status, t.updatedAt, t.id, t.publishedAt),
  index('articles_section_idx').on(t.section, t.publishedAt, t.id),
  // The public's view of a section (published, by date): its pages and counts read this index alone.
  index('articles_section_status_idx').on(t.section, t.status, t.publishedAt, t.id),
  // A search ranked by relevance checks each match's visibility (and section) by id. In the row those
  // columns come after the 2–8 KB body and its HTML, in overflow pages: this small copy keyed by id
  // answers the check without reading them (measured: bench/README.md#visibility-index).
  // With updated_at, it also sorts the articles of a tag, an author or a search by either date.
  index('articles_visibility_idx').on(t.id, t.status, t.publishedAt, t.section, t.updatedAt),
  // Sitemap pages are blocks of 10,000 ids (src/syndication/repository.ts, whose queries repeat these
  // expressions): keyed by block and then lastmod, this covers what a page lists of each published
  // article (URL parts and lastmod), so a page is one range of a small index, and a block's latest
  // lastmod (for the sitemap index) is one seek, never a scan of the articles and their bodies.
  index('articles_sitemap_idx').on(sql`(id - 1) / 10000`, sql`CASE WHEN updated_at > published_at THEN updated_at ELSE published_at END`, t.id, t.publishedAt, t.updatedAt, t.slug, t.section)
    .where(sql`status = 'published'`),
  // Scheduled publications still to announce: a few rows, whatever the size of the archive, so finding
  // the due ones (on every write and by the scheduler's timer) is one short index range.
  index('articles_unannounced_idx').on(t.publishedAt, t.id).where(sql`status = 'published' AND announced = 0`),
  // A list page's articles by id, with what the page needs of their rows beside their stored summaries
  // (articleSummaries): the keyset's dates, the visibility, the comment count to splice in. Every one of
  // those columns lies behind the body in the row, in overflow pages that this copy never reads.
  index('articles_listed_idx').on(t.id, t.status, t.publishedAt, t.updatedAt, t.commentCount)
])

// Each article's representation, serialised at write time, with its tags and comment count cut out (they
// are spliced in at read time): src/articles/stored.ts. Written in the same transaction as the article's row;
// a trigger (migrations/0015_stored_representations.sql) deletes it whenever a represented column of the
// row is updated, so a write that did not store the new one leaves none (reads then assemble afresh), never
// a stale one. `tags_at` and `count_at` are UTF-16 offsets into `json`; `hash` is sha256 of `json`.
export const articleRepresentations = sqliteTable('article_representations', {
  articleId: integer('article_id').primaryKey().references(() => articles.id, { onDelete: 'cascade' }),
  json: text('json').notNull(),
  tagsAt: integer('tags_at').notNull(),
  countAt: integer('count_at').notNull(),
  hash: text('hash').notNull()
})

// Each article's summary as lists show it (ArticleSummary, without `snippet`), serialised at write time
// with its tags and comment count cut out like its representation's, and without the closing brace (a
// search's snippet goes there): src/articles/stored.ts. Its own narrow table, so that a page of twenty reads
// twenty small rows rather than the articles' rows, whose listed columns lie behind the 2–8 KB body and its
// HTML. Kept like article_representations: written in the same transaction, dropped by a trigger
// (migrations/0016_article_summaries.sql) when a column it shows changes, filled at start when missing.
export const articleSummaries = sqliteTable('article_summaries', {
  articleId: integer('article_id').primaryKey().references(() => articles.id, { onDelete: 'cascade' }),
  json: text('json').notNull(),
  tagsAt: integer('tags_at').notNull(),
  countAt: integer('count_at').notNull()
})

// Slugs an article used to have: GET on one answers 301 to the current URL.
export const articleSlugHistory = sqliteTable('article_slug_history', {
  slug: text('slug').primaryKey(),
  articleId: integer('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' })
}, (t) => [index('article_slug_history_article_idx').on(t.articleId)])

// An article's history (src/revisions/): one row per revision, the current one included. The current
// revision's content is the articles row itself (kind `current`, no state or body here); an older one
// keeps the fields that differ from the revision after it and its body as a reverse delta (`delta`), or
// every field and the whole body compressed (`full`): every KEYFRAME_EVERY revisions, and whenever that
// is smaller. An article whose current revision has no row (written before this table existed, or by a
// bulk load) reads as that revision by author "unknown". Rows go with their article.
export const articleRevisions = sqliteTable('article_revisions', {
  articleId: integer('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  revision: integer('revision').notNull(),
  createdAt: integer('created_at').notNull(),
  // The name of the token that made the change, as it was then ("unknown" when not recorded).
  author: text('author').notNull(),
  // JSON array of the versioned fields this revision changed.
  changed: text('changed').notNull().default('[]'),
  restoredFrom: integer('restored_from'),
  kind: text('kind', { enum: ['current', 'delta', 'full'] }).notNull(),
  // JSON object: the versioned fields but the body (`full`), or those that differ from the next revision (`delta`).
  state: text('state'),
  // `full`: the body, brotli-compressed; `delta`: a JSON reverse delta from the next revision's body, or
  // NULL when the body did not change.
  body: blob('body', { mode: 'buffer' })
}, (t) => [primaryKey({ columns: [t.articleId, t.revision] })])

export const articleAuthors = sqliteTable('article_authors', {
  articleId: integer('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  name: text('name').notNull()
}, (t) => [
  primaryKey({ columns: [t.articleId, t.name] }),
  index('article_authors_name_idx').on(t.name, t.articleId)
])

export const tags = sqliteTable('tags', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  slug: text('slug').notNull(),
  name: text('name').notNull(),
  description: text('description'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  // Made through POST /v1/tags: the public sees it even before it has a visible article. A tag made
  // implicitly by an article is public only while it has one (so a draft's tags never leak).
  curated: integer('curated', { mode: 'boolean' }).notNull().default(false),
  // How many articles carry the tag: all of them (what editors see), the published ones whatever their
  // date, and the ones published by counts_settled.at. Kept by triggers (migrations/0009_bounded_counts_search.sql);
  // src/articles/counts.ts adds what became due since, so no request counts articles.
  totalArticles: integer('article_count').notNull().default(0),
  publishedArticles: integer('published_count').notNull().default(0),
  visibleArticles: integer('visible_count').notNull().default(0),
  // DELETE /v1/tags/{slug} sets it: every reader stops seeing the tag at once, and its article_tags rows
  // are removed afterwards in bounded slices (src/tags/sweeper.ts), so a tag on 200,000 articles does not
  // hold the database for seconds.
  deletedAt: integer('deleted_at')
}, (t) => [
  uniqueIndex('tags_slug_unique').on(t.slug).where(sql`deleted_at IS NULL`),
  index('tags_name_idx').on(sql`${t.name} COLLATE NOCASE`, t.id),
  // The public's lists walk only the tags it may see, by name or by count, however many hidden ones exist.
  index('tags_public_name_idx').on(sql`${t.name} COLLATE NOCASE`, t.id)
    .where(sql`deleted_at IS NULL AND (curated = 1 OR visible_count > 0)`),
  index('tags_public_count_idx').on(sql`${t.visibleArticles} DESC`, t.id)
    .where(sql`deleted_at IS NULL AND (curated = 1 OR visible_count > 0)`),
  index('tags_count_idx').on(sql`${t.totalArticles} DESC`, t.id).where(sql`deleted_at IS NULL`)
])

export const articleTags = sqliteTable('article_tags', {
  articleId: integer('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  tagId: integer('tag_id').notNull().references(() => tags.id, { onDelete: 'cascade' }),
  // Order in which the editor listed the tags: articles return them in this order.
  position: integer('position').notNull(),
  // The article's published_at while it is published, else NULL: kept by the triggers of
  // migrations/0017_public_tag_pages.sql, so that a tag's public page in date order is one range of
  // article_tags_public_idx (src/articles/listing/index.ts, publicTagPage).
  publicAt: integer('public_at')
}, (t) => [
  primaryKey({ columns: [t.articleId, t.tagId] }),
  index('article_tags_tag_idx').on(t.tagId, t.articleId),
  index('article_tags_public_idx').on(t.tagId, t.publicAt, t.articleId).where(sql`public_at IS NOT NULL`)
])

export const comments = sqliteTable('comments', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  articleId: integer('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  parentId: integer('parent_id').references((): AnySQLiteColumn => comments.id, { onDelete: 'set null' }),
  authorName: text('author_name').notNull(),
  authorEmail: text('author_email').notNull(),
  authorUrl: text('author_url'),
  avatarHash: text('avatar_hash').notNull(),
  body: text('body').notNull(),
  bodyHtml: text('body_html').notNull(),
  status: text('status', { enum: ['pending', 'approved', 'spam', 'trash', 'deleted'] }).notNull(),
  // Cleared after COMMENT_PRIVATE_DAYS (src/privacy/retention.ts), on tombstones and by erasure.
  ip: text('ip'),
  userAgent: text('user_agent'),
  // SHA-256 (hex) of the author's edit token, shown once in the 201; null when none was issued (comments
  // from before the edit window existed) and once the comment is a tombstone.
  editTokenHash: text('edit_token_hash'),
  // The body changed after posting (by its author or a moderator): shown publicly as `edited`.
  edited: integer('edited', { mode: 'boolean' }).notNull().default(false),
  // Distinct clients that reported the comment (comment_reports), kept here to sort the queue by it.
  reportCount: integer('report_count').notNull().default(0),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull()
}, (t) => [
  index('comments_article_status_idx').on(t.articleId, t.status, t.createdAt, t.id),
  index('comments_status_created_idx').on(t.status, t.createdAt, t.id),
  index('comments_created_idx').on(t.createdAt, t.id),
  index('comments_parent_idx').on(t.parentId),
  index('comments_email_status_idx').on(sql`lower(${t.authorEmail})`, t.status),
  // The moderation queue sorted by reports (then newest), with and without a status filter. Partial:
  // only reported comments are in them, so posting a comment (report_count 0) writes neither; the
  // unreported rest of the queue is read through the date indexes above.
  index('comments_reported_idx').on(t.reportCount, t.createdAt, t.id).where(sql`report_count > 0`),
  index('comments_status_reported_idx').on(t.status, t.reportCount, t.createdAt, t.id).where(sql`report_count > 0`),
  // The retention job's work list: only comments that still hold an IP or user agent, so each run reads
  // the last COMMENT_PRIVATE_DAYS of comments at most, not the whole table.
  index('comments_private_created_idx').on(t.createdAt).where(sql`ip IS NOT NULL OR user_agent IS NOT NULL`)
])

// Readers' reports of a comment, one per client: `reporter` is a keyed hash (HMAC under a server secret)
// of the client's identity (its IP, or its token), never the address itself, so a repeat is recognised
// without storing who sent it. Rows older than COMMENT_PRIVATE_DAYS are deleted by the retention job
// (the comment keeps its report_count).
export const commentReports = sqliteTable('comment_reports', {
  commentId: integer('comment_id').notNull().references(() => comments.id, { onDelete: 'cascade' }),
  reporter: text('reporter').notNull(),
  reason: text('reason', { enum: ['spam', 'abuse', 'off-topic', 'other'] }).notNull(),
  createdAt: integer('created_at').notNull()
}, (t) => [
  primaryKey({ columns: [t.commentId, t.reporter] }),
  index('comment_reports_created_idx').on(t.createdAt)
])

// Stored first responses of POSTs that carried an Idempotency-Key, replayed on retry for 24 hours.
export const idempotencyKeys = sqliteTable('idempotency_keys', {
  scope: text('scope').notNull(),
  key: text('key').notNull(),
  requestHash: text('request_hash').notNull(),
  statusCode: integer('status_code'),
  headers: text('headers'),
  body: text('body'),
  createdAt: integer('created_at').notNull()
}, (t) => [
  primaryKey({ columns: [t.scope, t.key] }),
  index('idempotency_keys_created_idx').on(t.createdAt)
])

// One row: when public content last changed in a way the rows a feed or sitemap shows cannot tell (an
// article edited, hidden, moved or deleted, a tag renamed, a comment withdrawn). Kept by triggers
// (migrations/0006_public_changes.sql); feeds and sitemaps use it for an honest Last-Modified.
export const publicChanges = sqliteTable('public_changes', {
  id: integer('id').primaryKey(),
  changedAt: integer('changed_at').notNull()
})

// One row (id 1): a number that moves whenever a tag's slug, name or deletion changes, or a tag row goes
// (triggers of migrations/0018_tag_refs_version.sql). Reads of articles take their tags as ids and name them
// from each process's dictionary (src/tags/tag-refs.ts), which is good for as long as this number has not moved.
export const tagRefsVersion = sqliteTable('tag_refs_version', {
  id: integer('id').primaryKey(),
  version: integer('version').notNull()
})

// Server-wide secrets and settings that must survive restarts (the avatar HMAC key).
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull()
})

// Article counts per section, per author and in all ('all', ''), kept by triggers like the tags' counts
// (same three columns), so `include=total` on those lists reads one row.
export const articleCounts = sqliteTable('article_counts', {
  kind: text('kind', { enum: ['all', 'section', 'author'] }).notNull(),
  key: text('key').notNull(),
  total: integer('total').notNull().default(0),
  published: integer('published').notNull().default(0),
  visible: integer('visible').notNull().default(0)
}, (t) => [primaryKey({ columns: [t.kind, t.key] })])

// One row: the time up to which the stored visible counts are settled (src/articles/counts.ts).
export const countsSettled = sqliteTable('counts_settled', {
  id: integer('id').primaryKey(),
  at: integer('at').notNull()
})

// How many articles contain each token of the search index (title, summary, body), kept by triggers with
// gazette_tokens() (native/gazette.c): a search prices its words and expands prefixes from it.
export const searchTerms = sqliteTable('search_terms', {
  term: text('term').primaryKey(),
  docs: integer('docs').notNull()
})

// Articles whose tags are being replaced in the current transaction: the article_tags triggers leave
// their search index entry alone, and the writer re-indexes each once at the end (src/tags/article-tags.ts).
export const searchReindexDeferred = sqliteTable('search_reindex_deferred', {
  articleId: integer('article_id').primaryKey()
})

// The event log (outbox): one row per change a consumer could care about, written in the same transaction
// as the change. `seq` orders the log; `id` is the public event id (the webhook-id of its deliveries).
export const events = sqliteTable('events', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  id: text('id').notNull(),
  type: text('type').notNull(),
  occurredAt: integer('occurred_at').notNull(),
  // The event's `data` as JSON text: only what the public may see.
  data: text('data').notNull(),
  // Set on a webhook.ping: meant for that webhook only, so neither listed nor fanned out.
  webhookId: integer('webhook_id').references((): AnySQLiteColumn => webhooks.id, { onDelete: 'cascade' })
}, (t) => [
  uniqueIndex('events_id_unique').on(t.id),
  index('events_type_idx').on(t.type, t.seq),
  index('events_occurred_idx').on(t.occurredAt),
  index('events_webhook_idx').on(t.webhookId),
  // The events that show a comment (its author's name and words), by comment id: an erasure redacts them
  // with one seek per erased comment, not a scan of the log (src/events/outbox.ts).
  index('events_comment_idx').on(sql`${t.data} ->> '$.id'`).where(sql`type IN ('comment.approved', 'comment.edited')`)
])

export const webhooks = sqliteTable('webhooks', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  url: text('url').notNull(),
  // JSON array of the event types delivered.
  events: text('events').notNull(),
  description: text('description'),
  // The signing secret, AES-256-GCM encrypted (src/webhooks/secrets.ts); never stored in clear.
  secret: text('secret').notNull(),
  // After a rotation, the old secret still signs (beside the new one) until this time.
  previousSecret: text('previous_secret'),
  previousSecretExpiresAt: integer('previous_secret_expires_at'),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  disabledAt: integer('disabled_at'),
  disabledReason: text('disabled_reason'),
  // When the current run of failed attempts began; null while deliveries succeed.
  failingSince: integer('failing_since'),
  // The last event (seq) turned into deliveries for this webhook.
  cursor: integer('cursor').notNull().default(0),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull()
})

export const webhookDeliveries = sqliteTable('webhook_deliveries', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  webhookId: integer('webhook_id').notNull().references(() => webhooks.id, { onDelete: 'cascade' }),
  eventSeq: integer('event_seq').notNull().references(() => events.seq, { onDelete: 'cascade' }),
  // Ordered deliveries go out one at a time, oldest first; pings and manual retries of finished ones do not wait.
  ordered: integer('ordered', { mode: 'boolean' }).notNull().default(true),
  status: text('status', { enum: ['pending', 'succeeded', 'failed'] }).notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: integer('next_attempt_at'),
  // A process sending it holds it until then; another may take it over after (its sender died).
  leaseUntil: integer('lease_until'),
  leaseOwner: text('lease_owner'),
  lastAttemptAt: integer('last_attempt_at'),
  lastResponseCode: integer('last_response_code'),
  lastError: text('last_error'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull()
}, (t) => [
  // The head of each webhook's queue (the oldest pending ordered delivery), and its pending pings.
  index('webhook_deliveries_queue_idx').on(t.webhookId, t.status, t.ordered, t.id),
  // A webhook's delivery log, newest first.
  index('webhook_deliveries_log_idx').on(t.webhookId, t.id),
  index('webhook_deliveries_event_idx').on(t.eventSeq)
])
