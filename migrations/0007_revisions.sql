-- Article history (src/revisions/). No backfill: an article whose current revision has no row here (every
-- article written before this migration, or loaded outside the API) reads as that one revision, by author
-- "unknown", with its current content; its first change through the API stores that state as the row.
CREATE TABLE `article_revisions` (
	`article_id` integer NOT NULL,
	`revision` integer NOT NULL,
	`created_at` integer NOT NULL,
	`author` text NOT NULL,
	`changed` text DEFAULT '[]' NOT NULL,
	`restored_from` integer,
	`kind` text NOT NULL,
	`state` text,
	`body` blob,
	PRIMARY KEY(`article_id`, `revision`),
	FOREIGN KEY (`article_id`) REFERENCES `articles`(`id`) ON UPDATE no action ON DELETE cascade
);
