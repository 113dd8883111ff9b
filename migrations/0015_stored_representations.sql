-- Each article's representation, serialised at write time (src/articles/stored.ts). Existing articles get
-- theirs from the backfill at start (src/plugins/upkeep.ts); until then their reads assemble afresh.
CREATE TABLE `article_representations` (
	`article_id` integer PRIMARY KEY NOT NULL,
	`json` text NOT NULL,
	`tags_at` integer NOT NULL,
	`count_at` integer NOT NULL,
	`hash` text NOT NULL,
	FOREIGN KEY (`article_id`) REFERENCES `articles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- The safety net: an update of any column the representation shows drops the stored one; the writer
-- stores the new one after its UPDATE, in the same transaction. Not comment_count (spliced in at read
-- time) nor announced (not shown).
CREATE TRIGGER `article_representations_stale` AFTER UPDATE OF
	id, slug, title, summary, body, body_html, section, dateline, source, authors, status, published_at, created_at, updated_at,
	comments_open, revision, image_url, image_alt, image_caption, image_credit, canonical_url ON articles
BEGIN
	DELETE FROM article_representations WHERE article_id = old.id;
END;
