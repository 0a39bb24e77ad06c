/**
 * `POST /api/auth/invitations/accept { token, displayName, password }`: the invitee sets a
 * name and a password, gets an account with the invitation's role and is signed in, through
 * the same start as sign-in (./start-session.ts), so whatever follows a sign-in (a tenant
 * that requires two-factor sends them to enrolment) follows this too.
 *
 * Threat model: a link used twice, in parallel or later (the batch consumes it or aborts),
 * an expired or revoked link, a link whose inviter can no longer grant its role (removed,
 * disabled, demoted: inviteeState, ./invitation-preview.ts), a guessed token
 * (256 bits, hash compared in constant time), a weak password (the policy), a name that
 * hides or reverses text (displayNameSchema), an account for a disabled tenant
 * (startSession refuses). Under a tenant's requireSso the member is made but signs in
 * through the provider: no password session starts (src/sso/require-sso.ts).
 */
import { Hono } from "hono";
import { audited } from "../audit/middleware";
import { type AuditEvent, commitWithAudit } from "../audit/service";
import { failedWith } from "../db/errors";
import { isInvariantViolation } from "../db/invariants";
import { users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError, type ErrorCode } from "../errors";
import { hashPassword } from "../lib/password";
import { assertPasswordAcceptable, MAX_PASSWORD_LENGTH } from "../lib/password-policy";
import { displayNameSchema } from "../lib/schemas";
import { validate } from "../lib/validation";
import { z } from "../lib/zod";
import { consumeInvitation, findInvitationByToken, invitationStatus } from "../users/invitation-service";
import { newUserRow } from "../users/service";
import { ssoRequiredFor } from "../sso/require-sso";
import { ssoStartUrl } from "../sso/urls";
import { inviteeState } from "./invitation-preview";
import { publicUser } from "./routes";
import { amrOf } from "./sign-in";
import { assertTenantActive, startSession } from "./start-session";
import { signInUnavailable } from "./throttle";
import { answers } from "../openapi/notes";

const acceptBody = z.strictObject({
  token: z.string().min(1).max(200),
  displayName: displayNameSchema,
  // The policy judges length in code points after NFKC; this only bounds the body.
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH * 4),
});

/** Mounted at /api/auth/invitations, before the edge check (the invitee has no session yet). */
export const acceptInvitationRoutes = new Hono<AppEnv>().post("/accept", audited("INVITATION_ACCEPTED", { targetType: "invitation" }), validate("json", acceptBody), answers("INVITATION_NOT_FOUND", "INVITATION_EXPIRED", "INVITATION_REVOKED", "INVITATION_USED", "WEAK_PASSWORD", "AUTH_UNAVAILABLE"), async (c) => {
  const { token, displayName, password } = c.req.valid("json");
  const db = c.var.db;
  const now = c.get("now");
  // Fail closed: an unreadable invitations table is 503, never a 500 or a pass.
  const invitation = await findInvitationByToken(db, token).catch((err: unknown) => {
    throw signInUnavailable(c, "invitation lookup", err);
  });
  if (!invitation) throw new ApiError(404, "INVITATION_NOT_FOUND", "This invitation link is not valid. Ask for a new one.");
  const audit = { tenantId: invitation.tenantId, actorUserId: null, targetType: "invitation" as const, targetId: invitation.id };
  const refuse = (status: 409 | 410, code: ErrorCode, message: string, failureReason?: string) => new ApiError(status, code, message, { audit: { ...audit, failureReason } });
  /** The refusal for a link the batch found closed: revoked if a revocation won, used otherwise. */
  const closedMeanwhile = async () => {
    const current = await findInvitationByToken(db, token).catch(() => undefined);
    if (current && invitationStatus(current, now) === "revoked") return refuse(410, "INVITATION_REVOKED", "This invitation was withdrawn. Ask for a new one.");
    return refuse(409, "INVITATION_USED", "This invitation was already used. Sign in instead, or ask for a new one.");
  };
  const state = await inviteeState(db, invitation, now).catch((err: unknown) => {
    throw signInUnavailable(c, "inviter lookup", err);
  });
  if (state === "accepted") throw refuse(409, "INVITATION_USED", "This invitation was already used. Sign in instead, or ask for a new one.");
  if (state === "revoked") throw refuse(410, "INVITATION_REVOKED", "This invitation was withdrawn. Ask for a new one.");
  if (state === "expired") throw refuse(410, "INVITATION_EXPIRED", "This invitation has expired. Ask for a new one.");
  if (state === "withdrawn") throw refuse(410, "INVITATION_REVOKED", "This invitation was withdrawn: whoever sent it can no longer grant this access. Ask for a new one.", "INVITER_CANNOT_GRANT");
  await assertPasswordAcceptable(c.env, password, { email: invitation.email }, audit);

  const user = newUserRow({
    tenantId: invitation.tenantId,
    email: invitation.email,
    displayName,
    role: invitation.role,
    passwordHash: await hashPassword(password),
    createdAt: now,
  });
  // Consumed first: a parallel accept that lost is refused by the single-use assertion.
  const changes = [...consumeInvitation(db, invitation, user.id, now), db.insert(users).values(user)];
  const accepted: AuditEvent = {
    tenantId: user.tenantId,
    actorUserId: user.id,
    action: "INVITATION_ACCEPTED",
    outcome: "SUCCESS",
    targetType: "invitation",
    targetId: invitation.id,
    after: { userId: user.id, email: user.email, role: user.role },
  };
  try {
    // A tenant that requires single sign-on: the member is made, and comes in through the
    // provider (linked there by this email); no session starts with the password.
    if (await ssoRequiredFor(c, user, "password")) {
      await assertTenantActive(c, user);
      await commitWithAudit(c, changes, { ...accepted, metadata: { signIn: "sso" } });
      return c.json({ user: { id: user.id, email: user.email, role: user.role, tenantId: user.tenantId }, signInThrough: { sso: ssoStartUrl(c.env, user.email) } });
    }
    const { row, state } = await startSession(c, user, { amr: amrOf(["pwd"], null), changes, eventsBefore: [accepted] });
    return c.json({ user: publicUser(state.user), sessionId: row.id });
  } catch (err) {
    // Another accept of the same link committed first (single use), or a revocation did (its
    // inviter removed, disabled or demoted meanwhile), or the email got an account meanwhile.
    if (isInvariantViolation(err)) throw await closedMeanwhile();
    if (failedWith(err, /UNIQUE constraint failed: users\.email/)) throw refuse(409, "INVITATION_USED", "This email already has an account. Sign in instead.");
    throw err;
  }
});
