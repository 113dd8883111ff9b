-- A write may say what public answers it touched (src/db/pg/change-clock.ts, declareKeys): a transaction
-- that sets `gazette.keys` (set_config(…, true): for that transaction only) to 'k:' and its dependency keys
-- (`article:12 comments:12`; README.md "Behind a CDN") notifies them in place of the empty payload, and each
-- process's response cache drops the answers that read one of them rather than all (migrations/pg/0003
-- made every row written notify ''). A row written while nothing is declared (a transaction that never set
-- it, or before it did) still notifies '': everything goes, so a forgotten declaration is slow, never stale.
-- public_changes (the Last-Modified of feeds and sitemaps, moved by triggers) adds the public clock's key,
-- as SQLite's declareWrite finds out for itself.
CREATE OR REPLACE FUNCTION gazette_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	declared text := current_setting('gazette.keys', true);
BEGIN
	IF declared IS NULL OR declared = '' THEN
		PERFORM pg_notify('gazette_changes', '');
	ELSIF TG_TABLE_NAME = 'public_changes' THEN
		PERFORM pg_notify('gazette_changes', declared || ' public-clock');
	ELSE
		PERFORM pg_notify('gazette_changes', declared);
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
-- The idempotency records stop notifying, as the webhook tables did (0007): no public answer reads them, and
-- every idempotent POST writes one twice (its claim, then its stored answer).
DROP TRIGGER gazette_notify_change ON idempotency_keys;--> statement-breakpoint
DROP TRIGGER gazette_notify_truncate ON idempotency_keys;
