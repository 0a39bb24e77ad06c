CREATE TABLE `retention_cursors` (
	`job` text PRIMARY KEY NOT NULL,
	`tenant_id` text,
	`updated_at` integer NOT NULL
);
