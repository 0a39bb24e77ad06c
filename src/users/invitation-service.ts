/**
 * Invitations: what an admin's invite (./invitations.ts) and the operator's first owner
 * (src/operator) share, and what accepting one reads.
 *
 * Threat model: a link is a bearer credential for an account with a role. It carries
 * `<id>.<secret>` (256-bit secret, as session tokens do); D1 keeps only SHA-256(secret),
 * compared in constant time. It works once (the accept batch asserts it was the one that
 * consumed it), for 7 days, and not after it was revoked or re-sent (a re-send replaces
 * the secret).
 */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { Db } from "../db/client";
import { assertInBatch } from "../db/invariants";
import { type Invitation, type Role, invitations } from "../db/schema";
import type { AppEnv } from "../env";
import { type TokenPage, panelLink } from "../panel/links";
import { randomBytes, randomId, sha256Hex, timingSafeEqualString, toBase64Url } from "../lib/crypto";
import type { InvitationStatus, InvitationView } from "./invitation-views";
import { findCurrentUserByEmail } from "./service";

export type { InvitationStatus, InvitationView } from "./invitation-views";

export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const SECRET_BYTES = 32; // 256 bits.

/** The path of the panel's accept page, under the Gatehouse path. */
export const ACCEPT_INVITATION_PAGE = "/accept-invitation" satisfies TokenPage;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function invitationStatus(row: Invitation, nowMs: number): InvitationStatus {
  if (row.acceptedAt !== null) return "accepted";
  if (row.revokedAt !== null) return "revoked";
  return row.expiresAt <= nowMs ? "expired" : "pending";
}

export function toInvitationView(row: Invitation, nowMs: number): InvitationView {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: invitationStatus(row, nowMs),
    invitedBy: row.invitedBy,
    createdAt: new Date(row.createdAt).toISOString(),
    expiresAt: new Date(row.expiresAt).toISOString(),
    acceptedAt: iso(row.acceptedAt),
    revokedAt: iso(row.revokedAt),
  };
}

/** A fresh secret for invitation `id`: the link's token and the hash D1 keeps. */
export async function invitationSecret(id: string): Promise<{ token: string; tokenHash: string }> {
  const secret = toBase64Url(randomBytes(SECRET_BYTES));
  return { token: `${id}.${secret}`, tokenHash: await sha256Hex(secret) };
}

/** A new invitation row (not yet written) and its token. `email` must already be normalised. */
export async function newInvitation(input: { tenantId: string; email: string; role: Role; invitedBy: string | null; nowMs: number }) {
  const id = randomId("inv_");
  const { token, tokenHash } = await invitationSecret(id);
  const row: Invitation = {
    id,
    tenantId: input.tenantId,
    email: input.email,
    role: input.role,
    tokenHash,
    invitedBy: input.invitedBy,
    createdAt: input.nowMs,
    expiresAt: input.nowMs + INVITATION_TTL_MS,
    acceptedAt: null,
    acceptedUserId: null,
    revokedAt: null,
  };
  return { row, token };
}

/** The link an invitee opens: the panel's accept page on PUBLIC_ORIGIN, the token as `?token=`. */
export function invitationLink(c: Context<AppEnv>, token: string): string {
  return panelLink(c.env, ACCEPT_INVITATION_PAGE, token);
}

/** The invitation a token names, when its secret matches; null for anything else. */
export async function findInvitationByToken(db: Db, token: string): Promise<Invitation | null> {
  const match = /^(inv_[a-z0-9]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return null;
  const [, id, secret] = match as unknown as [string, string, string];
  const row = await db.query.invitations.findFirst({ where: eq(invitations.id, id) });
  if (!row) return null;
  return timingSafeEqualString(await sha256Hex(secret), row.tokenHash) ? row : null;
}

/**
 * Is there an account with this (normalised) email already? Emails are unique across
 * tenants among members not removed; a removed member can be invited again (a new account).
 */
export async function emailHasAccount(db: Db, email: string): Promise<boolean> {
  return (await findCurrentUserByEmail(db, email)) !== undefined;
}

/** The open (neither accepted nor revoked) invitation of this email in the tenant, if any. */
export function findOpenInvitation(db: Db, tenantId: string, email: string) {
  return db.query.invitations.findFirst({
    where: and(eq(invitations.tenantId, tenantId), eq(invitations.email, email), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)),
  });
}

/**
 * Batch items that consume invitation `id` for `userId`: the UPDATE applies only to an
 * invitation still open and unexpired, and the assertion aborts the batch unless this
 * batch is the one that consumed it, so parallel accepts cannot both succeed.
 */
export function consumeInvitation(db: Db, row: Invitation, userId: string, nowMs: number) {
  return [
    db
      .update(invitations)
      .set({ acceptedAt: nowMs, acceptedUserId: userId })
      .where(and(eq(invitations.id, row.id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, nowMs))),
    ...assertInBatch(db, row.tenantId, "INVITATION_SINGLE_USE", sql`(SELECT ${invitations.acceptedUserId} FROM ${invitations} WHERE ${invitations.id} = ${row.id}) IS ${userId}`),
  ] as const;
}

/**
 * Batch items that close (revoke) or renew (new secret, new expiry) an open invitation,
 * asserting it was still open when the batch ran (an accept may have won the race).
 */
export function changeOpenInvitation(db: Db, row: Invitation, change: { revokedAt: number } | { tokenHash: string; expiresAt: number }) {
  const marker = "revokedAt" in change ? sql`${invitations.revokedAt} IS ${change.revokedAt}` : sql`${invitations.tokenHash} = ${change.tokenHash}`;
  return [
    db
      .update(invitations)
      .set(change)
      .where(and(eq(invitations.id, row.id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt))),
    ...assertInBatch(db, row.tenantId, "INVITATION_STILL_OPEN", sql`(SELECT ${marker} FROM ${invitations} WHERE ${invitations.id} = ${row.id})`),
  ] as const;
}
