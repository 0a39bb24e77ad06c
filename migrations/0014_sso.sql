-- Single sign-on (OIDC connections, their domains, sign-ins in flight, linked identities,
-- back-channel logout tokens seen) and SCIM tokens: src/sso, src/scim.
CREATE TABLE `scim_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `scim_tokens_tenant_id_unique` ON `scim_tokens` (`tenant_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `scim_tokens_token_hash_unique` ON `scim_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `sso_connections` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`protocol` text NOT NULL,
	`issuer` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret_enc` text NOT NULL,
	`provider_metadata` text NOT NULL,
	`jit_provisioning` integer DEFAULT false NOT NULL,
	`default_role` text DEFAULT 'member' NOT NULL,
	`require_sso` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "sso_connections_protocol_known" CHECK("sso_connections"."protocol" IN ('oidc')),
	CONSTRAINT "sso_connections_default_role" CHECK("sso_connections"."default_role" IN ('member', 'admin'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sso_connections_tenant_id_unique` ON `sso_connections` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `sso_domains` (
	`domain` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`connection_id` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`connection_id`) REFERENCES `sso_connections`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "sso_domains_normalised" CHECK("sso_domains"."domain" = lower(trim("sso_domains"."domain")) AND length("sso_domains"."domain") > 0)
);
--> statement-breakpoint
CREATE INDEX `sso_domains_connection_idx` ON `sso_domains` (`connection_id`);--> statement-breakpoint
CREATE TABLE `sso_flows` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`connection_id` text NOT NULL,
	`state_hash` text NOT NULL,
	`nonce_hash` text NOT NULL,
	`binding_hash` text NOT NULL,
	`code_verifier_enc` text NOT NULL,
	`return_to` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sso_flows_state_hash_unique` ON `sso_flows` (`state_hash`);--> statement-breakpoint
CREATE INDEX `sso_flows_expiry_idx` ON `sso_flows` (`expires_at`);--> statement-breakpoint
CREATE TABLE `sso_identities` (
	`connection_id` text NOT NULL,
	`subject` text NOT NULL,
	`tenant_id` text NOT NULL,
	`user_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_sign_in_at` integer,
	PRIMARY KEY(`connection_id`, `subject`),
	FOREIGN KEY (`connection_id`) REFERENCES `sso_connections`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sso_identities_user_uq` ON `sso_identities` (`user_id`,`connection_id`);--> statement-breakpoint
CREATE TABLE `sso_logout_tokens` (
	`key` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `user_sessions` ADD `sso_connection_id` text;--> statement-breakpoint
ALTER TABLE `user_sessions` ADD `sso_subject` text;--> statement-breakpoint
ALTER TABLE `user_sessions` ADD `sso_sid` text;--> statement-breakpoint
CREATE INDEX `user_sessions_sso_subject_idx` ON `user_sessions` (`sso_connection_id`,`sso_subject`) WHERE sso_connection_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `user_sessions_sso_sid_idx` ON `user_sessions` (`sso_connection_id`,`sso_sid`) WHERE sso_sid IS NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `scim_external_id` text;