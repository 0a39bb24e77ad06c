CREATE TABLE `invitations` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`email` text NOT NULL,
	`role` text NOT NULL,
	`token_hash` text NOT NULL,
	`invited_by` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`accepted_at` integer,
	`accepted_user_id` text,
	`revoked_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "invitations_role_known" CHECK("invitations"."role" IN ('owner', 'admin', 'member')),
	CONSTRAINT "invitations_email_normalised" CHECK("invitations"."email" = lower(trim("invitations"."email")) AND length("invitations"."email") > 0),
	CONSTRAINT "invitations_single_outcome" CHECK("invitations"."accepted_at" IS NULL OR "invitations"."revoked_at" IS NULL)
);
--> statement-breakpoint
CREATE INDEX `invitations_tenant_idx` ON `invitations` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `invitations_open_email_uq` ON `invitations` (`tenant_id`,`email`) WHERE accepted_at IS NULL AND revoked_at IS NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `disabled_at` integer;--> statement-breakpoint
-- D1 ignores foreign_keys=OFF: defer the checks to the end of the migration instead, when
-- the rebuilt users table holds every id that user_sessions and recovery_codes name.
PRAGMA defer_foreign_keys = on;--> statement-breakpoint
CREATE TABLE `__new_users` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`email` text NOT NULL,
	`display_name` text NOT NULL,
	`role` text NOT NULL,
	`password_hash` text NOT NULL,
	`session_version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`disabled_at` integer,
	`totp_secret_enc` text,
	`totp_pending_secret_enc` text,
	`totp_pending_session_id` text,
	`totp_enabled` integer DEFAULT false NOT NULL,
	`totp_last_step` integer,
	`permission_overrides` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "users_role_known" CHECK("role" IN ('owner', 'admin', 'member')),
	CONSTRAINT "users_email_normalised" CHECK("email" = lower(trim("email")) AND length("email") > 0)
);
--> statement-breakpoint
-- Existing emails are normalised on the way (a mixed-case one could never sign in).
INSERT INTO `__new_users`("id", "tenant_id", "email", "display_name", "role", "password_hash", "session_version", "created_at", "disabled_at", "totp_secret_enc", "totp_pending_secret_enc", "totp_pending_session_id", "totp_enabled", "totp_last_step", "permission_overrides") SELECT "id", "tenant_id", lower(trim("email")), "display_name", "role", "password_hash", "session_version", "created_at", "disabled_at", "totp_secret_enc", "totp_pending_secret_enc", "totp_pending_session_id", "totp_enabled", "totp_last_step", "permission_overrides" FROM `users`;--> statement-breakpoint
DROP TABLE `users`;--> statement-breakpoint
ALTER TABLE `__new_users` RENAME TO `users`;--> statement-breakpoint
PRAGMA defer_foreign_keys = off;--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);--> statement-breakpoint
CREATE INDEX `users_tenant_idx` ON `users` (`tenant_id`,`email`);
