/**
 * Enforcement: on every authenticated request (the edge check's last step, src/edge-check.ts) and at
 * sign-in once the user, so the tenant, is known. Rules bind every role, owners
 * included; the lockout guard on changes is what keeps admins in.
 *
 * The address comes from CF-Connecting-IP only (src/lib/request-meta.ts): Cloudflare
 * sets and overwrites it, while X-Forwarded-For, X-Real-IP, True-Client-IP are
 * whatever the client sends.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { clientIp } from "../lib/request-meta";
import { loadRuleSet } from "../edge-document/rules-and-policy";
import { decide } from "./ruleset";
import { recordDenial } from "./service";

async function enforce(c: Context<AppEnv>, tenantId: string, userId: string, stage: "sign-in" | "request"): Promise<void> {
  const set = await loadRuleSet(c, tenantId);
  const decision = decide(set, clientIp(c), c.get("now"));
  if (decision.allowed) return;
  await recordDenial(c, { tenantId, userId, stage }, decision);
  // Which rule matched is not told to the blocked client; admins see it in the audit row.
  throw new ApiError(
    403,
    "IP_BLOCKED",
    "Access from your network address is not allowed by your organisation",
    // Read by the sign-in route's audit wrapper, which writes LOGIN_FAILED in the user's tenant.
    { audit: { tenantId, actorUserId: userId, targetType: "user", targetId: userId, failureReason: "IP_BLOCKED" } },
  );
}

/** The edge check's third step, on every authenticated request. */
export const enforceIpRules = () =>
  createMiddleware<AppEnv>(async function enforceIpRules(c, next) {
    const user = c.get("user");
    await enforce(c, user.tenantId, user.id, "request");
    await next();
  });

/**
 * Called by sign-in once the user (so the tenant) is known, whatever the password:
 * a refused address gets 403 IP_BLOCKED before any session exists, and never learns
 * whether the password was right.
 */
export async function assertIpAllowed(c: Context<AppEnv>, tenantId: string, userId: string): Promise<void> {
  await enforce(c, tenantId, userId, "sign-in");
}
