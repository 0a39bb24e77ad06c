/**
 * Reading the tenant's edge document: the in-isolate copy, else KV, else the document
 * rebuilt from D1, its refill left to the tenant's object (docs/consistency.md). Any KV or D1
 * error throws.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { log } from "../lib/log";
import { tenantObject } from "../tenant-object/stub";
import { buildFromDb } from "./build";
import { TENANT_EDGE_TTL_SECONDS, type TenantEdgeState, parseStoredDocument, tenantEdgeKey } from "./document";

export const LOCAL_TENANT_EDGE_MS = 1000;
const LOCAL_MAX_TENANTS = 1000;

const local = new Map<string, { doc: TenantEdgeState; storedAt: number }>();

/** Keeps `doc` as this isolate's copy of its tenant's document (trusted for LOCAL_TENANT_EDGE_MS). */
export function keepInIsolate(doc: TenantEdgeState, nowMs: number): void {
  if (local.size >= LOCAL_MAX_TENANTS) local.delete(local.keys().next().value as string);
  local.delete(doc.tenantId); // re-insert: Map order is the eviction order
  local.set(doc.tenantId, { doc, storedAt: nowMs });
}

/** The stored document, or why it cannot be used (then it is rebuilt from D1). Throws only if KV does. */
async function readFromKv(kv: KVNamespace, tenantId: string): Promise<TenantEdgeState | { unusable: string } | null> {
  const text = await kv.get(tenantEdgeKey(tenantId), "text");
  return text === null ? null : parseStoredDocument(text, tenantId);
}

export const writeToKv = (kv: KVNamespace, doc: TenantEdgeState) =>
  kv.put(tenantEdgeKey(doc.tenantId), JSON.stringify(doc), { expirationTtl: TENANT_EDGE_TTL_SECONDS });

/**
 * The tenant's document for the edge check: the in-isolate copy (≤ 1 s), else KV, else
 * (missing or unusable) rebuilt from D1, and the tenant's object asked to write it back.
 * Throws on any KV or D1 error.
 */
export async function readEdgeState(c: Context<AppEnv>, tenantId: string): Promise<TenantEdgeState> {
  const now = c.get("now");
  const hit = local.get(tenantId);
  const age = hit ? now - hit.storedAt : Number.POSITIVE_INFINITY;
  if (hit && age >= 0 && age < LOCAL_TENANT_EDGE_MS) return hit.doc;
  const stored = await readFromKv(c.env.SESSION_CACHE, tenantId);
  if (stored && !("unusable" in stored)) {
    keepInIsolate(stored, now);
    return stored;
  }
  if (stored) log.warn("tenant edge document unusable; rebuilt from D1", { tenantId, reason: stored.unusable });
  const rebuilt = await buildFromDb(c.var.db, tenantId, now);
  keepInIsolate(rebuilt, now);
  // The decision is already made from D1. The refill is the tenant's object's to write (the
  // document's one writer, src/tenant-object/edge-writer.ts); a failed one only costs the next
  // request a D1 batch.
  c.executionCtx.waitUntil(tenantObject(c.env, tenantId).edgeChanged(tenantId, now).catch(() => undefined));
  return rebuilt;
}
