/**
 * A password reset link issued for someone else: an admin's for a member (Team page,
 * src/users/lifecycle-routes.ts) or the operator's for a tenant's sole owner
 * (src/operator/routes.ts). One recipe: the member's sessions end now (the old password
 * may be what leaked) and their session_version is bumped, older unused links are retired,
 * and the new link's row and the PASSWORD_RESET_REQUESTED audit row commit in that batch.
 * The link is answered to whoever asked and sent through the email hook when there is one;
 * it is never logged.
 */
import type { Context } from "hono";
import { issueStatements, newResetToken, resetLink } from "../account/password-reset";
import type { User } from "../db/schema";
import { sendEmail } from "../email";
import type { AppEnv } from "../env";
import { withPropagation } from "../propagation";
import { endSessions } from "../sessions/revoke";

/** `by`: the admin's user id, or null for the operator (`via` says which in the audit row). */
export async function issueResetLink(c: Context<AppEnv>, target: User, by: { userId: string | null; via: "admin" | "operator" }) {
  const { row, token } = await newResetToken({ tenantId: target.tenantId, userId: target.id, requestedBy: by.userId, nowMs: c.get("now") });
  const { endedIds, propagation } = await endSessions(c, {
    tenantId: target.tenantId,
    userId: target.id,
    which: { allBut: null },
    reason: "PASSWORD_RESET",
    bumpSessionVersion: true,
    changes: issueStatements(c.var.db, row),
    event: (ids) => ({
      // Named: the operator has no user whose tenant the row would otherwise go to.
      tenantId: target.tenantId,
      ...(by.via === "operator" ? { actorUserId: null } : {}),
      action: "PASSWORD_RESET_REQUESTED",
      outcome: "SUCCESS",
      targetType: "user",
      targetId: target.id,
      metadata: { via: by.via, tokenId: row.id, expiresAt: new Date(row.expiresAt).toISOString(), revokedSessionIds: ids },
    }),
  });
  const link = resetLink(c, token);
  const email = await sendEmail(c, { to: target.email, template: "password_reset", link, tenantId: target.tenantId });
  return { link, expiresAt: new Date(row.expiresAt).toISOString(), emailed: email === "sent", revoked: endedIds.length, ...withPropagation(propagation) };
}
