-- src/db/schema.ts dropped these before the first release; 0000_init.sql still made them.
DROP INDEX `tokens_created_idx`;--> statement-breakpoint
ALTER TABLE `tokens` DROP COLUMN `last_used_at`;