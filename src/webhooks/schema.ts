/**
 * D1's table of dead-lettered webhooks (migrations/0016_webhook_dead_letters.sql), declared
 * here beside its only users (./dead-letters.ts, ./routes.ts).
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const webhookDeadLetters = sqliteTable(
  "webhook_dead_letters",
  {
    eventId: text("event_id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    seq: integer("seq").notNull(),
    type: text("type").notNull(),
    /** The payload as it was signed: the same bytes go out again on a replay. */
    body: text("body").notNull(),
    attempts: integer("attempts").notNull(),
    firstFailedAt: integer("first_failed_at").notNull(),
    deadAt: integer("dead_at").notNull(),
    lastError: text("last_error"),
    replayRequestedAt: integer("replay_requested_at"),
  },
  (t) => [index("webhook_dead_letters_tenant_idx").on(t.tenantId, t.seq), index("webhook_dead_letters_dead_idx").on(t.deadAt)],
);

export type WebhookDeadLetter = typeof webhookDeadLetters.$inferSelect;

/** Tenants whose delivery request the queue refused: the hourly cron sends it again (src/webhooks/queue.ts). */
export const webhookPokesOwed = sqliteTable("webhook_pokes_owed", {
  tenantId: text("tenant_id").primaryKey(),
  since: integer("since").notNull(),
});
