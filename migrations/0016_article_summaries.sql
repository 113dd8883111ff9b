-- Each article's summary as lists show it, serialised at write time (src/articles/stored.ts), in a narrow
-- table of its own. Existing articles get theirs from the backfill at start (src/plugins/upkeep.ts); until
-- then their list items are assembled afresh.
CREATE TABLE `article_summaries` (
	`article_id` integer PRIMARY KEY NOT NULL,
	`json` text NOT NULL,
	`tags_at` integer NOT NULL,
	`count_at` integer NOT NULL,
	FOREIGN KEY (`article_id`) REFERENCES `articles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- What a list page reads of an article's row beside its summary, without the row's overflow pages.
CREATE INDEX `articles_listed_idx` ON `articles` (`id`,`status`,`published_at`,`updated_at`,`comment_count`);
--> statement-breakpoint
-- As article_representations_stale (0015), for the columns a summary shows: the body and its HTML are not
-- among them.
CREATE TRIGGER `article_summaries_stale` AFTER UPDATE OF
	id, slug, title, summary, section, dateline, source, authors, status, published_at, created_at, updated_at,
	comments_open, revision, image_url, image_alt, image_caption, image_credit, canonical_url ON articles
BEGIN
	DELETE FROM article_summaries WHERE article_id = old.id;
END;
