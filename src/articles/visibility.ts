// Who sees an article, and so everything under it: its comments (threads, single comments, posting,
// moderation) are seen exactly when the article is. Editors and admins see every article; everyone else,
// moderators included, sees an article once it is published and its publishedAt is due ("public at" a
// time). The rule lives here, once, in each form the code needs:
// - on a row, in JavaScript: isPublicAt, isVisible, commentVisible;
// - for Drizzle queries: publicAtSql (one term) and publicAtTerms (the article list's two filters);
// - as raw SQL text for prepared statements: publicAtText, and scheduledAfterText for its complement
//   (published, not yet due). The literal 'published' stays in the text: partial indexes
//   (articles_sitemap_idx, articles_unannounced_idx) are chosen only when a query repeats their condition;
// - the caller's view, worked out once per request: viewOf.
// Spelled elsewhere, and not changeable from here: the triggers of migrations 0006, 0009 and 0011 (and the
// partial index conditions of 0005 and 0013), and on PostgreSQL those of pg/0002 and pg/0011 (a tag row's
// public_at, compared with the time by src/articles/listing/index.pg.ts), write the rule in their own SQL, and a migration is fixed once
// applied: changing the rule means a new migration as well as this file. Spelled elsewhere on purpose, each
// saying so: the due *ranges* (published, due in (lo, hi]) of src/articles/counts.ts (`due`) and the
// announcements' `announced = 0` queries (src/articles/announcements.ts), which read their own partial index.
import type { FastifyRequest } from 'fastify'
import { sql, type Placeholder, type SQL } from 'drizzle-orm'
import { articles } from '../db/schema.js'
import { hasRole } from '../plugins/auth.js'
import type { CommentStatus } from '../comments/schemas.js'
import { PUBLISHED, type ArticleStatus } from './status.js'

/** What the caller may see of articles: `visibleAt` for the public (published and due then), `null` for editors (everything). */
export type Visibility = { visibleAt: number } | null

/** The columns the rule reads. */
export interface Publication { status: ArticleStatus, publishedAt: number | null }

/** Whether the public sees an article at `at`: published, and its publishedAt is due. */
export const isPublicAt = (a: Publication, at: number): boolean =>
  a.status === PUBLISHED && a.publishedAt !== null && a.publishedAt <= at

/** Whether a caller with visibility `v` sees an article. */
export const isVisible = (a: Publication, v: Visibility): boolean => v === null || isPublicAt(a, v.visibleAt)

/** The rule as one Drizzle term over `articles`, parenthesised, for queries joined to articles (`at` may be a placeholder of a prepared statement). */
export const publicAtSql = (at: number | Placeholder): SQL =>
  sql`(${articles.status} = ${sql.raw(`'${PUBLISHED}'`)} AND ${articles.publishedAt} <= ${at})`

/**
 * The rule as the article list's two filters, to be and()-ed with its others: the status bound as a
 * parameter, as the list binds an editor's status filter (its plans are tested in query-plan.test.ts), and
 * planner hints (a unary `+`, see src/articles/listing/index.ts) on either term.
 */
export const publicAtTerms = (at: number | Placeholder, hint: { status: boolean, due: boolean }): [SQL, SQL] => [
  sql`${sql.raw(hint.status ? '+' : '')}${articles.status} = ${PUBLISHED}`,
  sql`${sql.raw(hint.due ? '+' : '')}${articles.publishedAt} <= ${at}`
]

/** The rule as raw SQL text over `alias` ('' or 'a.'), due at the parameter `bound` ('?' or '@now'). */
export const publicAtText = (alias = '', bound = '?'): string =>
  `${alias}status = '${PUBLISHED}' AND ${alias}published_at <= ${bound}`

/** Its complement among published articles, as raw SQL text: published but not yet due at `bound` (scheduled). */
export const scheduledAfterText = (alias = '', bound = '?'): string =>
  `${alias}status = '${PUBLISHED}' AND ${alias}published_at > ${bound}`

/** Who is asking, worked out once per request: what they see of articles at `at`, and their roles. */
export interface View {
  at: number
  articles: Visibility
  /** Editors and above: every article, every status. */
  editor: boolean
  /** Moderators and above: every comment of the articles they see, with its private fields. */
  moderator: boolean
}

/** The caller's view at `now`. */
export function viewOf (request: FastifyRequest, now: number): View {
  const editor = hasRole(request, 'editor')
  return { at: now, articles: editor ? null : { visibleAt: now }, editor, moderator: hasRole(request, 'moderator') }
}

/** What a comment record carries of itself and its article. */
export interface CommentPlace { status: string, articleStatus: ArticleStatus, articlePublishedAt: number | null }

/** Whether the caller sees a comment: its article first (moderators too), then approved ones only unless a moderator. */
export const commentVisible = (v: View, c: CommentPlace): boolean =>
  isVisible({ status: c.articleStatus, publishedAt: c.articlePublishedAt }, v.articles) && (v.moderator || c.status === 'approved')

/** Whether a comment's author (who acts as the public does) still reaches it: not a tombstone, on an article public at `at`. */
export const authorReaches = (c: CommentPlace, at: number): boolean =>
  c.status !== 'deleted' && isPublicAt({ status: c.articleStatus, publishedAt: c.articlePublishedAt }, at)

/** What everyone sees of a thread: approved comments and the tombstones that hold replies together. */
export const PUBLIC_THREAD: readonly CommentStatus[] = ['approved', 'deleted']

/** The statuses a thread lists: the one asked for (moderators only; the route refuses the rest), all for `any`, else PUBLIC_THREAD. */
export const threadStatuses = (asked: CommentStatus | 'any' | undefined): CommentStatus[] | undefined =>
  asked === undefined ? [...PUBLIC_THREAD] : asked === 'any' ? undefined : [asked]
