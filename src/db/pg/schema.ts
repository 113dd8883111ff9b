// Drizzle tables for PostgreSQL: the same storage as src/db/schema.ts (SQLite), table for table and
// column for column, so both engines answer every route alike and `db:copy` moves rows across unchanged.
// drizzle-kit turns changes here into migrations/pg/ (drizzle.pg.config.ts); what it cannot express (the
// text search configuration, the triggers that keep counts, the search column and the public change
// clock) is in the custom migrations there. Change this file together with src/db/schema.ts.
//
// Types, chosen per column:
// - Ids of content (articles, tags, comments, tokens, webhooks) are `integer` identities: 2^31 is far more
//   articles or comments than one publication makes, and they stay 4 bytes in every index that carries
//   them. They are `BY DEFAULT`, not `ALWAYS`, so `db:copy` can insert the SQLite ids as they are (it
//   moves each sequence past them afterwards). Identities never hand out an id twice, like SQLite's
//   AUTOINCREMENT: a deleted article's id is not reused.
// - Counters of activity rather than content, the event log's `seq` and webhook delivery ids, are
//   `bigint`: they grow with every change and every delivery attempt for the life of the database.
// - Timestamps are `bigint` milliseconds since the epoch, as in SQLite (1.7e12 does not fit in 32 bits),
//   read as JavaScript numbers (`mode: 'number'`; exact up to 2^53 ms, the year 287,396). Not
//   `timestamptz`: the repositories compare, sort and page by these numbers on both engines alike.
// - Enumerations are `text` with a CHECK constraint: SQLite keeps them as text, the API's values are the
//   stored ones, and adding a value later is a constraint swap rather than an `ALTER TYPE`.
// - Booleans are `boolean`. JSON (authors, event data, webhook event types) stays `text`: the bytes of an
//   event's data are what a webhook signs, and jsonb would reorder its keys.
//
// SQLite-only tables have no counterpart here: the FTS5 index and its helpers (article_search,
// article_search_tags, tag_search, search_reindex_deferred) are the `search` column below, its GIN index
// and the statement-level triggers of migrations/pg/0002_triggers.sql. search_terms is kept: the search
// planner prices words and expands prefixes from it on both engines, so both refuse the same searches.
// article_summaries and articles_listed_idx (lists read from stored summaries, src/articles/stored.ts) work
// around SQLite's rows, whose listed columns lie behind the body in overflow pages; PostgreSQL keeps a long
// body out of line (TOAST) and assembles its list items from the rows.
import { sql } from 'drizzle-orm'
import {
  pgTable, integer, bigint, text, boolean, customType, index, uniqueIndex, primaryKey, check, type AnyPgColumn
} from 'drizzle-orm/pg-core'

/** A weighted document of lexemes (PostgreSQL's `tsvector`), read as its text form. */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' })
/** Bytes (`bytea`): a compressed revision body or a reverse delta. */
const bytea = customType<{ data: Buffer, driverData: Buffer }>({ dataType: () => 'bytea' })

// The one list is src/db/schema.ts's; repeated, not imported, because drizzle-kit cannot resolve the `.js`
// imports of TypeScript files (drizzle-orm#1561). test/pg/schema.test.ts checks that the two agree.
const ARTICLE_STATUSES = ['draft', 'published', 'archived'] as const

const ms = (name: string) => bigint(name, { mode: 'number' })
const oneOf = (column: string, values: readonly string[]) =>
  sql.raw(`${column} IN (${values.map((v) => `'${v}'`).join(', ')})`)

export const tokens = pgTable('tokens', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull(),
  role: text('role', { enum: ['admin', 'editor', 'moderator'] }).notNull(),
  // SHA-256 of the secret, hex. The secret itself is never stored.
  tokenHash: text('token_hash').notNull(),
  createdAt: ms('created_at').notNull()
}, (t) => [
  uniqueIndex('tokens_token_hash_unique').on(t.tokenHash),
  check('tokens_role_check', oneOf('role', ['admin', 'editor', 'moderator']))
])

