-- What the tables' migration (0001) needs first: the text search configuration its tag name index names,
-- and the database's clock in milliseconds.
--
-- `gazette` parses like PostgreSQL's `english` and mirrors the SQLite index's tokenizer (porter unicode61
-- remove_diacritics 2, migrations/0001_search.sql): accents fold (unaccent: cafe finds Café), English
-- words stem (snowball english, the successor of SQLite's porter: docked finds dock), and no word is a
-- stop word (FTS5 drops none, so neither does this: "the who" still finds The Who). unaccent ships with
-- PostgreSQL and is a trusted extension: the database's owner may create it (PostgreSQL 13 or later).
CREATE EXTENSION IF NOT EXISTS unaccent;
--> statement-breakpoint
CREATE TEXT SEARCH DICTIONARY gazette_stem (TEMPLATE = snowball, Language = english);
--> statement-breakpoint
CREATE TEXT SEARCH CONFIGURATION gazette (COPY = pg_catalog.simple);
--> statement-breakpoint
ALTER TEXT SEARCH CONFIGURATION gazette
	ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, gazette_stem;
--> statement-breakpoint
-- Now in milliseconds since the epoch, truncated, as SQLite's CAST(unixepoch('subsec') * 1000 AS INTEGER).
-- clock_timestamp(), not now(): now() is when the transaction began, and a stamp that much earlier than
-- the commit could let a feed answer 304 to a client that fetched between the two.
CREATE FUNCTION gazette_now_ms() RETURNS bigint LANGUAGE sql VOLATILE PARALLEL SAFE
	RETURN floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
