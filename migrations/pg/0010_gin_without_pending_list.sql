-- The search indexes keep no pending list (src/db/pg/schema.ts says why: a search scanned up to 4 MB of
-- unmerged entries, and the planner then preferred a sequential scan of every article). Altered, not
-- rebuilt: a rebuild at a million articles takes minutes. Turning fastupdate off keeps new entries out of
-- the list; gin_clean_pending_list merges what is already in it (PostgreSQL's documentation,
-- "GIN Fast Update Technique").
ALTER INDEX "articles_search_idx" SET (fastupdate = off);--> statement-breakpoint
ALTER INDEX "tags_search_idx" SET (fastupdate = off);--> statement-breakpoint
SELECT gin_clean_pending_list('articles_search_idx');--> statement-breakpoint
SELECT gin_clean_pending_list('tags_search_idx');
