CREATE TABLE `audit_oldest` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `audit_outbox` (
	`position` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`actor_user_id` text,
	`real_user_id` text,
	`is_impersonating` integer DEFAULT false NOT NULL,
	`action` text NOT NULL,
	`outcome` text NOT NULL,
	`target_type` text,
	`target_id` text,
	`ip` text,
	`user_agent` text,
	`country` text,
	`city` text,
	`failure_reason` text,
	`before` text,
	`after` text,
	`metadata` text,
	`request_id` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_outbox_id_unique` ON `audit_outbox` (`id`);--> statement-breakpoint
CREATE INDEX `audit_outbox_tenant_idx` ON `audit_outbox` (`tenant_id`,`position`);
