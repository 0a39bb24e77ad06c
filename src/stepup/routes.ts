import { loadOwnUser } from "../sessions/own-user";
import { type Context, Hono } from "hono";
import { z } from "../lib/zod";
import { audited } from "../audit/middleware";
import { type AuditEvent, commitWithAudit } from "../audit/service";
import { stepupChallenges } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { randomId } from "../lib/crypto";
import { validate, validationFailed } from "../lib/validation";
import { authenticationResponseSchema } from "../passkeys/ceremony";
import { stepUpPasskeyOptions } from "../passkeys/options";
import { type StepUpPolicy, allowedWhileImpersonating, declaredProductPurpose, stepUpPolicyOf } from "./policy";
import { stepUpChallengeFor, stepUpRequirement } from "./phishing-resistance";
import { productStepUpPurposes } from "./product-purposes";
import { SECOND_FACTOR_REFUSALS, verifySecondFactor } from "./second-factor";
import { answers } from "../openapi/notes";

const verifySchema = z
  .strictObject({
    // Gatehouse's purposes or the product's (configured): checked against both below.
    purpose: z.string().max(64),
    code: z.string().trim().max(10).optional(),
    recoveryCode: z.string().trim().max(64).optional(),
    password: z.string().min(1).max(256).optional(),
    passkey: authenticationResponseSchema.optional(),
  })
  .refine((b) => [b.code, b.recoveryCode, b.password, b.passkey].filter((v) => v !== undefined).length === 1, {
    message: "Send exactly one of passkey, code, recoveryCode or password",
  });

const challengeQuery = z.strictObject({ purpose: z.string().max(64) });
const optionsBody = z.strictObject({ purpose: z.string().max(64) });

/** A purpose's policy, Gatehouse's or the product's; 400 for any other name. */
function knownPurpose(c: Context<AppEnv>, purpose: string) {
  const policy = stepUpPolicyOf(purpose, productStepUpPurposes(c.env));
  if (!policy) throw validationFailed("json", [{ path: ["purpose"], message: "is not a known step-up purpose" }]);
  return policy;
}


/** While impersonating, the admin may verify only to exit, or for a product purpose that allows it: never for Gatehouse's actions. */
function assertVerifiableNow(c: Context<AppEnv>, policy: StepUpPolicy) {
  if (c.get("actor").isImpersonating && !allowedWhileImpersonating(policy)) {
    throw new ApiError(403, "IMPERSONATION_FORBIDDEN", "Only exiting impersonation can be verified while impersonating");
  }
}

/** Mounted at /api/security/stepup, behind requireSession. */
export const stepUpRoutes = new Hono<AppEnv>()
  // What a 428 for `purpose` would say to this session's (real) user: the panel's step-up
  // page reads it rather than trust a label or methods from its address bar.
  .get("/challenge", validate("query", challengeQuery), answers("VALIDATION_FAILED"), async (c) => {
    const { purpose } = c.req.valid("query");
    // The product's purposes only: Gatehouse's own are asked for by the panel's modal, never through the frameable page.
    const policy = declaredProductPurpose(productStepUpPurposes(c.env), purpose);
    if (!policy) throw validationFailed("query", [{ path: ["purpose"], message: "is not a step-up purpose of the product" }]);
    return c.json(await stepUpChallengeFor(c, purpose, policy, c.get("realUser")));
  })
  // A passkey's challenge for this session and purpose (single use, 5 minutes), listing the user's passkeys.
  .post("/options", audited("STEP_UP_VERIFIED", { targetType: "session" }), validate("json", optionsBody), answers("METHOD_NOT_ALLOWED", "IMPERSONATION_FORBIDDEN"), async (c) => {
    const { purpose } = c.req.valid("json");
    const policy = knownPurpose(c, purpose);
    assertVerifiableNow(c, policy);
    const user = await loadOwnUser(c);
    const { methods } = await stepUpRequirement(c, policy, user);
    if (!methods.includes("passkey")) {
      throw new ApiError(400, "METHOD_NOT_ALLOWED", `Verify with one of: ${methods.join(", ") || "none (enrol two-factor first)"}`, { details: { methods } });
    }
    return c.json({ options: await stepUpPasskeyOptions(c, user, { sessionId: c.get("session").id, purpose }) });
  })
  .post(
  "/verify",
  audited("STEP_UP_VERIFIED", { targetType: "session" }),
  validate("json", verifySchema),
  answers("MFA_ENROLLMENT_REQUIRED", "IMPERSONATION_FORBIDDEN", ...SECOND_FACTOR_REFUSALS),
  async (c) => {
    const body = c.req.valid("json");
    const policy = knownPurpose(c, body.purpose);
    const session = c.get("session");
    assertVerifiableNow(c, policy);
    const db = c.var.db;
    const now = c.get("now");
    const user = await loadOwnUser(c);

    const { methods: allowed, passkeyOnly } = await stepUpRequirement(c, policy, user);
    if (allowed.length === 0) {
      const what = passkeyOnly ? "Add a passkey" : "Set up two-factor authentication";
      throw new ApiError(403, "MFA_ENROLLMENT_REQUIRED", `${what} before doing this`, { details: { purpose: body.purpose, ...(passkeyOnly ? { phishingResistantRequired: true } : {}) } });
    }
    const method = await verifySecondFactor(c, user, body, { allowed, passkeyOnly, passkeyChallenge: { sessionId: session.id, purpose: body.purpose } });

    const expiresAt = now + policy.windowSeconds * 1000;
    const grantId = randomId("stp_");
    const events: AuditEvent[] = [
      { action: "STEP_UP_VERIFIED", outcome: "SUCCESS", actorUserId: user.id, targetType: "session", targetId: session.id, metadata: { purpose: body.purpose, method, grantId } },
    ];
    if (method === "recovery_code") {
      events.push({ action: "MFA_RECOVERY_CODE_USED", outcome: "SUCCESS", actorUserId: user.id, targetType: "user", targetId: user.id, metadata: { path: "step-up" } });
    }
    await commitWithAudit(
      c,
      [
        db.insert(stepupChallenges).values({
          id: grantId,
          tenantId: user.tenantId,
          userId: user.id,
          sessionId: session.id,
          purpose: body.purpose,
          method,
          createdAt: now,
          verifiedAt: now,
          expiresAt,
          // Counts only while acting as the same user, in the same impersonation (claimStepUpGrant).
          actingAsUserId: c.get("actor").isImpersonating ? (session.impersonation?.userId ?? null) : null,
        }),
      ],
      events,
    );
    return c.json({ success: true, purpose: body.purpose, expiresAt: new Date(expiresAt).toISOString() });
  },
);
