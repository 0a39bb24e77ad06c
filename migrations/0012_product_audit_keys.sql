CREATE TABLE `product_audit_keys` (
	`tenant_id` text NOT NULL,
	`key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`audit_log_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `product_audit_keys_created_idx` ON `product_audit_keys` (`tenant_id`,`created_at`);