/**
 * The tenant's audit stream as D1 holds it (migrations/0017_audit_stream.sql): where the
 * tenant's SIEM listens, its token (sealed, ./token-box.ts), whether the owner paused it, and
 * the last replay asked for. What was delivered (the cursor) lives in the tenant's object
 * (./state.ts), never here: D1 holds what the owner decided, each change committed with its
 * audit row; the object holds what happened.
 */
import { sql } from "drizzle-orm";
import { check, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants, users } from "../db/schema";
import { STREAM_PRESETS } from "./vocabulary";

export const auditStreams = sqliteTable(
  "audit_streams",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .unique()
      .references(() => tenants.id),
    preset: text("preset", { enum: STREAM_PRESETS }).notNull(),
    url: text("url").notNull(),
    /** The token sealed under TOTP_ENCRYPTION_KEY, bound to this tenant's stream (./token-box.ts). */
    tokenEnc: text("token_enc").notNull(),
    /** Its last four characters, to tell tokens apart in the panel. */
    tokenHint: text("token_hint").notNull(),
    paused: integer("paused", { mode: "boolean" }).notNull().default(false),
    /** The newest replay asked for (a new id each time): the object applies each id once. */
    replayId: text("replay_id").notNull(),
    replayFromSeq: integer("replay_from_seq").notNull(),
    /** The owner who last saved it: the stream delivers only while they are an enabled owner. */
    savedBy: text("saved_by")
      .notNull()
      .references(() => users.id),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    check("audit_streams_preset_known", sql`${t.preset} IN ('splunk_hec', 'datadog', 'ndjson')`),
    check("audit_streams_replay_from", sql`${t.replayFromSeq} >= 1`),
  ],
);

export type AuditStream = typeof auditStreams.$inferSelect;
