/**
 * /api/account: the signed-in user's own account. Changing the password needs the current
 * one (checked under the shared lockout, verifySecondFactor) and a step-up as for other
 * self-service purposes (PASSWORD_CHANGE: TOTP, or the password without TOTP); the other
 * sessions end in the same batch unless the user keeps them (endOtherSessions, default on),
 * and their unused reset links are retired in it either way (passwordChangeStatements).
 * Neither is done on someone's behalf while impersonating.
 */
import { loadOwnUser } from "../sessions/own-user";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { hashPassword } from "../lib/password";
import { assertPasswordAcceptable } from "../lib/password-policy";
import { displayNameSchema } from "../lib/schemas";
import { validate } from "../lib/validation";
import { z } from "../lib/zod";
import { withPropagation } from "../propagation";
import { endSessions } from "../sessions/revoke";
import { refreshCachedSessions } from "../sessions/service";
import { requireStepUp } from "../stepup/middleware";
import { SECOND_FACTOR_REFUSALS, verifySecondFactor } from "../stepup/second-factor";
import { passwordChangeStatements } from "./password-reset";
import { answers } from "../openapi/notes";

const passwordBody = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().max(1024),
  endOtherSessions: z.boolean().default(true),
});

const profileBody = z.strictObject({ displayName: displayNameSchema });


/** Mounted at /api/account, behind the edge check. */
export const accountRoutes = new Hono<AppEnv>()
  .post(
    "/password",
    audited("PASSWORD_CHANGED", { targetType: "user" }),
    validate("json", passwordBody),
    forbidWhileImpersonating("Changing a password"),
    requireStepUp("PASSWORD_CHANGE"),
    answers("PASSWORD_UNCHANGED", "WEAK_PASSWORD", ...SECOND_FACTOR_REFUSALS),
    async (c) => {
      const body = c.req.valid("json");
      const user = await loadOwnUser(c);
      await verifySecondFactor(c, user, { password: body.currentPassword }, { allowed: ["password"] });
      if (body.newPassword === body.currentPassword) throw new ApiError(400, "PASSWORD_UNCHANGED", "Choose a password different from the current one");
      await assertPasswordAcceptable(c.env, body.newPassword, { email: user.email }, { targetType: "user", targetId: user.id });
      const db = c.var.db;
      const change = passwordChangeStatements(db, user.id, await hashPassword(body.newPassword), c.get("now"));
      const event = { action: "PASSWORD_CHANGED", outcome: "SUCCESS", targetType: "user", targetId: user.id } as const;
      if (!body.endOtherSessions) {
        await commitWithAudit(c, change, { ...event, metadata: { endOtherSessions: false } });
        return c.json({ success: true, revoked: 0 });
      }
      const { endedIds, propagation } = await endSessions(c, {
        tenantId: user.tenantId,
        userId: user.id,
        which: { allBut: c.get("session").id },
        reason: "PASSWORD_CHANGED",
        changes: change,
        event: (ids) => ({ ...event, metadata: { endOtherSessions: true, revokedSessionIds: ids } }),
      });
      return c.json({ success: true, revoked: endedIds.length, ...withPropagation(propagation) });
    },
  )
  .patch("/profile", audited("PROFILE_UPDATED", { targetType: "user" }), validate("json", profileBody), forbidWhileImpersonating("Changing a profile"), async (c) => {
    const { displayName } = c.req.valid("json");
    const user = await loadOwnUser(c);
    const db = c.var.db;
    await commitWithAudit(c, [db.update(users).set({ displayName }).where(eq(users.id, user.id))], {
      action: "PROFILE_UPDATED",
      outcome: "SUCCESS",
      targetType: "user",
      targetId: user.id,
      before: { displayName: user.displayName },
      after: { displayName },
    });
    const propagation = await refreshCachedSessions(c, user.id);
    return c.json({ user: { id: user.id, displayName }, ...withPropagation(propagation) });
  });