export const articles = pgTable('articles', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
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
  publishedAt: ms('published_at'),
  createdAt: ms('created_at').notNull(),
  updatedAt: ms('updated_at').notNull(),
  commentsOpen: boolean('comments_open').notNull().default(true),
  commentCount: integer('comment_count').notNull().default(0),
  revision: integer('revision').notNull().default(1),
  imageUrl: text('image_url'),
  imageAlt: text('image_alt'),
  imageCaption: text('image_caption'),
  imageCredit: text('image_credit'),
  canonicalUrl: text('canonical_url'),
  announced: boolean('announced').notNull().default(false),
  // The full-text document, kept by triggers (migrations/pg/0002_triggers.sql, gazette_search_vector):
  // title weighted A, summary and tag tokens B, body C — ranked with weights 1.0, 0.4 and 0.1, the
  // ratios of the SQLite index's 10 : 4 : 4 : 1 (src/articles/search-index.ts). Not a generated column:
  // PostgreSQL recomputes those on every UPDATE of the row (a comment count, an announcement), and this
  // one also holds the article's tags, which live in another table. Select it only to search.
  search: tsvector('search').notNull().default(sql`''::tsvector`)
}, (t) => [
  uniqueIndex('articles_slug_unique').on(t.slug),
  // Every sort key NULLS FIRST: SQLite sorts NULLs first ascending (and last descending), src/db/pg/keyset.ts
  // orders the same way, and a page is an index range only when the index holds the rows in that order —
  // also for a NOT NULL column (updated_at), since PostgreSQL's planner matches the NULLS direction of an
  // ORDER BY to the index's even where no NULL can occur. Test: test/pg/keyset.test.ts.
  index('articles_status_published_idx').on(t.status, t.publishedAt.asc().nullsFirst(), t.id),
  index('articles_published_idx').on(t.publishedAt.asc().nullsFirst(), t.id),
  index('articles_updated_idx').on(t.updatedAt.asc().nullsFirst(), t.id),
  index('articles_status_updated_idx').on(t.status, t.updatedAt.asc().nullsFirst(), t.id, t.publishedAt),
  index('articles_section_idx').on(t.section, t.publishedAt.asc().nullsFirst(), t.id),
  index('articles_section_status_idx').on(t.section, t.status, t.publishedAt.asc().nullsFirst(), t.id),
  // The narrow copy SQLite needs because its rows keep these columns behind the body: PostgreSQL rows
  // keep a long body out of line (TOAST), but the index still answers visibility checks by id with an
  // index-only scan, and sorts a tag's or a search's articles by either date.
  index('articles_visibility_idx').on(t.id, t.status, t.publishedAt, t.section, t.updatedAt),
  // Sitemap pages: blocks of 10,000 ids, then lastmod (src/syndication/repository.ts repeats these
  // expressions). greatest() ignores NULLs where SQLite's CASE does not, but published rows always
  // have published_at.
  index('articles_sitemap_idx').on(sql`((${t.id} - 1) / 10000)`, sql`(greatest(${t.updatedAt}, ${t.publishedAt}))`, t.id, t.publishedAt, t.updatedAt, t.slug, t.section)
    .where(sql`status = 'published'`),
  index('articles_unannounced_idx').on(t.publishedAt, t.id).where(sql`status = 'published' AND NOT announced`),
  // No pending list (fastupdate off, migrations/pg/0010): with it, every search scanned up to 4 MB of
  // entries not yet merged (gin_pending_list_limit), 79 ms of a 2 ms search on the bench's copy, and the
  // planner, counting those pages, preferred a sequential scan. Article writes are rare; each merges its
  // few hundred entries at once.
  index('articles_search_idx').using('gin', t.search).with({ fastupdate: false }),
  check('articles_status_check', oneOf('status', ARTICLE_STATUSES))
])

// Each article's representation, serialised at write time (src/articles/stored.ts; see src/db/schema.ts).
// The trigger that drops it when a represented column changes is in the custom migration beside this
// table's; the offsets are UTF-16 code units of `json`, as JavaScript counts them, on both engines.
export const articleRepresentations = pgTable('article_representations', {
  articleId: integer('article_id').primaryKey().references(() => articles.id, { onDelete: 'cascade' }),
  json: text('json').notNull(),
  tagsAt: integer('tags_at').notNull(),
  countAt: integer('count_at').notNull(),
  hash: text('hash').notNull()
})

