CREATE TABLE "article_representations" (
	"article_id" integer PRIMARY KEY NOT NULL,
	"json" text NOT NULL,
	"tags_at" integer NOT NULL,
	"count_at" integer NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "article_representations" ADD CONSTRAINT "article_representations_article_id_articles_id_fk" FOREIGN KEY ("article_id") REFERENCES "public"."articles"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
-- The safety net of SQLite's migration 0015: an update of any column the representation shows drops the
-- stored one; the writer stores the new one after its UPDATE, in the same transaction. Not comment_count
-- (spliced in at read time) nor announced (not shown).
CREATE FUNCTION article_representations_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM article_representations WHERE article_id = OLD.id;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER article_representations_stale AFTER UPDATE OF
	id, slug, title, summary, body, body_html, section, dateline, source, authors, status, published_at, created_at, updated_at,
	comments_open, revision, image_url, image_alt, image_caption, image_credit, canonical_url ON articles
FOR EACH ROW EXECUTE FUNCTION article_representations_stale();
--> statement-breakpoint
-- Every table tells the change clock of its writes (0003; test/pg/change-clock.test.ts checks each one).
CREATE TRIGGER gazette_notify_change AFTER INSERT OR UPDATE OR DELETE ON article_representations FOR EACH ROW EXECUTE FUNCTION gazette_notify_change();
--> statement-breakpoint
CREATE TRIGGER gazette_notify_truncate AFTER TRUNCATE ON article_representations FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_change();
