/**
 * Admins invite people: `/api/users/invitations` (create, list, revoke, re-send).
 *
 * Threat model: an admin minting access above their own (the rank rule, assertMayAssign:
 * nobody invites to a role above theirs, nor revokes or re-sends such an invitation),
 * another tenant's invitation (404), a link that keeps working (revoke, re-send replaces
 * the secret, single use at accept, and none once its sender could no longer send it:
 * ./inviter-standing.ts), a link leaking through logs (only the email hook and the answer
 * to the admin carry it).
 */
import { desc, eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { failedWith } from "../db/errors";
import { isInvariantViolation } from "../db/invariants";
import { type Invitation, ROLES, invitations } from "../db/schema";
import { sendEmail } from "../email";
import type { AppEnv, AuthUser } from "../env";
import { ApiError } from "../errors";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { requirePermission } from "../lib/authorize";
import { INVITE_PERMISSION } from "../lib/permissions";
import { emailSchema } from "../lib/email";
import { emptyBody, idSchema } from "../lib/schemas";
import { validate } from "../lib/validation";
import { z } from "../lib/zod";
import {
  INVITATION_TTL_MS,
  changeOpenInvitation,
  emailHasAccount,
  findOpenInvitation,
  invitationLink,
  invitationSecret,
  invitationStatus,
  newInvitation,
  toInvitationView,
} from "./invitation-service";
import { assertMayAssign } from "./service";
import { answers } from "../openapi/notes";

const inviteBody = z.strictObject({ email: emailSchema, role: z.enum(ROLES) });
const invitationIdParam = z.strictObject({ id: idSchema });

const invitationNotFound = () => new ApiError(404, "INVITATION_NOT_FOUND", "Invitation not found");

/** The rank rule for invitations: as for assigning the role to a member, with the invitation as the target. */
function assertMayInvite(me: AuthUser, invitationId: string, role: Invitation["role"]): void {
  try {
    assertMayAssign(me, { id: invitationId }, { role });
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(err.status, err.code, err.message, { audit: { targetType: "invitation", targetId: invitationId } });
    throw err;
  }
}

/** An invitation of the caller's tenant that the caller may act on; another tenant's is 404. */
async function manageableInvitation(c: Context<AppEnv>, id: string): Promise<Invitation> {
  const me = c.get("user");
  const row = await c.var.db.query.invitations.findFirst({ where: eq(invitations.id, id) });
  if (!row || row.tenantId !== me.tenantId) throw invitationNotFound();
  assertMayInvite(me, row.id, row.role);
  const status = invitationStatus(row, c.get("now"));
  if (status === "accepted") throw new ApiError(409, "INVITATION_USED", "This invitation was already accepted");
  if (status === "revoked") throw new ApiError(409, "INVITATION_REVOKED", "This invitation was already revoked");
  return row;
}

/** A change that lost the race to an accept (or a revoke) is a 409, never a SUCCESS row. */
function closedMeanwhile(err: unknown): never {
  if (isInvariantViolation(err)) throw new ApiError(409, "INVITATION_USED", "This invitation was accepted or revoked meanwhile");
  throw err;
}

/** Mounted at /api/users/invitations, behind the edge check. */
export const invitationRoutes = new Hono<AppEnv>()
  .get("/", requirePermission("SETTINGS_TEAM_VIEW"), async (c) => {
    const rows = await c.var.db
      .select()
      .from(invitations)
      .where(eq(invitations.tenantId, c.get("user").tenantId))
      .orderBy(desc(invitations.createdAt))
      .limit(200);
    return c.json({ invitations: rows.map((r) => toInvitationView(r, c.get("now"))) });
  })
  .post(
    "/",
    audited("USER_INVITED", { targetType: "invitation" }),
    validate("json", inviteBody),
    forbidWhileImpersonating("Inviting people"),
    requirePermission(INVITE_PERMISSION),
    answers("INVITATION_PENDING", "USER_EXISTS", "FORBIDDEN"),
    async (c) => {
      const me = c.get("user");
      const { email, role } = c.req.valid("json");
      const db = c.var.db;
      const { row, token } = await newInvitation({ tenantId: me.tenantId, email, role, invitedBy: me.id, nowMs: c.get("now") });
      assertMayInvite(me, row.id, role);
      if (await emailHasAccount(db, email)) throw new ApiError(409, "USER_EXISTS", "This email already has a Gatehouse account");
      const open = await findOpenInvitation(db, me.tenantId, email);
      if (open) throw new ApiError(409, "INVITATION_PENDING", "This email already has an open invitation: re-send or revoke it", { details: { invitationId: open.id } });
      try {
        await commitWithAudit(c, [db.insert(invitations).values(row)], {
          action: "USER_INVITED",
          outcome: "SUCCESS",
          targetType: "invitation",
          targetId: row.id,
          after: { email, role, expiresAt: new Date(row.expiresAt).toISOString() },
        });
      } catch (err) {
        // A parallel invite of the same email won (invitations_open_email_uq).
        if (failedWith(err, /UNIQUE constraint failed: invitations/)) throw new ApiError(409, "INVITATION_PENDING", "This email already has an open invitation: re-send or revoke it");
        throw err;
      }
      const link = invitationLink(c, token);
      const delivery = await sendEmail(c, { to: email, template: "invitation", link, tenantId: me.tenantId });
      return c.json({ invitation: toInvitationView(row, c.get("now")), link, emailed: delivery === "sent" }, 201);
    },
  )
  .post(
    "/:id/revoke",
    audited("INVITATION_REVOKED", { targetType: "invitation", targetParam: "id" }),
    validate("param", invitationIdParam),
    validate("json", emptyBody),
    forbidWhileImpersonating("Revoking invitations"),
    requirePermission(INVITE_PERMISSION),
    answers("INVITATION_NOT_FOUND", "INVITATION_REVOKED", "INVITATION_USED", "FORBIDDEN"),
    async (c) => {
      const row = await manageableInvitation(c, c.req.valid("param").id);
      const now = c.get("now");
      await commitWithAudit(c, [...changeOpenInvitation(c.var.db, row, { revokedAt: now })], {
        action: "INVITATION_REVOKED",
        outcome: "SUCCESS",
        targetType: "invitation",
        targetId: row.id,
        before: { email: row.email, role: row.role, status: invitationStatus(row, now) },
      }).catch(closedMeanwhile);
      return c.json({ invitation: toInvitationView({ ...row, revokedAt: now }, now) });
    },
  )
  .post(
    "/:id/resend",
    audited("USER_INVITED", { targetType: "invitation", targetParam: "id" }),
    validate("param", invitationIdParam),
    validate("json", emptyBody),
    forbidWhileImpersonating("Re-sending invitations"),
    requirePermission(INVITE_PERMISSION),
    answers("INVITATION_NOT_FOUND", "INVITATION_REVOKED", "INVITATION_USED", "FORBIDDEN"),
    async (c) => {
      const row = await manageableInvitation(c, c.req.valid("param").id);
      const now = c.get("now");
      // A new secret (the old link stops working) and a new 7-day window.
      const { token, tokenHash } = await invitationSecret(row.id);
      const renewed = { ...row, tokenHash, expiresAt: now + INVITATION_TTL_MS };
      await commitWithAudit(c, [...changeOpenInvitation(c.var.db, row, { tokenHash, expiresAt: renewed.expiresAt })], {
        action: "USER_INVITED",
        outcome: "SUCCESS",
        targetType: "invitation",
        targetId: row.id,
        before: { expiresAt: new Date(row.expiresAt).toISOString() },
        after: { email: row.email, role: row.role, expiresAt: new Date(renewed.expiresAt).toISOString() },
        metadata: { resent: true },
      }).catch(closedMeanwhile);
      const link = invitationLink(c, token);
      const delivery = await sendEmail(c, { to: row.email, template: "invitation", link, tenantId: row.tenantId });
      return c.json({ invitation: toInvitationView(renewed, now), link, emailed: delivery === "sent" });
    },
  );
