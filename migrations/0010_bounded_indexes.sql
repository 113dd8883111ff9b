DROP INDEX `articles_status_updated_idx`;--> statement-breakpoint
DROP INDEX `articles_visibility_idx`;--> statement-breakpoint
CREATE INDEX `articles_status_updated_idx` ON `articles` (`status`,`updated_at`,`id`,`published_at`);--> statement-breakpoint
CREATE INDEX `articles_visibility_idx` ON `articles` (`id`,`status`,`published_at`,`section`,`updated_at`);