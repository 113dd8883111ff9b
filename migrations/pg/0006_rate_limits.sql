-- Flood control shared by every process on this database (src/db/pg/rate-limits.ts). UNLOGGED: a
-- counter is rewritten on every comment and search, is worth neither a WAL record nor a replica, and after
-- a crash PostgreSQL empties the table, which only forgives the clients the current minute. No
-- gazette_notify_change trigger (migrations/pg/0003): a counted search is not a change of what the API
-- answers, and must not empty every process's response cache.
CREATE UNLOGGED TABLE "rate_limits" (
	"scope" text NOT NULL,
	"client" text NOT NULL,
	"window_start" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"hits" integer NOT NULL,
	CONSTRAINT "rate_limits_scope_client_pk" PRIMARY KEY("scope","client")
);
--> statement-breakpoint
CREATE INDEX "rate_limits_expires_idx" ON "rate_limits" USING btree ("expires_at");
