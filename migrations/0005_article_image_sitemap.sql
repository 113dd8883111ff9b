-- Article metadata for syndication (API.md section 8): a lead image and the canonical URL of republished
-- copy, nullable, so existing articles read as having neither. articles_sitemap_idx covers what a sitemap
-- lists of each published article, keyed by its block of 10,000 ids and then its lastmod (the later of its
-- update and its publication): a sitemap page is one range of it, a block's latest lastmod one seek.
CREATE TABLE `public_changes` (
	`id` integer PRIMARY KEY NOT NULL,
	`changed_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `articles` ADD `image_url` text;--> statement-breakpoint
ALTER TABLE `articles` ADD `image_alt` text;--> statement-breakpoint
ALTER TABLE `articles` ADD `image_caption` text;--> statement-breakpoint
ALTER TABLE `articles` ADD `image_credit` text;--> statement-breakpoint
ALTER TABLE `articles` ADD `canonical_url` text;--> statement-breakpoint
CREATE INDEX `articles_sitemap_idx` ON `articles` ((id - 1) / 10000,CASE WHEN updated_at > published_at THEN updated_at ELSE published_at END,`id`,`published_at`,`updated_at`,`slug`,`section`) WHERE status = 'published';