/**
 * The tenant's audit chain in its Durable Object's SQLite storage: the same `audit_logs`
 * and `audit_checkpoints` tables as src/db/schema.ts declares them (so src/audit/ reads
 * them with the same drizzle tables), plus `audit_state`, the drain's bookmarks
 * (./audit-drain.ts). One object holds one tenant: seq is the row's INTEGER PRIMARY KEY,
 * and the indexes need no tenant column.
 */
import { getTableColumns } from "drizzle-orm";
import { drizzle } from "drizzle-orm/durable-sqlite";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import * as schema from "../db/schema";

const DDL = [
  `CREATE TABLE IF NOT EXISTS audit_logs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    actor_user_id TEXT,
    real_user_id TEXT,
    is_impersonating INTEGER NOT NULL DEFAULT 0,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    ip TEXT,
    user_agent TEXT,
    country TEXT,
    city TEXT,
    failure_reason TEXT,
    before TEXT,
    after TEXT,
    metadata TEXT,
    request_id TEXT,
    created_at INTEGER NOT NULL,
    prev_hash TEXT,
    hash TEXT
  )`,
  "CREATE INDEX IF NOT EXISTS audit_logs_action_idx ON audit_logs (action, seq)",
  "CREATE INDEX IF NOT EXISTS audit_logs_actor_idx ON audit_logs (actor_user_id, seq)",
  "CREATE INDEX IF NOT EXISTS audit_logs_target_idx ON audit_logs (target_type, target_id, seq)",
  "CREATE INDEX IF NOT EXISTS audit_logs_created_idx ON audit_logs (created_at)",
  `CREATE TABLE IF NOT EXISTS audit_checkpoints (
    tenant_id TEXT PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    pruned_at INTEGER NOT NULL,
    last_created_at INTEGER,
    retention_days INTEGER,
    mac TEXT
  )`,
  "CREATE TABLE IF NOT EXISTS audit_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
];

export type AuditDb = ReturnType<typeof openAuditStore>;

/** The tables, created if this object has none yet (idempotent), and drizzle over them. */
export function openAuditStore(storage: DurableObjectStorage) {
  for (const statement of DDL) storage.sql.exec(statement);
  return drizzle(storage, { schema });
}

/**
 * The drain's bookmarks: the highest legacy (D1) seq imported, whether the legacy checkpoint
 * was looked for, and the oldest row's time last reported to D1; and the newest seq this
 * object anchored in R2 (src/audit/anchor-sweep.ts).
 */
export type AuditStateKey = "legacy_seq" | "legacy_checkpoint" | "oldest_reported" | "anchored_seq";

export function readState(storage: DurableObjectStorage, key: AuditStateKey): number {
  const [row] = storage.sql.exec<{ value: number }>("SELECT value FROM audit_state WHERE key = ?", key).toArray();
  return row?.value ?? 0;
}

export function writeState(storage: DurableObjectStorage, key: AuditStateKey, value: number): void {
  storage.sql.exec("INSERT INTO audit_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
}

/**
 * The chain's INSERT, its columns and their encodings read from drizzle's `auditLogs` (the
 * one declaration of the table): built once, not per row as drizzle's query builder would.
 * Building it per row was the larger part of a drain's CPU: a 30,000-row import ran at 924
 * rows a second locally with drizzle's insert, 1,287 with this.
 */
const CHAIN_COLUMNS = Object.entries(getTableColumns(schema.auditLogs)) as [keyof schema.AuditLog, SQLiteColumn][];
const INSERT_CHAIN_ROW = `INSERT INTO audit_logs (${CHAIN_COLUMNS.map(([, c]) => c.name).join(", ")}) VALUES (${CHAIN_COLUMNS.map(() => "?").join(", ")})`;

/** Stores linked rows as they are (call inside the page's transaction). */
export function insertChainRows(storage: DurableObjectStorage, rows: readonly schema.AuditLog[]): void {
  for (const row of rows) {
    storage.sql.exec(INSERT_CHAIN_ROW, ...CHAIN_COLUMNS.map(([key, column]) => (row[key] === null || row[key] === undefined ? null : column.mapToDriverValue(row[key]))));
  }
}
