import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { listAnchors } from "../src/audit/anchors";
import { checkpointKeySet } from "../src/audit/checkpoint";
import * as schema from "../src/db/schema";
import type { Bindings } from "../src/env";
import type { AuditLog } from "../src/db/schema";
import { type AuditDb, openAuditStore } from "../src/tenant-object/audit-store";

/**
 * The tenants' audit chains live in their Durable Objects (src/tenant-object/audit-store.ts),
 * in tables named and shaped as D1's were. Tests read (and, to tamper, write) them with SQL
 * as they would a D1 statement: `auditStore.prepare(sql).bind(...)`, the value bound to the
 * statement's first `tenant_id = ?` (or `tenant_id IN (?`) naming the tenant whose object runs
 * it, after its outbox was drained.
 */
const stubOf = (tenantId: string) => env.TENANT.get(env.TENANT.idFromName(tenantId));

type Row = Record<string, SqlStorageValue>;

async function inChain<T>(tenantId: string, work: (state: DurableObjectState) => T): Promise<T> {
  const stub = stubOf(tenantId);
  await stub.drainAudit(tenantId);
  return runInDurableObject(stub, (_instance, state) => work(state));
}

/** Which bound value names the tenant: the `?` of the first `tenant_id = ?` (or `IN (?`), or an INSERT's tenant_id column. */
function tenantParam(query: string): number {
  const insert = /^\s*INSERT INTO \w+ \(([^)]*)\) VALUES/i.exec(query);
  if (insert) return (insert[1] ?? "").split(",").map((c) => c.trim()).indexOf("tenant_id");
  const at = query.search(/tenant_id\s*(=|IN\s*\()\s*\?/i);
  if (at < 0) throw new Error(`no tenant_id = ? in: ${query}`);
  const upTo = query.indexOf("?", at);
  return (query.slice(0, upTo).match(/\?/g) ?? []).length;
}

function statement(query: string, params: SqlStorageValue[]) {
  const tenantId = params[tenantParam(query)];
  if (typeof tenantId !== "string") throw new Error("the value bound to tenant_id names the tenant");
  const exec = () => inChain(tenantId, (state) => state.storage.sql.exec<Row>(query, ...params).toArray());
  return {
    all: async <T = Row>() => ({ results: (await exec()) as T[] }),
    first: async <T = Row>(column?: string): Promise<T | null> => {
      const [row] = await exec();
      if (!row) return null;
      return (column === undefined ? row : row[column]) as T;
    },
    run: async () => {
      await exec();
      return { success: true };
    },
  };
}

export const auditStore = {
  prepare: (query: string) => ({ bind: (...params: SqlStorageValue[]) => statement(query, params) }),
};

/** The tenant's chain in seq order as drizzle reads it (JSON columns decoded), optionally one action's rows only. */
export function auditRowsOf(tenantId: string, action?: string): Promise<AuditLog[]> {
  return inChain(tenantId, (state) => {
    const rows = drizzle(state.storage, { schema }).select().from(schema.auditLogs).orderBy(schema.auditLogs.seq).all();
    return action === undefined ? rows : rows.filter((r) => r.action === action);
  });
}

/** The outbox rows still waiting in D1 for the tenant's object. */
export async function outboxOf(tenantId: string): Promise<{ position: number; id: string }[]> {
  const { results } = await env.DB.prepare("SELECT position, id FROM audit_outbox WHERE tenant_id = ? ORDER BY position").bind(tenantId).all<{ position: number; id: string }>();
  return results;
}

/** How many audit events were ever committed, in every tenant (the outbox's position counter: drained events count too). */
export async function eventsEverCommitted(): Promise<number> {
  return (await env.DB.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'audit_outbox'").first<number>("seq")) ?? 0;
}

/** The ids stored in the tenant's chain, in seq order, without draining first. */
export function storedIds(tenantId: string): Promise<string[]> {
  return runInDurableObject(stubOf(tenantId), (_instance, state) =>
    state.storage.sql.exec<{ id: string }>("SELECT id FROM audit_logs ORDER BY seq").toArray().map((r) => r.id),
  );
}

/** The tenant's chain verified by its object (drained first), with the configured checkpoint key and the anchors in `bucket` (the test environment's AUDIT_ANCHORS). */
export async function verifyChainOf(tenantId: string, nowMs: number, bucket: R2Bucket | undefined = env.AUDIT_ANCHORS) {
  const keys = checkpointKeySet(env as Bindings);
  if (!keys) throw new Error("AUDIT_CHECKPOINT_KEY is not configured");
  return stubOf(tenantId).auditVerify(tenantId, nowMs, keys, await listAnchors(bucket, tenantId));
}

/** Runs `work` inside the tenant's object on its audit store (to prune or read with bindings a test controls). */
export function inAuditStore<T>(tenantId: string, work: (db: AuditDb, state: DurableObjectState) => T | Promise<T>): Promise<T> {
  return runInDurableObject(stubOf(tenantId), (_instance, state) => work(openAuditStore(state.storage), state));
}

/** A D1 binding on which deleting rows of `table` fails (a drain that dies after storing its page, before D1's rows go). */
export function d1LosingDeletesOf(inner: D1Database, table: "audit_outbox" | "audit_logs"): D1Database {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "prepare") return (query: string) => target.prepare(query.replace(new RegExp(`delete from "${table}"`, "i"), `delete from "${table}_gone"`));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
