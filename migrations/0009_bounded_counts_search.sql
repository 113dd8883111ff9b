-- Bounded cost (issue 18): counts kept at write time, a search index that does not copy tag names, and a
-- count of articles per search token. Every trigger below runs inside the write that fires it, so the
-- counts and the index are always those of the committed data.
--
-- 1. Counts. tags.article_count / published_count / visible_count and article_counts (per section, per
--    author, and 'all') hold how many articles there are, how many are published (any date), and how
--    many are published with published_at <= counts_settled.at. A reader adds the articles that became
--    due between counts_settled.at and its clock (src/articles/counts.ts), so a scheduled article counts
--    the moment it is due with no write at that moment; a timer moves counts_settled.at forward now and
--    then, so that range stays small.
-- 2. Search index. Its `tags` column now holds one token per tag id (`t17`), not the tag's name: renaming
--    a tag changes nothing in it, and a deleted tag's token is simply never searched for again (tag ids
--    are never reused), so neither touches the articles. A search looks names up in tag_search, a small
--    index of tag names, and asks for their tokens. The index is rebuilt once here.
-- 3. search_terms: how many articles contain each token (gazette_tokens(), native/gazette.c), so a
--    search can price its words and expand a prefix into whole words before it runs.

INSERT INTO `counts_settled` (`id`, `at`) VALUES (1, CAST(unixepoch('subsec') * 1000 AS INTEGER));
--> statement-breakpoint
WITH c AS (
	SELECT at.tag_id AS tag_id, count(*) AS n, sum(a.status = 'published') AS p,
		sum(a.status = 'published' AND a.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1)) AS v
	FROM article_tags at JOIN articles a INDEXED BY articles_visibility_idx ON a.id = at.article_id
	GROUP BY at.tag_id
)
UPDATE tags SET article_count = c.n, published_count = c.p, visible_count = c.v FROM c WHERE c.tag_id = tags.id;
--> statement-breakpoint
-- A tag no article carries was made on purpose (an article's tags are made with the article), so it stays
-- public; a tag that only drafts or scheduled articles carry is no longer shown to the public.
UPDATE tags SET curated = 1 WHERE article_count = 0;
--> statement-breakpoint
INSERT INTO article_counts (kind, key, total, published, visible)
SELECT 'all', '', count(*), coalesce(sum(status = 'published'), 0),
	coalesce(sum(status = 'published' AND published_at <= (SELECT `at` FROM counts_settled WHERE id = 1)), 0)
FROM articles INDEXED BY articles_visibility_idx;
--> statement-breakpoint
INSERT INTO article_counts (kind, key, total, published, visible)
SELECT 'section', section, count(*), sum(status = 'published'),
	sum(status = 'published' AND published_at <= (SELECT `at` FROM counts_settled WHERE id = 1))
FROM articles INDEXED BY articles_visibility_idx WHERE section IS NOT NULL GROUP BY section;
--> statement-breakpoint
INSERT INTO article_counts (kind, key, total, published, visible)
SELECT 'author', aa.name, count(*), sum(a.status = 'published'),
	sum(a.status = 'published' AND a.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1))
