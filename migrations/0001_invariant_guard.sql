CREATE TABLE `invariant_guard` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`invariant` text NOT NULL,
	`ok` integer NOT NULL,
	CONSTRAINT "invariant_guard_ok" CHECK("invariant_guard"."ok" = 1)
);
