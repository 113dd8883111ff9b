-- What SQLite's custom migrations do with triggers, written for PostgreSQL: counts kept at write time
-- (migrations/0009_bounded_counts_search.sql), the full-text document and the count of articles per
-- search term (0001, 0009), and the public change clock (0006, 0009, 0011). Each runs inside the write
-- that fires it, so what it keeps is always that of the committed data, whichever process wrote.
--
-- Differences from SQLite, on purpose:
-- - PostgreSQL allows no subquery in a trigger's WHEN, so those conditions open the trigger functions.
-- - Tags reach the search document through statement-level triggers with transition tables: replacing an
--   article's tags (one DELETE, one INSERT) re-indexes it once per statement, which is what SQLite's
--   search_reindex_deferred table arranges by hand.
-- - A tag is in the document as the lexeme `#<id>` (SQLite's `t<id>`): the parser splits words at `#`, so
--   no search word can ever be such a lexeme, and only a query that names the tag matches it.
-- - Rows are written in one order where two processes may write the same ones at once (search_terms, in
--   term order), so concurrent writers wait for each other instead of deadlocking.

-- The single rows: the public change clock, the settled time of the visible counts, and the count of all
-- articles (0006, 0009).
INSERT INTO public_changes (id, changed_at) VALUES (1, 0);
--> statement-breakpoint
INSERT INTO counts_settled (id, at) VALUES (1, gazette_now_ms());
--> statement-breakpoint
INSERT INTO article_counts (kind, key, total, published, visible) VALUES ('all', '', 0, 0, 0);
--> statement-breakpoint
-- The planner reads search terms by prefix (term >= 'dock' AND term < 'docl'): byte order, as in SQLite,
-- whatever the database's collation. (drizzle-kit does not model collations, so it never undoes this.)
ALTER TABLE search_terms ALTER COLUMN term TYPE text COLLATE "C";
--> statement-breakpoint

-- 1. Counts -------------------------------------------------------------------------------------------

CREATE FUNCTION gazette_settled_at() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
	RETURN (SELECT at FROM counts_settled WHERE id = 1);
--> statement-breakpoint
-- 1 for a published article (any date), else 0.
CREATE FUNCTION gazette_published(status text) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN (status = 'published')::integer;
--> statement-breakpoint
-- 1 for an article published by the settled time, else 0 (a null date counts as not yet).
CREATE FUNCTION gazette_visible(status text, published_at bigint) RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE
	RETURN coalesce((status = 'published' AND published_at <= gazette_settled_at())::integer, 0);
--> statement-breakpoint
-- Articles: 'all', their section, their authors and their tags. A deleted article is uncounted BEFORE it
-- goes, from every tag and author it still has: the cascade that removes those rows then finds no article
-- and does nothing (tag_counts, author_counts below).
CREATE FUNCTION gazette_article_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE article_counts SET total = total - 1, published = published - gazette_published(old.status),
			visible = visible - gazette_visible(old.status, old.published_at)
		WHERE (kind = 'all' AND key = '') OR (kind = 'section' AND key = old.section)
			OR (kind = 'author' AND key IN (SELECT name FROM article_authors WHERE article_id = old.id));
	END IF;
	IF TG_OP = 'DELETE' THEN
		UPDATE tags SET article_count = article_count - 1, published_count = published_count - gazette_published(old.status),
			visible_count = visible_count - gazette_visible(old.status, old.published_at)
		WHERE id IN (SELECT tag_id FROM article_tags WHERE article_id = old.id);
		RETURN old;
	END IF;
	INSERT INTO article_counts (kind, key, total, published, visible)
	SELECT 'all', '', 1, gazette_published(new.status), gazette_visible(new.status, new.published_at)
	UNION ALL
	SELECT 'section', new.section, 1, gazette_published(new.status), gazette_visible(new.status, new.published_at)
	WHERE new.section IS NOT NULL
	UNION ALL
	SELECT 'author', name, 1, gazette_published(new.status), gazette_visible(new.status, new.published_at)
	FROM article_authors WHERE article_id = new.id
	ON CONFLICT (kind, key) DO UPDATE SET total = article_counts.total + excluded.total,
		published = article_counts.published + excluded.published, visible = article_counts.visible + excluded.visible;
	IF TG_OP = 'UPDATE' THEN
		UPDATE tags SET
			published_count = published_count - gazette_published(old.status) + gazette_published(new.status),
			visible_count = visible_count - gazette_visible(old.status, old.published_at) + gazette_visible(new.status, new.published_at)
		WHERE id IN (SELECT tag_id FROM article_tags WHERE article_id = new.id);
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER article_counts_ai AFTER INSERT ON articles FOR EACH ROW EXECUTE FUNCTION gazette_article_counts();
--> statement-breakpoint
CREATE TRIGGER article_counts_au AFTER UPDATE OF status, published_at, section ON articles FOR EACH ROW
	WHEN (old.status IS DISTINCT FROM new.status OR old.published_at IS DISTINCT FROM new.published_at
		OR old.section IS DISTINCT FROM new.section)
	EXECUTE FUNCTION gazette_article_counts();
--> statement-breakpoint
CREATE TRIGGER article_counts_bd BEFORE DELETE ON articles FOR EACH ROW EXECUTE FUNCTION gazette_article_counts();
--> statement-breakpoint
-- One article's tag: counted for an article that exists; not for a deleted tag, whose rows
-- src/tags/sweeper.ts removes by the thousand and whose counts nobody reads again.
CREATE FUNCTION gazette_tag_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE tags t SET article_count = t.article_count - 1, published_count = t.published_count - gazette_published(a.status),
			visible_count = t.visible_count - gazette_visible(a.status, a.published_at)
		FROM articles a WHERE t.id = old.tag_id AND t.deleted_at IS NULL AND a.id = old.article_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		UPDATE tags t SET article_count = t.article_count + 1, published_count = t.published_count + gazette_published(a.status),
			visible_count = t.visible_count + gazette_visible(a.status, a.published_at)
		FROM articles a WHERE t.id = new.tag_id AND a.id = new.article_id;
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tag_counts_ai AFTER INSERT ON article_tags FOR EACH ROW EXECUTE FUNCTION gazette_tag_counts();
--> statement-breakpoint
CREATE TRIGGER tag_counts_ad AFTER DELETE ON article_tags FOR EACH ROW EXECUTE FUNCTION gazette_tag_counts();
--> statement-breakpoint
CREATE TRIGGER tag_counts_au AFTER UPDATE OF article_id, tag_id ON article_tags FOR EACH ROW EXECUTE FUNCTION gazette_tag_counts();
--> statement-breakpoint
CREATE FUNCTION gazette_author_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO article_counts (kind, key, total, published, visible)
		SELECT 'author', new.name, 1, gazette_published(status), gazette_visible(status, published_at)
		FROM articles WHERE id = new.article_id
		ON CONFLICT (kind, key) DO UPDATE SET total = article_counts.total + excluded.total,
			published = article_counts.published + excluded.published, visible = article_counts.visible + excluded.visible;
	ELSE
		UPDATE article_counts c SET total = c.total - 1, published = c.published - gazette_published(a.status),
			visible = c.visible - gazette_visible(a.status, a.published_at)
		FROM articles a WHERE c.kind = 'author' AND c.key = old.name AND a.id = old.article_id;
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER author_counts_ai AFTER INSERT ON article_authors FOR EACH ROW EXECUTE FUNCTION gazette_author_counts();
--> statement-breakpoint
CREATE TRIGGER author_counts_ad AFTER DELETE ON article_authors FOR EACH ROW EXECUTE FUNCTION gazette_author_counts();
--> statement-breakpoint

-- 2. The search document and search_terms ----------------------------------------------------------------

-- An article's document: title A, summary B, tags B (as `#<id>`), body C (src/db/pg/schema.ts says how
-- they are ranked). `||` numbers each part's words on from the last word of the part before it; a
-- placeholder lexeme 100 positions on, deleted afterwards, leaves a gap between parts, so a phrase never
-- matches across two of them (a title ending in "harbour" and a summary starting with "lights" do not make
-- "harbour lights"), as FTS5 matches phrases within one column.
CREATE FUNCTION gazette_search_vector(title text, summary text, tag_ids integer[], body text) RETURNS tsvector
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN ts_delete(
		setweight(to_tsvector('gazette'::regconfig, title), 'A') || '''#gap'':100'::tsvector
		|| setweight(to_tsvector('gazette'::regconfig, coalesce(summary, '')), 'B') || '''#gap'':100'::tsvector
		|| setweight(coalesce((SELECT string_agg(format('''#%s'':1', id), ' ')::tsvector FROM unnest(tag_ids) AS id), ''::tsvector), 'B')
		|| '''#gap'':100'::tsvector
		|| setweight(to_tsvector('gazette'::regconfig, body), 'C'),
		'#gap');
--> statement-breakpoint
CREATE FUNCTION gazette_tag_ids(article integer) RETURNS integer[] LANGUAGE sql STABLE PARALLEL SAFE
	RETURN (SELECT array_agg(tag_id ORDER BY position) FROM article_tags WHERE article_id = article);
--> statement-breakpoint
CREATE FUNCTION gazette_article_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	new.search := gazette_search_vector(new.title, new.summary, gazette_tag_ids(new.id), new.body);
	RETURN new;
END $$;
--> statement-breakpoint
CREATE TRIGGER article_search_bi BEFORE INSERT ON articles FOR EACH ROW EXECUTE FUNCTION gazette_article_search();
--> statement-breakpoint
CREATE TRIGGER article_search_bu BEFORE UPDATE OF title, summary, body ON articles FOR EACH ROW
	WHEN (old.title IS DISTINCT FROM new.title OR old.summary IS DISTINCT FROM new.summary OR old.body IS DISTINCT FROM new.body)
	EXECUTE FUNCTION gazette_article_search();
--> statement-breakpoint
-- Re-indexes the articles whose tags a statement changed, once each. Skipped for an article being
-- deleted (it is gone from articles already) and for a deleted tag's rows (its `#<id>` is never searched
-- again, and tag ids are not reused).
CREATE FUNCTION gazette_article_tags_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE articles a SET search = gazette_search_vector(a.title, a.summary, gazette_tag_ids(a.id), a.body)
		WHERE a.id IN (SELECT article_id FROM new_rows);
	ELSIF TG_OP = 'DELETE' THEN
		UPDATE articles a SET search = gazette_search_vector(a.title, a.summary, gazette_tag_ids(a.id), a.body)
		WHERE a.id IN (SELECT o.article_id FROM old_rows o JOIN tags t ON t.id = o.tag_id WHERE t.deleted_at IS NULL);
	ELSE
		UPDATE articles a SET search = gazette_search_vector(a.title, a.summary, gazette_tag_ids(a.id), a.body)
		WHERE a.id IN (SELECT article_id FROM old_rows UNION SELECT article_id FROM new_rows);
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER article_search_tags_ai AFTER INSERT ON article_tags REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION gazette_article_tags_search();
--> statement-breakpoint
CREATE TRIGGER article_search_tags_ad AFTER DELETE ON article_tags REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION gazette_article_tags_search();
--> statement-breakpoint
CREATE TRIGGER article_search_tags_au AFTER UPDATE ON article_tags REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION gazette_article_tags_search();
--> statement-breakpoint
-- The words of a document (its title, summary and body lexemes), without the tags' `#<id>`.
CREATE FUNCTION gazette_words(doc tsvector) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN ARRAY(SELECT w FROM unnest(tsvector_to_array(doc)) AS w WHERE left(w, 1) <> '#');
--> statement-breakpoint
-- search_terms: +1 for each word an article gains, -1 for each it loses, in one statement in term order.
CREATE FUNCTION gazette_search_terms() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	gone text[] := '{}';
	came text[] := '{}';
BEGIN
	IF TG_OP <> 'INSERT' THEN gone := gazette_words(old.search); END IF;
	IF TG_OP <> 'DELETE' THEN came := gazette_words(new.search); END IF;
	INSERT INTO search_terms (term, docs)
	SELECT term, sum(d)::integer FROM (
		SELECT unnest(came) AS term, 1 AS d UNION ALL SELECT unnest(gone), -1
	) AS change GROUP BY term HAVING sum(d) <> 0 ORDER BY term
	ON CONFLICT (term) DO UPDATE SET docs = search_terms.docs + excluded.docs;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER search_terms_ai AFTER INSERT ON articles FOR EACH ROW EXECUTE FUNCTION gazette_search_terms();
--> statement-breakpoint
CREATE TRIGGER search_terms_au AFTER UPDATE OF title, summary, body ON articles FOR EACH ROW
	WHEN (old.title IS DISTINCT FROM new.title OR old.summary IS DISTINCT FROM new.summary OR old.body IS DISTINCT FROM new.body)
	EXECUTE FUNCTION gazette_search_terms();
--> statement-breakpoint
CREATE TRIGGER search_terms_ad AFTER DELETE ON articles FOR EACH ROW EXECUTE FUNCTION gazette_search_terms();
--> statement-breakpoint

-- 3. The public change clock (0006, 0009, 0011) -----------------------------------------------------------

-- Moves the clock to now; it never goes backwards.
CREATE FUNCTION gazette_public_changed() RETURNS void LANGUAGE sql
	BEGIN ATOMIC
		UPDATE public_changes SET changed_at = greatest(changed_at, gazette_now_ms()) WHERE id = 1;
	END;
--> statement-breakpoint
-- Whether the public can see the article now.
CREATE FUNCTION gazette_visible_now(article integer) RETURNS boolean LANGUAGE sql VOLATILE
	RETURN EXISTS (SELECT 1 FROM articles WHERE id = article AND status = 'published' AND published_at <= gazette_now_ms());
--> statement-breakpoint
-- Whether the public could see one of a tag's articles: its stored visible count, or one of its articles
-- that fell due since the settled time (0011 says why this asks the count first).
CREATE FUNCTION gazette_tag_was_public(tag tags) RETURNS boolean LANGUAGE sql VOLATILE
	RETURN tag.visible_count > 0 OR EXISTS (
		SELECT 1 FROM articles a JOIN article_tags at ON at.article_id = a.id AND at.tag_id = tag.id
		WHERE a.status = 'published' AND a.published_at > gazette_settled_at() AND a.published_at <= gazette_now_ms());
--> statement-breakpoint
-- One function for every table's trigger. Separate IFs, not one CASE: PL/pgSQL resolves `old.tag_id` when
-- it plans the statement that names it, and an articles row has no such field.
CREATE FUNCTION gazette_public_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'articles' THEN
		-- The trigger's WHEN has checked that the public could see the article.
		PERFORM gazette_public_changed();
	ELSIF TG_TABLE_NAME = 'article_tags' THEN
		IF EXISTS (SELECT 1 FROM tags WHERE id = old.tag_id AND deleted_at IS NULL) AND gazette_visible_now(old.article_id) THEN
			PERFORM gazette_public_changed();
		END IF;
	ELSIF TG_TABLE_NAME IN ('article_authors', 'comments') THEN
		IF gazette_visible_now(old.article_id) THEN
			PERFORM gazette_public_changed();
		END IF;
	ELSIF TG_TABLE_NAME = 'tags' THEN
		IF gazette_tag_was_public(old) THEN
			PERFORM gazette_public_changed();
		END IF;
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER public_changes_article_updated AFTER UPDATE OF status, published_at, updated_at, section, slug ON articles
	FOR EACH ROW WHEN (old.status = 'published' AND old.published_at <= gazette_now_ms())
	EXECUTE FUNCTION gazette_public_changes();
--> statement-breakpoint
CREATE TRIGGER public_changes_article_deleted AFTER DELETE ON articles
	FOR EACH ROW WHEN (old.status = 'published' AND old.published_at <= gazette_now_ms())
	EXECUTE FUNCTION gazette_public_changes();
--> statement-breakpoint
CREATE TRIGGER public_changes_article_tag_removed AFTER DELETE ON article_tags
	FOR EACH ROW EXECUTE FUNCTION gazette_public_changes();
--> statement-breakpoint
CREATE TRIGGER public_changes_article_author_removed AFTER DELETE ON article_authors
	FOR EACH ROW EXECUTE FUNCTION gazette_public_changes();
--> statement-breakpoint
CREATE TRIGGER public_changes_tag_renamed AFTER UPDATE OF name, slug ON tags
	FOR EACH ROW WHEN (old.name IS DISTINCT FROM new.name OR old.slug IS DISTINCT FROM new.slug)
	EXECUTE FUNCTION gazette_public_changes();
--> statement-breakpoint
CREATE TRIGGER public_changes_tag_deleted AFTER UPDATE OF deleted_at ON tags
	FOR EACH ROW WHEN (old.deleted_at IS NULL AND new.deleted_at IS NOT NULL)
	EXECUTE FUNCTION gazette_public_changes();
--> statement-breakpoint
CREATE TRIGGER public_changes_comment_withdrawn AFTER UPDATE OF status ON comments
	FOR EACH ROW WHEN (old.status = 'approved' AND new.status <> 'approved')
	EXECUTE FUNCTION gazette_public_changes();
--> statement-breakpoint
CREATE TRIGGER public_changes_comment_deleted AFTER DELETE ON comments
	FOR EACH ROW WHEN (old.status = 'approved')
	EXECUTE FUNCTION gazette_public_changes();
