CREATE TABLE `article_counts` (
	`kind` text NOT NULL,
	`key` text NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`published` integer DEFAULT 0 NOT NULL,
	`visible` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`kind`, `key`)
);
--> statement-breakpoint
CREATE TABLE `counts_settled` (
	`id` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `search_reindex_deferred` (
	`article_id` integer PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE `search_terms` (
	`term` text PRIMARY KEY NOT NULL,
	`docs` integer NOT NULL
);
--> statement-breakpoint
DROP INDEX `tags_slug_unique`;--> statement-breakpoint
ALTER TABLE `tags` ADD `curated` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `tags` ADD `article_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `tags` ADD `published_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `tags` ADD `visible_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `tags` ADD `deleted_at` integer;--> statement-breakpoint
CREATE INDEX `tags_public_name_idx` ON `tags` ("name" COLLATE NOCASE,`id`) WHERE deleted_at IS NULL AND (curated = 1 OR visible_count > 0);--> statement-breakpoint
CREATE INDEX `tags_public_count_idx` ON `tags` ("visible_count" DESC,`id`) WHERE deleted_at IS NULL AND (curated = 1 OR visible_count > 0);--> statement-breakpoint
CREATE INDEX `tags_count_idx` ON `tags` ("article_count" DESC,`id`) WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `tags_slug_unique` ON `tags` (`slug`) WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE INDEX `articles_section_status_idx` ON `articles` (`section`,`status`,`published_at`,`id`);