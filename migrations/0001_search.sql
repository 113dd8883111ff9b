-- Full-text search over articles: title, summary, tag names and body, in one FTS5 index keyed by article id.
--
-- The index is an external-content FTS5 table: it stores only the inverted index, and reads the text back
-- (for snippet()) from the view article_search_source. Tag names live in other tables, so the view joins
-- article_search_tags: the tag names of each article exactly as they were indexed. Keeping that snapshot
-- (rather than joining article_tags live) matters because an external-content index must be told the old
-- text to remove a document; the triggers below always remove with the snapshot, then refresh it, then
-- re-add, so the index never drifts from the view, whatever order cascades fire in.
--
-- Tokenizer: unicode61 with remove_diacritics 2 folds accents (cafe finds Café), porter stems English
-- (docked finds dock). Ranking weights live in the repository (bm25 with title > summary = tags > body).
CREATE TABLE `article_search_tags` (
	`article_id` integer PRIMARY KEY NOT NULL,
	`names` text NOT NULL
);
--> statement-breakpoint
CREATE VIEW `article_search_source` AS
	SELECT a.id AS id, a.title AS title, a.summary AS summary, st.names AS tags, a.body AS body
	FROM articles a LEFT JOIN article_search_tags st ON st.article_id = a.id;
--> statement-breakpoint
CREATE VIRTUAL TABLE `article_search` USING fts5(
	title, summary, tags, body,
	content = 'article_search_source',
	content_rowid = 'id',
	tokenize = 'porter unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `article_search_ai` AFTER INSERT ON articles BEGIN
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source WHERE id = new.id;
END;
--> statement-breakpoint
CREATE TRIGGER `article_search_au` AFTER UPDATE OF title, summary, body ON articles
	WHEN old.title IS NOT new.title OR old.summary IS NOT new.summary OR old.body IS NOT new.body BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	VALUES ('delete', old.id, old.title, old.summary, (SELECT names FROM article_search_tags WHERE article_id = old.id), old.body);
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source WHERE id = new.id;
END;
--> statement-breakpoint
CREATE TRIGGER `article_search_ad` AFTER DELETE ON articles BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	VALUES ('delete', old.id, old.title, old.summary, (SELECT names FROM article_search_tags WHERE article_id = old.id), old.body);
	DELETE FROM article_search_tags WHERE article_id = old.id;
END;
--> statement-breakpoint
-- Re-indexes one article's tag names: remove with the snapshot, refresh the snapshot, add again. An
-- article that no longer exists (its tags are going with it by cascade) is skipped by every step.
CREATE TRIGGER `article_search_tags_ai` AFTER INSERT ON article_tags BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	SELECT 'delete', id, title, summary, tags, body FROM article_search_source WHERE id = new.article_id;
	DELETE FROM article_search_tags WHERE article_id = new.article_id AND EXISTS (SELECT 1 FROM articles WHERE id = new.article_id);
	INSERT INTO article_search_tags (article_id, names)
	SELECT at.article_id, group_concat(t.name, ' ' ORDER BY at.position) FROM article_tags at JOIN tags t ON t.id = at.tag_id
	WHERE at.article_id = new.article_id AND EXISTS (SELECT 1 FROM articles WHERE id = new.article_id)
	GROUP BY at.article_id;
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source WHERE id = new.article_id;
END;
--> statement-breakpoint
CREATE TRIGGER `article_search_tags_ad` AFTER DELETE ON article_tags BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	SELECT 'delete', id, title, summary, tags, body FROM article_search_source WHERE id = old.article_id;
	DELETE FROM article_search_tags WHERE article_id = old.article_id AND EXISTS (SELECT 1 FROM articles WHERE id = old.article_id);
	INSERT INTO article_search_tags (article_id, names)
	SELECT at.article_id, group_concat(t.name, ' ' ORDER BY at.position) FROM article_tags at JOIN tags t ON t.id = at.tag_id
	WHERE at.article_id = old.article_id AND EXISTS (SELECT 1 FROM articles WHERE id = old.article_id)
	GROUP BY at.article_id;
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source WHERE id = old.article_id;
END;
--> statement-breakpoint
CREATE TRIGGER `article_search_tags_au` AFTER UPDATE OF article_id, tag_id ON article_tags BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	SELECT 'delete', id, title, summary, tags, body FROM article_search_source WHERE id IN (old.article_id, new.article_id);
	DELETE FROM article_search_tags WHERE article_id IN (old.article_id, new.article_id) AND EXISTS (SELECT 1 FROM articles WHERE id = article_id);
	INSERT INTO article_search_tags (article_id, names)
	SELECT at.article_id, group_concat(t.name, ' ' ORDER BY at.position) FROM article_tags at JOIN tags t ON t.id = at.tag_id
	WHERE at.article_id IN (old.article_id, new.article_id) AND EXISTS (SELECT 1 FROM articles WHERE id = at.article_id)
	GROUP BY at.article_id;
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source WHERE id IN (old.article_id, new.article_id);
END;
--> statement-breakpoint
-- A renamed tag re-indexes every article that carries it.
CREATE TRIGGER `article_search_tag_renamed` AFTER UPDATE OF name ON tags BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	SELECT 'delete', id, title, summary, tags, body FROM article_search_source
	WHERE id IN (SELECT article_id FROM article_tags WHERE tag_id = new.id);
	DELETE FROM article_search_tags WHERE article_id IN (SELECT article_id FROM article_tags WHERE tag_id = new.id);
	INSERT INTO article_search_tags (article_id, names)
	SELECT at.article_id, group_concat(t.name, ' ' ORDER BY at.position) FROM article_tags at JOIN tags t ON t.id = at.tag_id
	WHERE at.article_id IN (SELECT article_id FROM article_tags WHERE tag_id = new.id)
	GROUP BY at.article_id;
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source
	WHERE id IN (SELECT article_id FROM article_tags WHERE tag_id = new.id);
END;
--> statement-breakpoint
-- Backfill: snapshot the tag names of existing articles, then build the index from the view.
INSERT INTO article_search_tags (article_id, names)
SELECT at.article_id, group_concat(t.name, ' ' ORDER BY at.position) FROM article_tags at JOIN tags t ON t.id = at.tag_id
GROUP BY at.article_id;
--> statement-breakpoint
INSERT INTO article_search (article_search) VALUES ('rebuild');
