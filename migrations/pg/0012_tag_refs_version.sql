-- The version of the tags as articles show them (slug and name, and whether the tag is deleted). A read of
-- articles takes each one's tags as ids from article_tags, with this version, and names them from its
-- process's dictionary (src/tags/tag-refs.ts), which forgets everything when the version has moved: naming
-- each tag in SQL was a fifth of a ranked search's page statement (bench/README.md, "Tags named from a
-- dictionary"). Every change a reader could see moves it: a rename or re-slug, a deletion or its undoing,
-- and a tag removed that was not deleted first (the sweeper's removal of a deleted tag's row changes nothing a
-- reader sees: it was gone already). A new tag does not: its id is one no dictionary holds (an identity is never
-- reused), so the first read that meets it looks it up. The row is updated in the writing transaction, so
-- a reader's snapshot sees the version and the tags of one moment.
CREATE TABLE "tag_refs_version" (
	"id" integer PRIMARY KEY NOT NULL,
	"version" integer NOT NULL
);
--> statement-breakpoint
INSERT INTO tag_refs_version (id, version) VALUES (1, 0);
--> statement-breakpoint
CREATE FUNCTION gazette_tag_refs_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE tag_refs_version SET version = version + 1 WHERE id = 1;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tag_refs_changed AFTER UPDATE OF slug, name, deleted_at ON tags FOR EACH ROW
	WHEN (old.slug IS DISTINCT FROM new.slug OR old.name IS DISTINCT FROM new.name OR old.deleted_at IS DISTINCT FROM new.deleted_at)
	EXECUTE FUNCTION gazette_tag_refs_moved();
--> statement-breakpoint
CREATE TRIGGER tag_refs_removed AFTER DELETE ON tags FOR EACH ROW WHEN (old.deleted_at IS NULL) EXECUTE FUNCTION gazette_tag_refs_moved();
--> statement-breakpoint
-- Every table notifies the change clock (migrations/pg/0003); this one moves only with tags, which notify too.
CREATE TRIGGER gazette_notify_change AFTER INSERT OR UPDATE OR DELETE ON tag_refs_version FOR EACH ROW EXECUTE FUNCTION gazette_notify_change();
--> statement-breakpoint
CREATE TRIGGER gazette_notify_truncate AFTER TRUNCATE ON tag_refs_version FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_change();
