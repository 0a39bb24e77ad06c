CREATE TABLE `cache_rebuilds` (
	`id` integer PRIMARY KEY NOT NULL,
	`rebuilt_at` integer NOT NULL,
	CONSTRAINT "cache_rebuilds_one_row" CHECK("cache_rebuilds"."id" = 1)
);