export const articleSlugHistory = pgTable('article_slug_history', {
  slug: text('slug').primaryKey(),
  articleId: integer('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' })
}, (t) => [index('article_slug_history_article_idx').on(t.articleId)])

export const articleRevisions = pgTable('article_revisions', {
  articleId: integer('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  revision: integer('revision').notNull(),
  createdAt: ms('created_at').notNull(),
  author: text('author').notNull(),
  changed: text('changed').notNull().default('[]'),
  restoredFrom: integer('restored_from'),
  kind: text('kind', { enum: ['current', 'delta', 'full'] }).notNull(),
  state: text('state'),
  body: bytea('body')
}, (t) => [
  primaryKey({ columns: [t.articleId, t.revision] }),
  check('article_revisions_kind_check', oneOf('kind', ['current', 'delta', 'full']))
])

export const articleAuthors = pgTable('article_authors', {
  articleId: integer('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  name: text('name').notNull()
}, (t) => [
  primaryKey({ columns: [t.articleId, t.name] }),
  index('article_authors_name_idx').on(t.name, t.articleId)
])

// SQLite orders tag names with COLLATE NOCASE (ASCII letters folded, then bytes); lower() under the "C"
// collation is the same order for every name in ASCII and folds other letters too, where NOCASE does not.
const tagNameKey = (name: AnyPgColumn) => sql`(lower(${name}) COLLATE "C")`

export const tags = pgTable('tags', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  slug: text('slug').notNull(),
  name: text('name').notNull(),
  description: text('description'),
  createdAt: ms('created_at').notNull(),
  updatedAt: ms('updated_at').notNull(),
  curated: boolean('curated').notNull().default(false),
  // Kept by triggers, as in SQLite (migrations/pg/0002_triggers.sql).
  totalArticles: integer('article_count').notNull().default(0),
  publishedArticles: integer('published_count').notNull().default(0),
  visibleArticles: integer('visible_count').notNull().default(0),
  deletedAt: ms('deleted_at')
}, (t) => [
  uniqueIndex('tags_slug_unique').on(t.slug).where(sql`deleted_at IS NULL`),
  index('tags_name_idx').on(tagNameKey(t.name), t.id),
  index('tags_public_name_idx').on(tagNameKey(t.name), t.id)
    .where(sql`deleted_at IS NULL AND (curated OR visible_count > 0)`),
  index('tags_public_count_idx').on(sql`${t.visibleArticles} DESC`, t.id)
    .where(sql`deleted_at IS NULL AND (curated OR visible_count > 0)`),
  index('tags_count_idx').on(sql`${t.totalArticles} DESC`, t.id).where(sql`deleted_at IS NULL`),
  // What SQLite's tag_search (FTS5) answers: the tags a search word names, by their names' lexemes.
  index('tags_search_idx').using('gin', sql`to_tsvector('gazette'::regconfig, ${t.name})`).with({ fastupdate: false }).where(sql`deleted_at IS NULL`)
])

export const articleTags = pgTable('article_tags', {
  articleId: integer('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  tagId: integer('tag_id').notNull().references(() => tags.id, { onDelete: 'cascade' }),
  position: integer('position').notNull(),
  // The article's published_at while it is published, else NULL: kept by triggers (migrations/pg/0011), so a
  // public page of a tag is one range of article_tags_public_idx in date order (src/articles/listing/index.pg.ts).
  publicAt: ms('public_at')
}, (t) => [
  primaryKey({ columns: [t.articleId, t.tagId] }),
  index('article_tags_tag_idx').on(t.tagId, t.articleId),
  index('article_tags_public_idx').on(t.tagId, t.publicAt.asc().nullsFirst(), t.articleId).where(sql`public_at IS NOT NULL`)
])

const COMMENT_STATUSES = ['pending', 'approved', 'spam', 'trash', 'deleted'] as const

export const comments = pgTable('comments', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  articleId: integer('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  parentId: integer('parent_id').references((): AnyPgColumn => comments.id, { onDelete: 'set null' }),
  authorName: text('author_name').notNull(),
  authorEmail: text('author_email').notNull(),
  authorUrl: text('author_url'),
  avatarHash: text('avatar_hash').notNull(),
  body: text('body').notNull(),
  bodyHtml: text('body_html').notNull(),
  status: text('status', { enum: COMMENT_STATUSES }).notNull(),
  ip: text('ip'),
  userAgent: text('user_agent'),
  editTokenHash: text('edit_token_hash'),
  edited: boolean('edited').notNull().default(false),
  reportCount: integer('report_count').notNull().default(0),
  createdAt: ms('created_at').notNull(),
  updatedAt: ms('updated_at').notNull()
}, (t) => [
  index('comments_article_status_idx').on(t.articleId, t.status, t.createdAt, t.id),
  index('comments_status_created_idx').on(t.status, t.createdAt, t.id),
  index('comments_created_idx').on(t.createdAt, t.id),
  // A thread as the public reads it (PUBLIC_THREAD, src/articles/visibility.ts), in its order: a page is the
  // first rows of one range, read without a filter (src/comments/repository.pg.ts, threadPage).
  index('comments_thread_idx').on(t.articleId, t.createdAt, t.id).where(sql`status IN ('approved', 'deleted')`),
  index('comments_parent_idx').on(t.parentId),
  index('comments_email_status_idx').on(sql`lower(${t.authorEmail})`, t.status),
  index('comments_reported_idx').on(t.reportCount, t.createdAt, t.id).where(sql`report_count > 0`),
  index('comments_status_reported_idx').on(t.status, t.reportCount, t.createdAt, t.id).where(sql`report_count > 0`),
  index('comments_private_created_idx').on(t.createdAt).where(sql`ip IS NOT NULL OR user_agent IS NOT NULL`),
  check('comments_status_check', oneOf('status', COMMENT_STATUSES))
])

const REPORT_REASONS = ['spam', 'abuse', 'off-topic', 'other'] as const

export const commentReports = pgTable('comment_reports', {
  commentId: integer('comment_id').notNull().references(() => comments.id, { onDelete: 'cascade' }),
  reporter: text('reporter').notNull(),
  reason: text('reason', { enum: REPORT_REASONS }).notNull(),
  createdAt: ms('created_at').notNull()
}, (t) => [
  primaryKey({ columns: [t.commentId, t.reporter] }),
  index('comment_reports_created_idx').on(t.createdAt),
  check('comment_reports_reason_check', oneOf('reason', REPORT_REASONS))
])

export const idempotencyKeys = pgTable('idempotency_keys', {
  scope: text('scope').notNull(),
  key: text('key').notNull(),
  requestHash: text('request_hash').notNull(),
  statusCode: integer('status_code'),
  headers: text('headers'),
  body: text('body'),
  createdAt: ms('created_at').notNull()
}, (t) => [
  primaryKey({ columns: [t.scope, t.key] }),
  index('idempotency_keys_created_idx').on(t.createdAt)
])

// One row (id 1), moved by triggers (migrations/pg/0002_triggers.sql) on the database's clock.
export const publicChanges = pgTable('public_changes', {
  id: integer('id').primaryKey(),
  changedAt: ms('changed_at').notNull()
})

// One row (id 1), moved by triggers (migrations/pg/0012_tag_refs_version.sql) whenever a tag's slug, name
// or deletion changes, or a tag row goes: the version of each process's tag dictionary (src/tags/tag-refs.ts).
// Since migrations/pg/0014_tag_refs_random_steps.sql a tag's insert moves it too, each move a random step,
// wrapping before 2^31.
export const tagRefsVersion = pgTable('tag_refs_version', {
  id: integer('id').primaryKey(),
  version: integer('version').notNull()
})

// One row (id 1), moved by triggers (migrations/pg/0013_search_plan_version.sql) whenever what a search's plan
// is made of changes: a word's count in search_terms, or a tag's slug, name, deletion or article count. Each
// process keeps the plans of plain ranked searches at the version they were made at (src/articles/search-index.pg.ts).
export const searchPlanVersion = pgTable('search_plan_version', {
  id: integer('id').primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull()
})

// PostgreSQL only: the flood-control counters (COMMENT_RATE_LIMIT, SEARCH_RATE_LIMIT) of every process
// on this database, one row per allowance and client (src/db/pg/rate-limits.ts). On SQLite each
// process counts in its own memory. `client` is a keyed hash of the address, never the address itself.
// UNLOGGED (migrations/pg/0006): counters are not worth a WAL write each, and a crash empties them.
export const rateLimits = pgTable('rate_limits', {
  scope: text('scope').notNull(),
  client: text('client').notNull(),
  windowStart: ms('window_start').notNull(),
  expiresAt: ms('expires_at').notNull(),
  hits: integer('hits').notNull()
}, (t) => [
  primaryKey({ columns: [t.scope, t.client] }),
  index('rate_limits_expires_idx').on(t.expiresAt)
])

export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull()
})

