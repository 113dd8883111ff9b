-- Articles the public could already see before the event log existed count as announced: the log starts
-- with the changes made after this migration, instead of an article.published for the whole archive on
-- the first start. Scheduled articles stay unannounced, so each gets its article.published when due.
UPDATE `articles` SET `announced` = 1
WHERE `status` = 'published' AND `published_at` <= CAST(unixepoch('subsec') * 1000 AS INTEGER);
