-- The version of the tags (migrations/pg/0012) moves by a random step, not by one, and on a tag's insert
-- too. Each process's dictionary (src/tags/tag-refs.ts) takes a version it has learnt names at to mean
-- those names. A database brought back to an older state while processes run (a point-in-time recovery, a
-- failover to a replica that lagged) goes on from an older version, and from an older state of the tags'
-- identity sequence:
-- - moved by one, its next changes would reach again the version a process learnt other names at, and a
--   process that read nothing in between would go on showing those names. Moved by a random step (1 to
--   1,000,000), a move lands on the one version a process holds with a chance of one in a million at most;
-- - a tag created since may be given an id that a tag of the abandoned history had, whose name a process
--   learnt. 0012 left inserts out (an id is never reused on one line of history); now they move the
--   version, so the new tag's id is looked up again.
-- Still an integer, wrapping before 2^31 (once in about 4,000 moves on average): the reads' statements
-- keep their result type, so processes of the release before this one keep their prepared statements
-- while it migrates. The dictionary needs no order of versions: any version other than its own is another.
CREATE OR REPLACE FUNCTION gazette_tag_refs_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE tag_refs_version SET version = ((version::bigint + 1 + floor(random() * 1000000)::bigint) % 2147483647)::integer WHERE id = 1;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tag_refs_added AFTER INSERT ON tags FOR EACH ROW EXECUTE FUNCTION gazette_tag_refs_moved();
