CREATE TABLE "search_plan_version" (
	"id" integer PRIMARY KEY NOT NULL,
	"version" bigint NOT NULL
);
--> statement-breakpoint
-- The version of what a search's plan is made of (src/articles/search-index.pg.ts): each word's count in
-- search_terms (which prices a search and may refuse it), and the tags a search's words can name (their
-- slug, name, deletion and article count). Each process keeps the plans of ranked searches, made at a
-- version, and the ranked page's statement reads the version in its own snapshot: a plan made at another
-- one is made again (src/articles/listing/index.pg.ts). Every change moves it, in the writing transaction:
-- search_terms by statement (an article's write changes its words' counts in one), tags by row. It only goes
-- up, by a random step: a database restored to an older state while processes run goes on from an older
-- version along another path, which is unlikely to meet a version a process kept a plan at. A migration
-- that changes the `gazette` text search configuration changes every plan too, and must move it
-- (`SELECT gazette_move_search_plans()`).
INSERT INTO search_plan_version (id, version) VALUES (1, 0);
--> statement-breakpoint
-- Moves the version (the triggers below; db:copy, once; a migration that changes the configuration).
CREATE FUNCTION gazette_move_search_plans() RETURNS void LANGUAGE sql
	BEGIN ATOMIC
		UPDATE search_plan_version SET version = version + 1 + floor(random() * 1000000)::bigint WHERE id = 1;
	END;
--> statement-breakpoint
CREATE FUNCTION gazette_search_plans_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM gazette_move_search_plans();
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER search_plans_terms AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON search_terms FOR EACH STATEMENT EXECUTE FUNCTION gazette_search_plans_moved();
--> statement-breakpoint
CREATE TRIGGER search_plans_tag_added AFTER INSERT ON tags FOR EACH ROW EXECUTE FUNCTION gazette_search_plans_moved();
--> statement-breakpoint
CREATE TRIGGER search_plans_tag_changed AFTER UPDATE OF slug, name, deleted_at, article_count ON tags FOR EACH ROW
	WHEN (old.slug IS DISTINCT FROM new.slug OR old.name IS DISTINCT FROM new.name OR old.deleted_at IS DISTINCT FROM new.deleted_at
		OR old.article_count IS DISTINCT FROM new.article_count)
	EXECUTE FUNCTION gazette_search_plans_moved();
--> statement-breakpoint
-- A deleted tag's row swept away changes no plan: no plan names a deleted tag.
CREATE TRIGGER search_plans_tag_removed AFTER DELETE ON tags FOR EACH ROW WHEN (old.deleted_at IS NULL) EXECUTE FUNCTION gazette_search_plans_moved();
--> statement-breakpoint
CREATE TRIGGER search_plans_tags_truncated AFTER TRUNCATE ON tags FOR EACH STATEMENT EXECUTE FUNCTION gazette_search_plans_moved();
--> statement-breakpoint
-- Every table notifies the change clock (migrations/pg/0003); this one moves only with tables that notify too.
CREATE TRIGGER gazette_notify_change AFTER INSERT OR UPDATE OR DELETE ON search_plan_version FOR EACH ROW EXECUTE FUNCTION gazette_notify_change();
--> statement-breakpoint
CREATE TRIGGER gazette_notify_truncate AFTER TRUNCATE ON search_plan_version FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_change();
