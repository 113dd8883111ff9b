-- The public's "recently updated" list: published articles in updated_at order, one index range per page.
CREATE INDEX `articles_status_updated_idx` ON `articles` (`status`,`updated_at`,`id`);
