-- A thread as the public reads it (approved comments and tombstones, PUBLIC_THREAD in
-- src/articles/visibility.ts) in its order: a page is the first rows of one range, nothing filtered, so the
-- planner prefers it to comments_created_idx, which it walked from the site's first comment when it guessed
-- the article's share of all comments (src/comments/repository.pg.ts, statusIn). Built in the migration's
-- transaction, so writes to comments wait while it is built (seconds per million comments).
CREATE INDEX "comments_thread_idx" ON "comments" USING btree ("article_id","created_at","id") WHERE status IN ('approved', 'deleted');