-- The webhook tables stop notifying gazette_changes (migrations/pg/0003): no public answer reads them, and
-- the dispatcher writes them on every lease and every outcome, so each delivery emptied the response cache
-- of every process. On SQLite the same writes declare no public key (src/webhooks/repository.ts).
DROP TRIGGER gazette_notify_change ON webhooks;--> statement-breakpoint
DROP TRIGGER gazette_notify_truncate ON webhooks;--> statement-breakpoint
DROP TRIGGER gazette_notify_change ON webhook_deliveries;--> statement-breakpoint
DROP TRIGGER gazette_notify_truncate ON webhook_deliveries;
