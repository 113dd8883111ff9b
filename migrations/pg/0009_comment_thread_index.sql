-- A thread as the public reads it (approved comments and tombstones, PUBLIC_THREAD in
-- src/articles/visibility.ts) in its order: a page is the first rows of one range, nothing filtered
-- (src/comments/repository.pg.ts, threadPage, which asks for it so that no index beginning with the date
-- can serve it). Built in the migration's transaction, so writes to comments wait while it is built
-- (seconds per million comments).
CREATE INDEX "comments_thread_idx" ON "comments" USING btree ("article_id","created_at","id") WHERE status IN ('approved', 'deleted');