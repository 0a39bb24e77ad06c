/**
 * Rewriting the tenant's edge document after a change committed to D1: a fresh build from
 * D1, in this isolate at once and in KV, retried while KV refuses the write
 * (docs/consistency.md).
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { errorSummary, log } from "../lib/log";
import { buildFromDb } from "./build";
import { tenantEdgeKey } from "./document";
import { keepInIsolate, writeToKv } from "./read";

/**
 * KV takes one write per key per second: a writer that meets another write of the same
 * document (another change, a refill) is refused. It then waits and writes a fresh build:
 * any build made after its commit carries its change.
 */
export const EDGE_WRITE_ATTEMPTS = 3;
export const EDGE_WRITE_RETRY_MS = 1100;

/**
 * After a change (rules, policy, a user or their sessions) was committed to D1: rebuilds
 * the whole document from D1 and writes it, in this isolate at once and in KV, retrying a
 * refused write (EDGE_WRITE_ATTEMPTS, each a fresh build), then deleting the stored
 * document (every location then rebuilds it from D1). Throws if D1 fails, or if KV refused
 * every write and the delete; this isolate keeps the copy built after the commit.
 */
export async function rewriteEdgeState(c: Context<AppEnv>, tenantId: string): Promise<void> {
  const kv = c.env.SESSION_CACHE;
  let refused: unknown;
  for (let attempt = 1; attempt <= EDGE_WRITE_ATTEMPTS; attempt++) {
    if (attempt > 1) await c.get("pause")(EDGE_WRITE_RETRY_MS);
    const doc = await buildFromDb(c.var.db, tenantId, c.get("now"));
    keepInIsolate(doc, c.get("now"));
    try {
      await writeToKv(kv, doc);
      return;
    } catch (err) {
      refused = err;
      log.warn("tenant edge document write refused", { tenantId, attempt, error: errorSummary(err) });
    }
  }
  await c.get("pause")(EDGE_WRITE_RETRY_MS);
  try {
    await kv.delete(tenantEdgeKey(tenantId));
  } catch {
    throw refused;
  }
}
