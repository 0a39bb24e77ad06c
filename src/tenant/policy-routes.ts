/**
 * /api/tenant/policy: the tenant's policy: require two-factor for everyone, and whose
 * step-ups must use a passkey (requirePhishingResistant; what it means:
 * src/stepup/phishing-resistance.ts).
 * Reading it needs SETTINGS_SECURITY_VIEW (admins see what binds them); changing it is
 * the owners' alone, with step-up. The policy lives in the tenant's cached edge state
 * (src/edge-document/rules-and-policy.ts), rewritten right after the change commits.
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { tenants } from "../db/schema";
import type { AppEnv } from "../env";
import { notFound } from "../errors";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { rewriteEdgeAfterRuleOrPolicyChange } from "../edge-document/rules-and-policy";
import { requirePermission, requireRole } from "../lib/authorize";
import { validate } from "../lib/validation";
import { withPropagation } from "../propagation";
import { z } from "../lib/zod";
import { requireStepUp } from "../stepup/middleware";
import { PHISHING_RESISTANT_SCOPES } from "./policy-vocabulary";

// Either or both: what is not sent stays as it is.
const policyBody = z
  .strictObject({ requireTwoFactor: z.boolean().optional(), requirePhishingResistant: z.enum(PHISHING_RESISTANT_SCOPES).optional() })
  .refine((b) => b.requireTwoFactor !== undefined || b.requirePhishingResistant !== undefined, { message: "Send requireTwoFactor, requirePhishingResistant or both" });

async function readPolicy(c: { var: { db: AppEnv["Variables"]["db"] } }, tenantId: string) {
  const tenant = await c.var.db.query.tenants.findFirst({ where: eq(tenants.id, tenantId) });
  if (!tenant) throw notFound("Tenant", "TENANT_NOT_FOUND");
  return { requireTwoFactor: tenant.requireTwoFactor, requirePhishingResistant: tenant.requirePhishingResistant };
}

/** Mounted at /api/tenant, behind the edge check. */
export const tenantPolicyRoutes = new Hono<AppEnv>()
  .get("/policy", requirePermission("SETTINGS_SECURITY_VIEW"), async (c) => c.json({ policy: await readPolicy(c, c.get("user").tenantId) }))
  .patch(
    "/policy",
    audited("TENANT_POLICY_UPDATED", { targetType: "tenant" }),
    validate("json", policyBody),
    forbidWhileImpersonating("Changing the tenant's policy"),
    requireRole("owner"),
    requireStepUp("TENANT_POLICY_CHANGE"),
    async (c) => {
      const tenantId = c.get("user").tenantId;
      const before = await readPolicy(c, tenantId);
      const body = c.req.valid("json");
      const after = {
        requireTwoFactor: body.requireTwoFactor ?? before.requireTwoFactor,
        requirePhishingResistant: body.requirePhishingResistant ?? before.requirePhishingResistant,
      };
      const db = c.var.db;
      await commitWithAudit(c, [db.update(tenants).set(after).where(eq(tenants.id, tenantId))], {
        action: "TENANT_POLICY_UPDATED",
        outcome: "SUCCESS",
        targetType: "tenant",
        targetId: tenantId,
        before,
        after,
      });
      const propagation = await rewriteEdgeAfterRuleOrPolicyChange(c, tenantId);
      return c.json({ policy: after, ...withPropagation(propagation) });
    },
  );
