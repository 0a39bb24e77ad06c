/**
 * Every audit read goes to the tenant's Durable Object, which holds its chain
 * (src/tenant-object/object.ts) and drains D1's outbox before it answers. Fail closed: an
 * object that cannot be reached (or a drain that fails) answers 503 AUDIT_UNAVAILABLE,
 * never a 500 and never a page that may be missing committed events.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import type { KeySet } from "../lib/key-set";
import { errorSummary, log } from "../lib/log";
import type { TenantObject } from "../tenant-object/object";
import { tenantObject } from "../tenant-object/stub";
import { type AnchorListing, listAnchors } from "./anchors";
import { checkpointKeySet } from "./checkpoint";

/**
 * The object's audit methods as it declares them: RPC copies their answers by structured
 * clone, which keeps rows as they are (the stub's own type loses the JSON columns, typed
 * `unknown`).
 */
export type TenantChain = Pick<TenantObject, "auditSearch" | "auditAscending" | "auditProductActions" | "auditVerify" | "auditPlace" | "auditLastChanged">;

export const tenantChain = (env: AppEnv["Bindings"], tenantId: string) => tenantObject(env, tenantId) as unknown as TenantChain;

export async function readTenantChain<T>(c: Context<AppEnv>, tenantId: string, read: (chain: TenantChain) => Promise<T>): Promise<T> {
  try {
    return await read(tenantChain(c.env, tenantId));
  } catch (err) {
    log.error("audit read failed", { tenantId, error: errorSummary(err) });
    throw new ApiError(503, "AUDIT_UNAVAILABLE", "The audit log cannot be read right now; try again");
  }
}

/** The checkpoint keys a verification needs. Fail closed: without them a checkpoint cannot be authenticated, so nothing is verified (503). */
export function verificationKeys(env: AppEnv["Bindings"]): KeySet {
  const keys = checkpointKeySet(env);
  if (!keys) throw new ApiError(503, "AUDIT_KEY_UNAVAILABLE", "Audit verification is unavailable: the checkpoint key is not configured");
  return keys;
}

/**
 * The tenant's anchors (./anchors.ts) a verification compares the chain with, or that no
 * AUDIT_ANCHORS bucket is bound (the answer then says anchors are not configured). Fail
 * closed: R2 unavailable answers 503 AUDIT_ANCHORS_UNAVAILABLE, never a verification
 * without them.
 */
export async function verificationAnchors(env: AppEnv["Bindings"], tenantId: string): Promise<AnchorListing> {
  try {
    return await listAnchors(env.AUDIT_ANCHORS, tenantId);
  } catch (err) {
    log.error("audit anchors unreadable", { tenantId, error: errorSummary(err) });
    throw new ApiError(503, "AUDIT_ANCHORS_UNAVAILABLE", "Audit verification is unavailable: the anchors cannot be read right now; try again");
  }
}
