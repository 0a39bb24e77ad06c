/**
 * TOTP enrolment and management. Replacing or removing a factor, and minting new
 * recovery codes, need a fresh step-up (MFA_CHANGE) with the existing factor, so a
 * hijacked session cannot swap the victim's authenticator for the attacker's.
 * Enrolling a first factor needs a fresh password proof (MFA_ENROLL), so a stolen
 * cookie cannot add a factor of its own; and the pending secret belongs to the
 * session that started the enrolment: only that session can confirm it.
 */
import { loadOwnUser } from "../sessions/own-user";
import { and, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { renderSVG } from "uqr";
import { z } from "../lib/zod";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { assertInBatch, isInvariantViolation } from "../db/invariants";
import { recoveryCodes, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { validate } from "../lib/validation";
import { refreshCachedSessions } from "../sessions/service";
import { emptyBody } from "../lib/schemas";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { withPropagation } from "../propagation";
import { requireStepUp } from "./middleware";
import { hasSecondFactor } from "./policy";
import { newRecoveryCodes } from "./recovery-codes";
import { verifySecondFactor } from "./second-factor";
import { sealSecret } from "./secret-box";
import { assertMayRemoveFactor } from "./factor-policy";
import { generateTotpSecret, otpauthUrl } from "./totp";
import { answers } from "../openapi/notes";

const confirmSchema = z.strictObject({ code: z.string().trim().max(10) });


/** Mounted at /api/security/mfa, behind requireSession. */
export const mfaRoutes = new Hono<AppEnv>()
  .post(
    "/totp/enroll",
    audited("MFA_ENROLLMENT_STARTED", { targetType: "user" }),
    validate("json", emptyBody),
    forbidWhileImpersonating("Changing two-factor settings"),
    requireStepUp((_c, fresh) => (fresh.user.totpEnabled ? "MFA_CHANGE" : "MFA_ENROLL")),
    answers("MFA_UNAVAILABLE"),
    async (c) => {
      const user = await loadOwnUser(c);
      const secret = generateTotpSecret();
      const sealed = await sealSecret(c.env, secret, user.id);
      const db = c.var.db;
      const pending = { totpPendingSecretEnc: sealed, totpPendingSessionId: c.get("session").id };
      await commitWithAudit(c, [db.update(users).set(pending).where(eq(users.id, user.id))], {
        action: "MFA_ENROLLMENT_STARTED",
        outcome: "SUCCESS",
        targetType: "user",
        targetId: user.id,
        metadata: { replacing: user.totpEnabled },
      });
      const url = otpauthUrl(secret, user.email);
      return c.json({ secret, otpauthUrl: url, qrSvg: renderSVG(url) });
    },
  )
  .post("/totp/confirm", audited("MFA_ENROLLED", { targetType: "user" }), validate("json", confirmSchema), forbidWhileImpersonating("Changing two-factor settings"), answers("NO_PENDING_ENROLLMENT", "INVALID_OTP", "REPLAYED_OTP", "TOO_MANY_ATTEMPTS", "MFA_UNAVAILABLE"), async (c) => {
    const user = await loadOwnUser(c);
    const pendingSecret = user.totpPendingSecretEnc;
    // Started by another session (or never): that enrolment is not this session's to finish.
    if (!pendingSecret || user.totpPendingSessionId !== c.get("session").id) {
      throw new ApiError(409, "NO_PENDING_ENROLLMENT", "Start enrolment first (in this session)");
    }
    await verifySecondFactor(c, user, { code: c.req.valid("json").code }, { allowed: ["totp"], totpSecretEnc: pendingSecret });

    const db = c.var.db;
    const now = c.get("now");
    // New recovery codes with the TOTP, as ever; a TOTP added beside a passkey keeps the ones the user has.
    const { codes, statements } = user.passkeyCount === 0 ? await newRecoveryCodes(db, user.tenantId, user.id, now) : { codes: undefined, statements: [] };
    try {
      await commitWithAudit(
        c,
        [
          db
            .update(users)
            .set({ totpSecretEnc: pendingSecret, totpPendingSecretEnc: null, totpPendingSessionId: null, totpEnabled: true })
            .where(and(eq(users.id, user.id), eq(users.totpPendingSecretEnc, pendingSecret), eq(users.totpPendingSessionId, c.get("session").id))),
          // A new enrolment started in between replaced the secret: this code was for the old one.
          ...assertInBatch(db, user.tenantId, "PENDING_ENROLLMENT_UNCHANGED", sql`changes() = 1`),
          ...statements,
        ],
        { action: "MFA_ENROLLED", outcome: "SUCCESS", targetType: "user", targetId: user.id, before: { totpEnabled: user.totpEnabled }, after: { totpEnabled: true } },
      );
    } catch (err) {
      if (isInvariantViolation(err)) throw new ApiError(409, "NO_PENDING_ENROLLMENT", "The enrolment was restarted; scan the new code");
      throw err;
    }
    const propagation = await refreshCachedSessions(c, user.id);
    return c.json({ success: true, ...(codes ? { recoveryCodes: codes } : {}), ...withPropagation(propagation) });
  })
  .post("/totp/disable", audited("MFA_DISABLED", { targetType: "user" }), validate("json", emptyBody), forbidWhileImpersonating("Changing two-factor settings"), requireStepUp("MFA_CHANGE"), answers("MFA_NOT_ENABLED", "LAST_FACTOR_REQUIRED"), async (c) => {
    const user = await loadOwnUser(c);
    if (!user.totpEnabled) throw new ApiError(409, "MFA_NOT_ENABLED", "Two-factor authentication is not enabled");
    await assertMayRemoveFactor(c, user, "totp");
    const db = c.var.db;
    await commitWithAudit(
      c,
      [
        db.update(users).set({ totpSecretEnc: null, totpPendingSecretEnc: null, totpPendingSessionId: null, totpEnabled: false }).where(eq(users.id, user.id)),
        // Recovery codes stand in for any second factor: they go with the last one.
        ...(user.passkeyCount > 0 ? [] : [db.delete(recoveryCodes).where(eq(recoveryCodes.userId, user.id))]),
      ],
      { action: "MFA_DISABLED", outcome: "SUCCESS", targetType: "user", targetId: user.id, before: { totpEnabled: true }, after: { totpEnabled: false } },
    );
    const propagation = await refreshCachedSessions(c, user.id);
    return c.json({ success: true, ...withPropagation(propagation) });
  })
  .post(
    "/recovery-codes/regenerate",
    audited("MFA_RECOVERY_CODES_REGENERATED", { targetType: "user" }),
    validate("json", emptyBody),
    forbidWhileImpersonating("Changing two-factor settings"),
    requireStepUp("MFA_CHANGE"),
    answers("MFA_NOT_ENABLED"),
    async (c) => {
      const user = await loadOwnUser(c);
      if (!hasSecondFactor(user)) throw new ApiError(409, "MFA_NOT_ENABLED", "Two-factor authentication is not enabled");
      const db = c.var.db;
      const { codes, statements } = await newRecoveryCodes(db, user.tenantId, user.id, c.get("now"));
      await commitWithAudit(c, [...statements], {
        action: "MFA_RECOVERY_CODES_REGENERATED",
        outcome: "SUCCESS",
        targetType: "user",
        targetId: user.id,
      });
      return c.json({ success: true, recoveryCodes: codes });
    },
  );
