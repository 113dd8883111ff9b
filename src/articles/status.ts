// An article's status: one list (declared in src/db/schema.ts, where drizzle-kit reads it) and its type.
// Who may see an article of each status is src/articles/visibility.ts.
import { ARTICLE_STATUSES } from '../db/schema.js'

export { ARTICLE_STATUSES }
export type ArticleStatus = typeof ARTICLE_STATUSES[number]
/** The one status the public may see (once its publishedAt is due). */
export const PUBLISHED = 'published' satisfies ArticleStatus
