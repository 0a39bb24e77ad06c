-- The tenant's audit stream to its SIEM (src/audit-stream/table.ts): endpoint, preset, the
-- sealed token, pause and the last replay asked for. The delivery cursor lives in the
-- tenant's Durable Object.
CREATE TABLE `audit_streams` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`preset` text NOT NULL,
	`url` text NOT NULL,
	`token_enc` text NOT NULL,
	`token_hint` text NOT NULL,
	`paused` integer DEFAULT false NOT NULL,
	`replay_id` text NOT NULL,
	`replay_from_seq` integer NOT NULL,
	`saved_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`saved_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "audit_streams_preset_known" CHECK("audit_streams"."preset" IN ('splunk_hec', 'datadog', 'ndjson')),
	CONSTRAINT "audit_streams_replay_from" CHECK("audit_streams"."replay_from_seq" >= 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_streams_tenant_id_unique` ON `audit_streams` (`tenant_id`);
