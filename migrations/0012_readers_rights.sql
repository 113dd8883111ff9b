CREATE TABLE `comment_reports` (
	`comment_id` integer NOT NULL,
	`reporter` text NOT NULL,
	`reason` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`comment_id`, `reporter`),
	FOREIGN KEY (`comment_id`) REFERENCES `comments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `comment_reports_created_idx` ON `comment_reports` (`created_at`);--> statement-breakpoint
ALTER TABLE `comments` ADD `edit_token_hash` text;--> statement-breakpoint
ALTER TABLE `comments` ADD `edited` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `comments` ADD `report_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `comments_reported_idx` ON `comments` (`report_count`,`created_at`,`id`) WHERE report_count > 0;--> statement-breakpoint
CREATE INDEX `comments_status_reported_idx` ON `comments` (`status`,`report_count`,`created_at`,`id`) WHERE report_count > 0;--> statement-breakpoint
CREATE INDEX `comments_private_created_idx` ON `comments` (`created_at`) WHERE ip IS NOT NULL OR user_agent IS NOT NULL;