export const articleCounts = pgTable('article_counts', {
  kind: text('kind', { enum: ['all', 'section', 'author'] }).notNull(),
  key: text('key').notNull(),
  total: integer('total').notNull().default(0),
  published: integer('published').notNull().default(0),
  visible: integer('visible').notNull().default(0)
}, (t) => [
  primaryKey({ columns: [t.kind, t.key] }),
  check('article_counts_kind_check', oneOf('kind', ['all', 'section', 'author']))
])

export const countsSettled = pgTable('counts_settled', {
  id: integer('id').primaryKey(),
  at: ms('at').notNull()
})

// How many articles hold each lexeme of their title, summary and body (the `gazette` text search
// configuration's lexemes, not SQLite's tokens), kept by triggers: the search planner's prices.
export const searchTerms = pgTable('search_terms', {
  term: text('term').primaryKey(),
  docs: integer('docs').notNull()
})

export const events = pgTable('events', {
  seq: bigint('seq', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
  id: text('id').notNull(),
  type: text('type').notNull(),
  occurredAt: ms('occurred_at').notNull(),
  data: text('data').notNull(),
  webhookId: integer('webhook_id').references((): AnyPgColumn => webhooks.id, { onDelete: 'cascade' })
}, (t) => [
  uniqueIndex('events_id_unique').on(t.id),
  index('events_type_idx').on(t.type, t.seq),
  index('events_occurred_idx').on(t.occurredAt),
  index('events_webhook_idx').on(t.webhookId),
  // SQLite's `data ->> '$.id'`: the comment id of the events that show a comment. The data is JSON text
  // (see the top of this file), cast for the index; a query must repeat the expression exactly.
  index('events_comment_idx').on(sql`((${t.data}::jsonb) ->> 'id')`).where(sql`type IN ('comment.approved', 'comment.edited')`)
])

export const webhooks = pgTable('webhooks', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  url: text('url').notNull(),
  events: text('events').notNull(),
  description: text('description'),
  secret: text('secret').notNull(),
  previousSecret: text('previous_secret'),
  previousSecretExpiresAt: ms('previous_secret_expires_at'),
  enabled: boolean('enabled').notNull().default(true),
  disabledAt: ms('disabled_at'),
  disabledReason: text('disabled_reason'),
  failingSince: ms('failing_since'),
  // An event seq: bigint, as events.seq.
  cursor: bigint('cursor', { mode: 'number' }).notNull().default(0),
  createdAt: ms('created_at').notNull(),
  updatedAt: ms('updated_at').notNull()
})

const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const

export const webhookDeliveries = pgTable('webhook_deliveries', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
  webhookId: integer('webhook_id').notNull().references(() => webhooks.id, { onDelete: 'cascade' }),
  eventSeq: bigint('event_seq', { mode: 'number' }).notNull().references(() => events.seq, { onDelete: 'cascade' }),
  ordered: boolean('ordered').notNull().default(true),
  status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: ms('next_attempt_at'),
  leaseUntil: ms('lease_until'),
  leaseOwner: text('lease_owner'),
  lastAttemptAt: ms('last_attempt_at'),
  lastResponseCode: integer('last_response_code'),
  lastError: text('last_error'),
  createdAt: ms('created_at').notNull(),
  updatedAt: ms('updated_at').notNull()
}, (t) => [
  index('webhook_deliveries_queue_idx').on(t.webhookId, t.status, t.ordered, t.id),
  index('webhook_deliveries_log_idx').on(t.webhookId, t.id),
  index('webhook_deliveries_event_idx').on(t.eventSeq),
  check('webhook_deliveries_status_check', oneOf('status', DELIVERY_STATUSES))
])
