/**
 * Rewriting the tenant's edge document after a change committed to D1: a fresh build from
 * D1 for this isolate at once, and the tenant's Durable Object told, which writes KV at most
 * once a second (src/tenant-object/edge-writer.ts, docs/consistency.md).
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { tenantObject } from "../tenant-object/stub";
import { buildFromDb } from "./build";
import { keepInIsolate } from "./read";

/**
 * After a change (rules, policy, a user or their sessions) was committed to D1: rebuilds the
 * whole document from D1 for this isolate, then tells the tenant's object, which has stored
 * the change when this returns and writes the document to KV within KV's limit. Throws if D1
 * fails or the object cannot be told; the change itself is saved either way (the caller
 * answers its success with the propagation delayed, src/propagation.ts).
 */
export async function rewriteEdgeState(c: Context<AppEnv>, tenantId: string): Promise<void> {
  const now = c.get("now");
  keepInIsolate(await buildFromDb(c.var.db, tenantId, now), now);
  await tenantObject(c.env, tenantId).edgeChanged(tenantId, now);
}
