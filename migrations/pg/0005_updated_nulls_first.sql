DROP INDEX "articles_updated_idx";--> statement-breakpoint
DROP INDEX "articles_status_updated_idx";--> statement-breakpoint
CREATE INDEX "articles_updated_idx" ON "articles" USING btree ("updated_at" NULLS FIRST,"id");--> statement-breakpoint
CREATE INDEX "articles_status_updated_idx" ON "articles" USING btree ("status","updated_at" NULLS FIRST,"id","published_at");