-- A public page of a tag in date order, as one index range (PostgreSQL has had it since
-- migrations/pg/0011). Without it a tag's page either sorted all of the tag's articles by date (a tag with
-- fewer than about a thousand: its cost grew with the tag) or walked the published articles newest first,
-- probing article_tags for each (bench/README.md, "A tag's page from its own index, on SQLite").
-- article_tags.public_at is the article's published_at while it is published, else NULL, kept by the
-- triggers below; article_tags_public_idx (tag_id, public_at, article_id) holds the published rows only.
-- Filled before the index is built, so that the index is built once over the final values. A migration
-- runs in one transaction, with the database locked against every other writer.
ALTER TABLE `article_tags` ADD `public_at` integer;--> statement-breakpoint
-- No trigger of article_tags fires on public_at: their UPDATE triggers name article_id and tag_id. The
-- status and date are read from the narrow index: in the row they lie behind the body, in overflow pages.
UPDATE `article_tags` SET `public_at` = (SELECT a.published_at FROM articles a INDEXED BY articles_visibility_idx
	WHERE a.id = article_tags.article_id AND a.status = 'published');--> statement-breakpoint
CREATE INDEX `article_tags_public_idx` ON `article_tags` (`tag_id`,`public_at`,`article_id`) WHERE public_at IS NOT NULL;--> statement-breakpoint
-- A new tag row of a published article takes its date (the article row exists: article_tags references
-- it, and foreign keys are on); a draft's keeps NULL. SQLite's triggers cannot set NEW's columns, so the row
-- is updated after its insert. (bench/generate.ts lifts this trigger for its bulk load, while the indexes
-- are gone, and writes public_at itself.)
CREATE TRIGGER `article_tags_public_at_ai` AFTER INSERT ON article_tags
	WHEN EXISTS (SELECT 1 FROM articles a INDEXED BY articles_visibility_idx WHERE a.id = new.article_id AND a.status = 'published') BEGIN
	UPDATE article_tags SET public_at = (SELECT a.published_at FROM articles a INDEXED BY articles_visibility_idx WHERE a.id = new.article_id)
	WHERE rowid = new.rowid;
END;--> statement-breakpoint
-- An article published, unpublished or re-dated: its tag rows follow.
CREATE TRIGGER `articles_public_at_au` AFTER UPDATE OF status, published_at ON articles
	WHEN old.status IS NOT new.status OR old.published_at IS NOT new.published_at BEGIN
	UPDATE article_tags SET public_at = CASE WHEN new.status = 'published' THEN new.published_at END
	WHERE article_id = new.id;
END;
