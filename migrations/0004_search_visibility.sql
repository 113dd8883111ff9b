-- A search ranked by relevance checks every match's visibility (status, published_at) and section by id. Those
-- columns sit after the article body and its HTML in the row, in overflow pages, so reading them costs a
-- chain of page reads per match; this narrow index keyed by id holds them (src/articles/listing.ts
-- names it with INDEXED BY: the planner would otherwise take the rowid lookup, which it costs the same).
CREATE INDEX `articles_visibility_idx` ON `articles` (`id`,`status`,`published_at`,`section`);