FROM article_authors aa JOIN articles a INDEXED BY articles_visibility_idx ON a.id = aa.article_id GROUP BY aa.name;
--> statement-breakpoint
-- Articles: 'all' and their section count them. A deleted article is uncounted before it goes, from every
-- tag and author it still has (the cascade that removes those rows then finds no article and does nothing).
CREATE TRIGGER `article_counts_ai` AFTER INSERT ON articles BEGIN
	INSERT INTO article_counts (kind, key, total, published, visible)
	SELECT * FROM (
		SELECT 'all', '', 1, new.status = 'published',
			coalesce(new.status = 'published' AND new.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
		UNION ALL
		SELECT 'section', new.section, 1, new.status = 'published',
			coalesce(new.status = 'published' AND new.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
		WHERE new.section IS NOT NULL
	) WHERE true
	ON CONFLICT (kind, key) DO UPDATE SET total = total + excluded.total, published = published + excluded.published,
		visible = visible + excluded.visible;
END;
--> statement-breakpoint
CREATE TRIGGER `article_counts_bd` BEFORE DELETE ON articles BEGIN
	UPDATE article_counts SET total = total - 1, published = published - (old.status = 'published'),
		visible = visible - coalesce(old.status = 'published' AND old.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
	WHERE (kind = 'all' AND key = '') OR (kind = 'section' AND key = old.section)
		OR (kind = 'author' AND key IN (SELECT name FROM article_authors WHERE article_id = old.id));
	UPDATE tags SET article_count = article_count - 1, published_count = published_count - (old.status = 'published'),
		visible_count = visible_count - coalesce(old.status = 'published' AND old.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
	WHERE id IN (SELECT tag_id FROM article_tags WHERE article_id = old.id);
END;
--> statement-breakpoint
CREATE TRIGGER `article_counts_au` AFTER UPDATE OF status, published_at, section ON articles
	WHEN old.status IS NOT new.status OR old.published_at IS NOT new.published_at OR old.section IS NOT new.section BEGIN
	-- The article leaves its old counts and joins its new ones: for 'all', its tags and its authors only the
	-- published and visible columns can move; its section may change too.
	UPDATE article_counts SET total = total - 1, published = published - (old.status = 'published'),
		visible = visible - coalesce(old.status = 'published' AND old.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
	WHERE (kind = 'all' AND key = '') OR (kind = 'section' AND key = old.section)
		OR (kind = 'author' AND key IN (SELECT name FROM article_authors WHERE article_id = new.id));
	INSERT INTO article_counts (kind, key, total, published, visible)
	SELECT * FROM (
		SELECT 'all', '', 1, new.status = 'published',
			coalesce(new.status = 'published' AND new.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
		UNION ALL
		SELECT 'section', new.section, 1, new.status = 'published',
			coalesce(new.status = 'published' AND new.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
		WHERE new.section IS NOT NULL
		UNION ALL
		SELECT 'author', name, 1, new.status = 'published',
			coalesce(new.status = 'published' AND new.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
		FROM article_authors WHERE article_id = new.id
	) WHERE true
	ON CONFLICT (kind, key) DO UPDATE SET total = total + excluded.total, published = published + excluded.published,
		visible = visible + excluded.visible;
	UPDATE tags SET
		published_count = published_count - (old.status = 'published') + (new.status = 'published'),
		visible_count = visible_count
			- coalesce(old.status = 'published' AND old.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
			+ coalesce(new.status = 'published' AND new.published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
	WHERE id IN (SELECT tag_id FROM article_tags WHERE article_id = new.id);
END;
--> statement-breakpoint
-- Tags and authors of an article that exists (not while the article itself is being deleted).
CREATE TRIGGER `tag_counts_ai` AFTER INSERT ON article_tags BEGIN
	UPDATE tags SET article_count = article_count + 1,
		published_count = published_count + coalesce((SELECT status = 'published' FROM articles WHERE id = new.article_id), 0),
		visible_count = visible_count + coalesce((SELECT status = 'published' AND published_at <= (SELECT `at` FROM counts_settled WHERE id = 1)
			FROM articles WHERE id = new.article_id), 0)
	WHERE id = new.tag_id;
END;
--> statement-breakpoint
-- Not for a deleted tag, whose rows src/tags/sweeper.ts removes by the thousand and whose counts nobody reads
-- again; the article's status and date come from the narrow index (id, status, published_at, ...), not from
-- its row, where they lie behind the body (at a million articles a slice of 2,000 rows took 160 ms so).
CREATE TRIGGER `tag_counts_ad` AFTER DELETE ON article_tags
	WHEN EXISTS (SELECT 1 FROM tags WHERE id = old.tag_id AND deleted_at IS NULL)
		AND EXISTS (SELECT 1 FROM articles INDEXED BY articles_visibility_idx WHERE id = old.article_id) BEGIN
	UPDATE tags SET article_count = article_count - 1,
		published_count = published_count - coalesce((SELECT status = 'published' FROM articles INDEXED BY articles_visibility_idx
			WHERE id = old.article_id), 0),
		visible_count = visible_count - coalesce((SELECT status = 'published' AND published_at <= (SELECT `at` FROM counts_settled WHERE id = 1)
			FROM articles INDEXED BY articles_visibility_idx WHERE id = old.article_id), 0)
	WHERE id = old.tag_id;
END;
--> statement-breakpoint
CREATE TRIGGER `tag_counts_au` AFTER UPDATE OF article_id, tag_id ON article_tags BEGIN
	UPDATE tags SET article_count = article_count - 1,
		published_count = published_count - coalesce((SELECT status = 'published' FROM articles WHERE id = old.article_id), 0),
		visible_count = visible_count - coalesce((SELECT status = 'published' AND published_at <= (SELECT `at` FROM counts_settled WHERE id = 1)
			FROM articles WHERE id = old.article_id), 0)
	WHERE id = old.tag_id AND EXISTS (SELECT 1 FROM articles WHERE id = old.article_id);
	UPDATE tags SET article_count = article_count + 1,
		published_count = published_count + coalesce((SELECT status = 'published' FROM articles WHERE id = new.article_id), 0),
		visible_count = visible_count + coalesce((SELECT status = 'published' AND published_at <= (SELECT `at` FROM counts_settled WHERE id = 1)
			FROM articles WHERE id = new.article_id), 0)
	WHERE id = new.tag_id;
END;
--> statement-breakpoint
CREATE TRIGGER `author_counts_ai` AFTER INSERT ON article_authors BEGIN
	INSERT INTO article_counts (kind, key, total, published, visible)
	SELECT 'author', new.name, 1, status = 'published',
		coalesce(status = 'published' AND published_at <= (SELECT `at` FROM counts_settled WHERE id = 1), 0)
	FROM articles WHERE id = new.article_id
	ON CONFLICT (kind, key) DO UPDATE SET total = total + excluded.total, published = published + excluded.published,
		visible = visible + excluded.visible;
END;
--> statement-breakpoint
CREATE TRIGGER `author_counts_ad` AFTER DELETE ON article_authors WHEN EXISTS (SELECT 1 FROM articles WHERE id = old.article_id) BEGIN
	UPDATE article_counts SET total = total - 1,
		published = published - coalesce((SELECT status = 'published' FROM articles WHERE id = old.article_id), 0),
		visible = visible - coalesce((SELECT status = 'published' AND published_at <= (SELECT `at` FROM counts_settled WHERE id = 1)
			FROM articles WHERE id = old.article_id), 0)
	WHERE kind = 'author' AND key = old.name;
END;
--> statement-breakpoint
-- The search index: tag ids instead of names (see the top of this file).
DROP TRIGGER `article_search_tag_renamed`;
--> statement-breakpoint
DROP TRIGGER `article_search_tags_ai`;
--> statement-breakpoint
DROP TRIGGER `article_search_tags_ad`;
--> statement-breakpoint
DROP TRIGGER `article_search_tags_au`;
--> statement-breakpoint
DROP TRIGGER `article_search_ai`;
--> statement-breakpoint
DROP TRIGGER `article_search_au`;
--> statement-breakpoint
DROP TRIGGER `article_search_ad`;
--> statement-breakpoint
-- An article's text: indexed, and its tokens counted in search_terms.
CREATE TRIGGER `article_search_ai` AFTER INSERT ON articles BEGIN
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source WHERE id = new.id;
	INSERT INTO search_terms (term, docs)
	SELECT value, 1 FROM json_each(gazette_tokens(new.title || ' ' || coalesce(new.summary, '') || ' ' || new.body, 1)) WHERE true
	ON CONFLICT (term) DO UPDATE SET docs = docs + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `article_search_au` AFTER UPDATE OF title, summary, body ON articles
	WHEN old.title IS NOT new.title OR old.summary IS NOT new.summary OR old.body IS NOT new.body BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	VALUES ('delete', old.id, old.title, old.summary, (SELECT names FROM article_search_tags WHERE article_id = old.id), old.body);
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source WHERE id = new.id;
	UPDATE search_terms SET docs = docs - 1 WHERE term IN (
		SELECT value FROM json_each(gazette_tokens(old.title || ' ' || coalesce(old.summary, '') || ' ' || old.body, 1))
		EXCEPT SELECT value FROM json_each(gazette_tokens(new.title || ' ' || coalesce(new.summary, '') || ' ' || new.body, 1)));
	INSERT INTO search_terms (term, docs)
	SELECT value, 1 FROM (
		SELECT value FROM json_each(gazette_tokens(new.title || ' ' || coalesce(new.summary, '') || ' ' || new.body, 1))
		EXCEPT SELECT value FROM json_each(gazette_tokens(old.title || ' ' || coalesce(old.summary, '') || ' ' || old.body, 1))
	) WHERE true
	ON CONFLICT (term) DO UPDATE SET docs = docs + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `article_search_ad` AFTER DELETE ON articles BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	VALUES ('delete', old.id, old.title, old.summary, (SELECT names FROM article_search_tags WHERE article_id = old.id), old.body);
	DELETE FROM article_search_tags WHERE article_id = old.id;
	UPDATE search_terms SET docs = docs - 1
	WHERE term IN (SELECT value FROM json_each(gazette_tokens(old.title || ' ' || coalesce(old.summary, '') || ' ' || old.body, 1)));
END;
--> statement-breakpoint
-- An article's tag tokens: remove it from the index with the snapshot it was indexed with, refresh the
-- snapshot, add it again. Skipped while its writer re-indexes it once itself (search_reindex_deferred), for
-- an article being deleted (gone already), and for a deleted tag, whose token is never searched again.
CREATE TRIGGER `article_search_tags_ai` AFTER INSERT ON article_tags
	WHEN NOT EXISTS (SELECT 1 FROM search_reindex_deferred WHERE article_id = new.article_id) BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	SELECT 'delete', id, title, summary, tags, body FROM article_search_source WHERE id = new.article_id;
	DELETE FROM article_search_tags WHERE article_id = new.article_id;
	INSERT INTO article_search_tags (article_id, names)
	SELECT article_id, group_concat('t' || tag_id, ' ' ORDER BY position) FROM article_tags
	WHERE article_id = new.article_id AND EXISTS (SELECT 1 FROM articles WHERE id = new.article_id) GROUP BY article_id;
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source WHERE id = new.article_id;
END;
--> statement-breakpoint
-- (The deleted tag first: SQLite stops at the first false condition, and the sweeper removes a deleted
-- tag's rows by the hundred, whose articles it need not look up.)
CREATE TRIGGER `article_search_tags_ad` AFTER DELETE ON article_tags
	WHEN EXISTS (SELECT 1 FROM tags WHERE id = old.tag_id AND deleted_at IS NULL)
		AND NOT EXISTS (SELECT 1 FROM search_reindex_deferred WHERE article_id = old.article_id)
		AND EXISTS (SELECT 1 FROM articles WHERE id = old.article_id) BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	SELECT 'delete', id, title, summary, tags, body FROM article_search_source WHERE id = old.article_id;
	DELETE FROM article_search_tags WHERE article_id = old.article_id;
	INSERT INTO article_search_tags (article_id, names)
	SELECT article_id, group_concat('t' || tag_id, ' ' ORDER BY position) FROM article_tags
	WHERE article_id = old.article_id GROUP BY article_id;
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source WHERE id = old.article_id;
END;
--> statement-breakpoint
CREATE TRIGGER `article_search_tags_au` AFTER UPDATE OF article_id, tag_id ON article_tags BEGIN
	INSERT INTO article_search (article_search, rowid, title, summary, tags, body)
	SELECT 'delete', id, title, summary, tags, body FROM article_search_source WHERE id IN (old.article_id, new.article_id);
	DELETE FROM article_search_tags WHERE article_id IN (old.article_id, new.article_id);
	INSERT INTO article_search_tags (article_id, names)
	SELECT at.article_id, group_concat('t' || at.tag_id, ' ' ORDER BY at.position) FROM article_tags at
	WHERE at.article_id IN (old.article_id, new.article_id) AND EXISTS (SELECT 1 FROM articles WHERE id = at.article_id)
	GROUP BY at.article_id;
	INSERT INTO article_search (rowid, title, summary, tags, body)
	SELECT id, title, summary, tags, body FROM article_search_source WHERE id IN (old.article_id, new.article_id);
END;
--> statement-breakpoint
-- Tag names, searched to find the tag tokens a word means (a deleted tag leaves at once).
CREATE VIRTUAL TABLE `tag_search` USING fts5(
	name,
	content = '',
	contentless_delete = 1,
	tokenize = 'porter unicode61 remove_diacritics 2'
);
--> statement-breakpoint
INSERT INTO tag_search (rowid, name) SELECT id, name FROM tags WHERE deleted_at IS NULL;
--> statement-breakpoint
CREATE TRIGGER `tag_search_ai` AFTER INSERT ON tags WHEN new.deleted_at IS NULL BEGIN
	INSERT INTO tag_search (rowid, name) VALUES (new.id, new.name);
END;
--> statement-breakpoint
CREATE TRIGGER `tag_search_au` AFTER UPDATE OF name, deleted_at ON tags BEGIN
	DELETE FROM tag_search WHERE rowid = old.id;
	INSERT INTO tag_search (rowid, name) SELECT new.id, new.name WHERE new.deleted_at IS NULL;
END;
--> statement-breakpoint
CREATE TRIGGER `tag_search_ad` AFTER DELETE ON tags BEGIN
	DELETE FROM tag_search WHERE rowid = old.id;
END;
--> statement-breakpoint
-- Rebuild the article index with tag tokens: a 64 MB merge buffer for the rebuild (a third faster than the
-- default 1 MB, reset afterwards), then one segment (later writes would otherwise pay for merging it).
DELETE FROM article_search_tags;
--> statement-breakpoint
INSERT INTO article_search_tags (article_id, names)
SELECT article_id, group_concat('t' || tag_id, ' ' ORDER BY position) FROM article_tags GROUP BY article_id;
--> statement-breakpoint
INSERT INTO article_search (article_search, rank) VALUES ('hashsize', 67108864);
--> statement-breakpoint
INSERT INTO article_search (article_search) VALUES ('rebuild');
--> statement-breakpoint
INSERT INTO article_search (article_search, rank) VALUES ('hashsize', 1048576);
--> statement-breakpoint
INSERT INTO article_search (article_search) VALUES ('optimize');
--> statement-breakpoint
-- Tokens per article from the rebuilt index. Its 'row' view counts the articles a token is in, in any
-- column: for a word that is its count in title, summary and body, since the tags column holds only `t<id>`
-- tokens, whose count is the index's less their tag's articles (as recountSearchTerms in
-- src/articles/search-index.ts does).
CREATE VIRTUAL TABLE temp.`article_search_vocab` USING fts5vocab(main, article_search, 'row');
--> statement-breakpoint
INSERT INTO search_terms (term, docs)
SELECT term, docs FROM (
	SELECT v.term AS term, v.doc - CASE WHEN v.term GLOB 't[1-9]*' AND v.term NOT GLOB 't*[^0-9]*'
		THEN coalesce((SELECT count(*) FROM article_tags WHERE tag_id = CAST(substr(v.term, 2) AS INTEGER)), 0) ELSE 0 END AS docs
	FROM temp.article_search_vocab v) WHERE docs > 0;
--> statement-breakpoint
DROP TABLE temp.`article_search_vocab`;
--> statement-breakpoint
-- A deleted tag leaves its articles at once for every reader (they skip tags with deleted_at), while its
-- article_tags rows go only afterwards, in slices (src/tags/sweeper.ts): public content changes at the
-- mark, so the public change clock (0006_public_changes.sql) moves then, as it does for a rename.
CREATE TRIGGER `public_changes_tag_deleted` AFTER UPDATE OF deleted_at ON tags
WHEN old.deleted_at IS NULL AND new.deleted_at IS NOT NULL AND EXISTS (
	SELECT 1 FROM article_tags at JOIN articles a ON a.id = at.article_id
	WHERE at.tag_id = old.id AND a.status = 'published' AND a.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER))
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
--> statement-breakpoint
-- So a deleted tag's rows, swept later, move the clock no more (the mark did), and the article's visibility
-- is read from the narrow index rather than its row, as above.
DROP TRIGGER `public_changes_article_tag_removed`;
--> statement-breakpoint
CREATE TRIGGER `public_changes_article_tag_removed` AFTER DELETE ON article_tags
WHEN EXISTS (SELECT 1 FROM tags WHERE id = old.tag_id AND deleted_at IS NULL)
	AND EXISTS (SELECT 1 FROM articles a INDEXED BY articles_visibility_idx WHERE a.id = old.article_id AND a.status = 'published'
	AND a.published_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER))
BEGIN
	UPDATE public_changes SET changed_at = max(changed_at, CAST(unixepoch('subsec') * 1000 AS INTEGER)) WHERE id = 1;
END;
