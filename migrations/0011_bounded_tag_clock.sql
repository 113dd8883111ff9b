-- Renaming or deleting a tag moves the public change clock only if the public could see one of its articles.
-- 0006 and 0009 asked the articles themselves (EXISTS over article_tags JOIN articles), and SQLite walks
-- that join from the published articles by date: at a million articles, a big tag whose articles are all
-- recent cost 170–275 ms per rename or delete (the query budget then refused DELETE /v1/tags/harbour with
-- a 503). The tag's stored count answers the same question in one row: visible_count counts its articles
-- published by the settled time (src/articles/counts.ts), and the few that fell due since are looked up in
-- that window, from the (status, published_at) index. With the clock read earlier than the settled time the
-- answer can only be a yes too many: the clock moves once more than it had to, never less.
DROP TRIGGER `public_changes_tag_renamed`;
--> statement-breakpoint
CREATE TRIGGER `public_changes_tag_renamed` AFTER UPDATE OF name, slug ON tags
WHEN (old.name IS NOT new.name OR old.slug IS NOT new.slug) AND (old.visible_count > 0 OR EXISTS (
	SELECT 1 FROM articles a INDEXED BY articles_status_published_idx CROSS JOIN article_tags at
	WHERE a.status = 'published' AND a.published_at > (SELECT `at` FROM counts_settled WHERE id = 1)
	AND a.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER)
	AND at.article_id = a.id AND at.tag_id = old.id))
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
--> statement-breakpoint
DROP TRIGGER `public_changes_tag_deleted`;
--> statement-breakpoint
CREATE TRIGGER `public_changes_tag_deleted` AFTER UPDATE OF deleted_at ON tags
WHEN old.deleted_at IS NULL AND new.deleted_at IS NOT NULL AND (old.visible_count > 0 OR EXISTS (
	SELECT 1 FROM articles a INDEXED BY articles_status_published_idx CROSS JOIN article_tags at
	WHERE a.status = 'published' AND a.published_at > (SELECT `at` FROM counts_settled WHERE id = 1)
	AND a.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER)
	AND at.article_id = a.id AND at.tag_id = old.id))
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
