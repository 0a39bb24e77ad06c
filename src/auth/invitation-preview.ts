/**
 * `GET /api/auth/invitations/preview?token=…`: what the accept page shows when it opens,
 * before anyone types: whether the link can still be used and, while it can, whom it is
 * for (the organisation's name, the invited email, the role, who sent it). Read-only.
 *
 * Threat model: a token guessed or enumerated through this route (256-bit secret, hash
 * compared in constant time, and every request counts against the address's sign-in
 * limit, as anything a client without a session can ask does); a dead link that says more
 * than that it is dead (a used, expired or withdrawn link answers its state alone, no
 * name, email or organisation); a link that looks open while its inviter can no longer
 * grant the access (the same standing rule as accept: it reads as withdrawn). D1
 * unavailable is 503, never a guess.
 */
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { Hono } from "hono";
import type { Db } from "../db/client";
import { type Invitation, tenants, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { validate } from "../lib/validation";
import { z } from "../lib/zod";
import { findInvitationByToken, invitationStatus } from "../users/invitation-service";
import type { InvitationPreview, InviteeState } from "../users/invitation-views";
import { inviterStillStands } from "../users/inviter-standing";
import { reserveAddressAttempt, signInUnavailable } from "./throttle";
import { answers } from "../openapi/notes";

/** The one reading of a link's state, for the accept route and this preview alike. */
export async function inviteeState(db: Db, invitation: Invitation, nowMs: number): Promise<InviteeState> {
  const status = invitationStatus(invitation, nowMs);
  if (status !== "pending") return status;
  return (await inviterStillStands(db, invitation)) ? "pending" : "withdrawn";
}

const previewQuery = z.strictObject({ token: z.string().min(1).max(200) });

async function previewOf(db: Db, invitation: Invitation, nowMs: number): Promise<InvitationPreview> {
  const state = await inviteeState(db, invitation, nowMs);
  if (state !== "pending") return { state };
  const tenant = await db.query.tenants.findFirst({ where: eq(tenants.id, invitation.tenantId), columns: { name: true, disabledAt: true } });
  // A disabled organisation's link leads nowhere: accept refuses it (TENANT_DISABLED).
  if (!tenant || tenant.disabledAt !== null) return { state: "withdrawn" };
  const inviter = invitation.invitedBy
    ? await db.query.users.findFirst({ where: eq(users.id, invitation.invitedBy), columns: { displayName: true } })
    : undefined;
  return {
    state,
    organization: tenant.name,
    email: invitation.email,
    role: invitation.role,
    invitedBy: inviter?.displayName ?? null,
    expiresAt: new Date(invitation.expiresAt).toISOString(),
  };
}

async function preview(c: Context<AppEnv>, token: string): Promise<InvitationPreview> {
  const throttled = await reserveAddressAttempt(c);
  if (throttled) {
    throw new ApiError(429, "TOO_MANY_ATTEMPTS", "Too many requests from this address; try again later", { details: { retryAfterSeconds: throttled.retryAfterSeconds } });
  }
  try {
    const invitation = await findInvitationByToken(c.var.db, token);
    if (!invitation) throw new ApiError(404, "INVITATION_NOT_FOUND", "This invitation link is not valid. Ask for a new one.");
    return await previewOf(c.var.db, invitation, c.get("now"));
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw signInUnavailable(c, "invitation preview", err);
  }
}

/** Mounted with the accept route at /api/auth/invitations, before the edge check (no session yet). */
export const invitationPreviewRoutes = new Hono<AppEnv>().get("/preview", validate("query", previewQuery), answers("INVITATION_NOT_FOUND", "TOO_MANY_ATTEMPTS", "AUTH_UNAVAILABLE"), async (c) =>
  c.json(await preview(c, c.req.valid("query").token)),
);
