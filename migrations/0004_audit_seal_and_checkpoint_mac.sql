CREATE TABLE `audit_seal_leases` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_audit_logs` (
	`id` text PRIMARY KEY NOT NULL,
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
	`created_at` integer NOT NULL,
	`seq` integer NOT NULL,
	`prev_hash` text,
	`hash` text
);
--> statement-breakpoint
INSERT INTO `__new_audit_logs`("id", "tenant_id", "actor_user_id", "real_user_id", "is_impersonating", "action", "outcome", "target_type", "target_id", "ip", "user_agent", "country", "city", "failure_reason", "before", "after", "metadata", "request_id", "created_at", "seq", "prev_hash", "hash") SELECT "id", "tenant_id", "actor_user_id", "real_user_id", "is_impersonating", "action", "outcome", "target_type", "target_id", "ip", "user_agent", "country", "city", "failure_reason", "before", "after", "metadata", "request_id", "created_at", "seq", "prev_hash", "hash" FROM `audit_logs`;--> statement-breakpoint
DROP TABLE `audit_logs`;--> statement-breakpoint
ALTER TABLE `__new_audit_logs` RENAME TO `audit_logs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `audit_logs_tenant_seq_uq` ON `audit_logs` (`tenant_id`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_tenant_action_idx` ON `audit_logs` (`tenant_id`,`action`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_tenant_actor_idx` ON `audit_logs` (`tenant_id`,`actor_user_id`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_tenant_target_idx` ON `audit_logs` (`tenant_id`,`target_type`,`target_id`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_tenant_created_idx` ON `audit_logs` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `audit_logs_unsealed_idx` ON `audit_logs` (`tenant_id`,`seq`) WHERE hash IS NULL;--> statement-breakpoint
ALTER TABLE `audit_checkpoints` ADD `last_created_at` integer;--> statement-breakpoint
ALTER TABLE `audit_checkpoints` ADD `retention_days` integer;--> statement-breakpoint
ALTER TABLE `audit_checkpoints` ADD `mac` text;