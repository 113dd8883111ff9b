-- A public page of a tag in date order, as one index range. Without it the page walked the published
-- articles newest first and probed article_tags for each: for a tag on 6% of 10,000 articles, 910 probes
-- (2,208 buffers) to find 21 (bench/README.md, "PostgreSQL: a tag's page from its own index").
-- article_tags.public_at is the article's published_at while it is published, else NULL, kept by the
-- triggers below; article_tags_public_idx (tag_id, public_at, article_id) holds the published rows only.
-- Filled before the index is built, so the index is built once over the final values. The articles are
-- locked against writes first: a publication committed by another process between the fill and the
-- triggers' creation would leave its tag rows behind. Every write of articles and article_tags takes the
-- event log's order lock before any table lock (src/events/outbox.pg.ts, EVENT_LOG_LOCK = 0x657674), so
-- this takes it first as well: then no writer is half way through a transaction (a PATCH holds its article
-- and reads its tags, then deletes them) when the tables are locked, and the table locks wait for readers
-- alone; locking the tables first could deadlock with such a PATCH.
-- What it costs: the fill writes a new version of every published article's tag rows (at a million
-- articles, a few million rows), and reads of article_tags wait until the migration commits.
SELECT pg_advisory_xact_lock(6649460);--> statement-breakpoint
LOCK TABLE articles, article_tags IN SHARE ROW EXCLUSIVE MODE;--> statement-breakpoint
ALTER TABLE "article_tags" ADD COLUMN "public_at" bigint;--> statement-breakpoint
-- An update of article_tags re-indexed the search documents of every article it touched. Now only those
-- whose tags changed (a row's article or tag): updating public_at or a position leaves the words alone.
-- (A statement trigger with transition tables cannot name columns, so the function tells them apart.)
CREATE OR REPLACE FUNCTION gazette_article_tags_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE articles a SET search = gazette_search_vector(a.title, a.summary, gazette_tag_ids(a.id), a.body)
		WHERE a.id IN (SELECT article_id FROM new_rows);
	ELSIF TG_OP = 'DELETE' THEN
		UPDATE articles a SET search = gazette_search_vector(a.title, a.summary, gazette_tag_ids(a.id), a.body)
		WHERE a.id IN (SELECT o.article_id FROM old_rows o JOIN tags t ON t.id = o.tag_id WHERE t.deleted_at IS NULL);
	ELSE
		UPDATE articles a SET search = gazette_search_vector(a.title, a.summary, gazette_tag_ids(a.id), a.body)
		WHERE a.id IN (
			SELECT article_id FROM ((SELECT article_id, tag_id FROM old_rows EXCEPT SELECT article_id, tag_id FROM new_rows)
				UNION (SELECT article_id, tag_id FROM new_rows EXCEPT SELECT article_id, tag_id FROM old_rows)) AS changed);
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
-- The backfill changes no tag and no public answer: no re-indexing, no notifications (a million articles'
-- tag rows would send one each).
ALTER TABLE article_tags DISABLE TRIGGER gazette_notify_change;--> statement-breakpoint
ALTER TABLE article_tags DISABLE TRIGGER article_search_tags_au;--> statement-breakpoint
UPDATE article_tags m SET public_at = a.published_at FROM articles a WHERE a.id = m.article_id AND a.status = 'published';--> statement-breakpoint
ALTER TABLE article_tags ENABLE TRIGGER gazette_notify_change;--> statement-breakpoint
ALTER TABLE article_tags ENABLE TRIGGER article_search_tags_au;--> statement-breakpoint
CREATE INDEX "article_tags_public_idx" ON "article_tags" USING btree ("tag_id","public_at" NULLS FIRST,"article_id") WHERE public_at IS NOT NULL;--> statement-breakpoint
-- The planner's statistics of the new column, now rather than at autovacuum's next look.
ANALYZE article_tags;--> statement-breakpoint
-- A new tag row takes its article's state (the article row exists: article_tags references it).
CREATE FUNCTION gazette_article_tag_public_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.public_at := (SELECT CASE WHEN a.status = 'published' THEN a.published_at END FROM articles a WHERE a.id = NEW.article_id);
	RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER article_tags_public_at_bi BEFORE INSERT ON article_tags
	FOR EACH ROW EXECUTE FUNCTION gazette_article_tag_public_at();
--> statement-breakpoint
-- An article published, unpublished or re-dated: its tag rows follow.
CREATE FUNCTION gazette_article_public_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE article_tags SET public_at = CASE WHEN NEW.status = 'published' THEN NEW.published_at END
	WHERE article_id = NEW.id;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER articles_public_at_au AFTER UPDATE OF status, published_at ON articles
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.published_at IS DISTINCT FROM NEW.published_at)
	EXECUTE FUNCTION gazette_article_public_at();
