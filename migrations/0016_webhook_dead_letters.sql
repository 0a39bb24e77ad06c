-- Product webhooks that failed for a day (src/webhooks/dead-letters.ts): kept for the
-- operator to inspect and replay (src/webhooks/routes.ts). One row per audit event id.
CREATE TABLE `webhook_dead_letters` (
	`event_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`seq` integer NOT NULL,
	`type` text NOT NULL,
	`body` text NOT NULL,
	`attempts` integer NOT NULL,
	`first_failed_at` integer NOT NULL,
	`dead_at` integer NOT NULL,
	`last_error` text,
	`replay_requested_at` integer
);
--> statement-breakpoint
CREATE INDEX `webhook_dead_letters_tenant_idx` ON `webhook_dead_letters` (`tenant_id`,`seq`);
--> statement-breakpoint
CREATE INDEX `webhook_dead_letters_dead_idx` ON `webhook_dead_letters` (`dead_at`);
--> statement-breakpoint
-- Tenants whose delivery request could not be queued (src/webhooks/queue.ts): the hourly
-- cron queues it again.
CREATE TABLE `webhook_pokes_owed` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`since` integer NOT NULL
);
