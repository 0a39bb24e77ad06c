CREATE TABLE `session_state_changes` (
	`tenant_id` text NOT NULL,
	`subject_type` text NOT NULL,
	`subject_id` text NOT NULL,
	`fingerprint` text NOT NULL,
	`changed_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `subject_type`, `subject_id`)
);
--> statement-breakpoint
CREATE INDEX `session_state_changes_recent_idx` ON `session_state_changes` (`tenant_id`,`changed_at`);--> statement-breakpoint
CREATE INDEX `user_sessions_tenant_revoked_idx` ON `user_sessions` (`tenant_id`,`revoked_at`);