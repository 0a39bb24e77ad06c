/**
 * Password reset links: issued by an admin (POST /api/users/:id/password-reset) or asked
 * for by the user through the email hook (POST /api/auth/forgot-password), redeemed once
 * (POST /api/auth/password-reset).
 *
 * Threat model: a link is a bearer secret that sets a password. So: `pwr_<id>.<secret>`
 * with a 256-bit secret, only SHA-256(secret) stored and compared in constant time; valid
 * for one hour; single use even under parallel redemption (the batch that sets the password
 * consumes the token conditionally and asserts it did, so a second redemption aborts
 * whole); a new link supersedes the user's older unused ones, and a change of the
 * password or of the account's access retires them (retireResetLinks), so a link issued
 * before the change cannot overwrite what was set after it; links never logged.
 */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { Db } from "../db/client";
import { assertInBatch } from "../db/invariants";
import { type PasswordResetToken, passwordResetTokens, users } from "../db/schema";
import type { AppEnv } from "../env";
import { type TokenPage, panelLink } from "../panel/links";
import { randomBytes, randomId, sha256Hex, timingSafeEqualString, toBase64Url } from "../lib/crypto";

export const RESET_TOKEN_TTL_MS = 60 * 60 * 1000;
const SECRET_BYTES = 32; // 256 bits
/** The panel's page a link opens. */
export const RESET_PASSWORD_PAGE = "/reset-password" satisfies TokenPage;

/** A new token for `userId` (not yet written): the row to insert, and the token for the link. */
export async function newResetToken(input: { tenantId: string; userId: string; requestedBy: string | null; nowMs: number }) {
  const id = randomId("pwr_");
  const secret = toBase64Url(randomBytes(SECRET_BYTES));
  const row: PasswordResetToken = {
    id,
    tenantId: input.tenantId,
    userId: input.userId,
    tokenHash: await sha256Hex(secret),
    requestedBy: input.requestedBy,
    createdAt: input.nowMs,
    expiresAt: input.nowMs + RESET_TOKEN_TTL_MS,
    usedAt: null,
  };
  return { row, token: `${id}.${secret}` };
}

/** Batch items writing a new token and retiring the user's older unused ones. */
export function issueStatements(db: Db, row: PasswordResetToken) {
  return [
    retireResetLinks(db, row.userId, row.createdAt),
    db.insert(passwordResetTokens).values(row),
  ];
}

/** The link that opens the panel's reset page on PUBLIC_ORIGIN, the token as `?token=`. */
export function resetLink(c: Context<AppEnv>, token: string): string {
  return panelLink(c.env, RESET_PASSWORD_PAGE, token);
}

/** The token a link carries, when its secret matches; null for anything else (malformed, unknown, wrong secret). */
export async function findResetToken(db: Db, token: string): Promise<PasswordResetToken | null> {
  const match = /^(pwr_[a-z0-9]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return null;
  const id = match[1] as string;
  const secret = match[2] as string;
  const row = await db.query.passwordResetTokens.findFirst({ where: eq(passwordResetTokens.id, id) });
  if (!row) return null;
  return timingSafeEqualString(await sha256Hex(secret), row.tokenHash) ? row : null;
}

/**
 * Batch items consuming the token: the first redemption's UPDATE changes its row, a
 * concurrent second one changes none and its assertion aborts its whole batch.
 */
export function consumeStatements(db: Db, row: PasswordResetToken, nowMs: number) {
  return [
    db
      .update(passwordResetTokens)
      .set({ usedAt: nowMs })
      .where(and(eq(passwordResetTokens.id, row.id), isNull(passwordResetTokens.usedAt), gt(passwordResetTokens.expiresAt, nowMs))),
    ...assertInBatch(db, row.tenantId, "RESET_TOKEN_UNUSED", sql`changes() = 1`),
  ];
}

/**
 * The batch item for "the password changed, or the account's access did": every unused
 * reset link of the user is retired (marked used). Each such change calls it in its own
 * batch: setting a password (passwordChangeStatements: the user's own change, a redeemed
 * link), an admin's MFA reset (src/users/lifecycle-routes.ts), disabling and removing
 * (cutOffUser, src/users/lifecycle.ts), and a new link (issueStatements).
 */
export function retireResetLinks(db: Db, userId: string, nowMs: number) {
  return db.update(passwordResetTokens).set({ usedAt: nowMs }).where(and(eq(passwordResetTokens.userId, userId), isNull(passwordResetTokens.usedAt)));
}

/** Batch items setting the user's password: the new hash, and their unused reset links retired. */
export function passwordChangeStatements(db: Db, userId: string, passwordHash: string, nowMs: number) {
  return [db.update(users).set({ passwordHash }).where(eq(users.id, userId)), retireResetLinks(db, userId, nowMs)];
}
