-- The change clock across processes (what PRAGMA data_version is to SQLite, src/http/response-cache.ts):
-- every row written notifies the channel `gazette_changes` (per row, not per statement: a statement that
-- changes nothing, such as an UPDATE matching no row or a purge with nothing to purge, must not empty
-- every process's cache). PostgreSQL delivers notifications when their transaction commits (never for one
-- that rolls back) to every session that listens, the same ones of a transaction folded into one. Each
-- Gazette process listens on one connection (src/db/pg/change-clock.ts) and ends its response cache's
-- epoch on each, so a write on one process is seen by every other within milliseconds. Every table, as
-- data_version moves on any write: a table a later migration adds needs the same triggers
-- (test/pg/change-clock.test.ts fails otherwise).
CREATE FUNCTION gazette_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('gazette_changes', '');
	RETURN NULL;
END $$;
--> statement-breakpoint
DO $$
DECLARE
	t text;
BEGIN
	FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename LOOP
		EXECUTE format('CREATE TRIGGER gazette_notify_change AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION gazette_notify_change()', t);
		EXECUTE format('CREATE TRIGGER gazette_notify_truncate AFTER TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_change()', t);
	END LOOP;
END $$;
