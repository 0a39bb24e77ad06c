DROP INDEX `users_email_unique`;--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_current_uq` ON `users` (`email`) WHERE removed_at IS NULL;