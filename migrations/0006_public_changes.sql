-- When public content last changed in a way that the rows a feed or sitemap shows cannot tell: an article
-- that was visible is edited, hidden, rescheduled or deleted (it may leave a feed, and a feed's newest
-- timestamps can then go down), a tag or author leaves a visible article (it leaves that slice's feed), a
-- tag on visible articles is renamed or deleted, an approved comment on a visible article is withdrawn or
-- deleted. Feeds and sitemaps take their Last-Modified as the later of this and their own rows'
-- timestamps, so If-Modified-Since never answers 304 to a client holding a representation that changed.
--
-- Only changes the public can see move it (it is a timestamp every public feed shows): a draft's edits
-- leave it alone. The time is the database's clock (the application's clock is the same one outside
-- tests); it never goes backwards.
INSERT INTO `public_changes` (`id`, `changed_at`) VALUES (1, 0);
--> statement-breakpoint
CREATE TRIGGER `public_changes_article_updated` AFTER UPDATE OF status, published_at, updated_at, section, slug ON articles
WHEN old.status = 'published' AND old.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER)
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `public_changes_article_deleted` AFTER DELETE ON articles
WHEN old.status = 'published' AND old.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER)
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `public_changes_article_tag_removed` AFTER DELETE ON article_tags
WHEN EXISTS (SELECT 1 FROM articles a WHERE a.id = old.article_id AND a.status = 'published'
	AND a.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER))
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `public_changes_article_author_removed` AFTER DELETE ON article_authors
WHEN EXISTS (SELECT 1 FROM articles a WHERE a.id = old.article_id AND a.status = 'published'
	AND a.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER))
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `public_changes_tag_renamed` AFTER UPDATE OF name, slug ON tags
WHEN (old.name IS NOT new.name OR old.slug IS NOT new.slug) AND EXISTS (
	SELECT 1 FROM article_tags at JOIN articles a ON a.id = at.article_id
	WHERE at.tag_id = old.id AND a.status = 'published' AND a.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER))
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `public_changes_comment_withdrawn` AFTER UPDATE OF status ON comments
WHEN old.status = 'approved' AND new.status IS NOT 'approved' AND EXISTS (
	SELECT 1 FROM articles a WHERE a.id = old.article_id AND a.status = 'published'
	AND a.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER))
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `public_changes_comment_deleted` AFTER DELETE ON comments
WHEN old.status = 'approved' AND EXISTS (
	SELECT 1 FROM articles a WHERE a.id = old.article_id AND a.status = 'published'
	AND a.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER))
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
