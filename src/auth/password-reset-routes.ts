/**
 * /api/auth/password-reset and /api/auth/forgot-password: public (no session).
 *
 * Threat model: enumeration (forgot-password answers 202 with the same body whatever the
 * email, and does all of its user-dependent work after the response), mail bombing (one
 * link per user per RESEND_COOLDOWN_MS), a link redeemed twice (consumed in the batch that
 * sets the password), and sessions outliving a reset (every session of the user ends).
 */
import { desc, eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { consumeStatements, findResetToken, issueStatements, newResetToken, passwordChangeStatements, resetLink } from "../account/password-reset";
import { parseConfig } from "../config";
import { isInvariantViolation } from "../db/invariants";
import { passwordResetTokens, users } from "../db/schema";
import { sendEmail } from "../email";
import type { AppEnv } from "../env";
import { ApiError, type ErrorCode } from "../errors";
import { emailSchema } from "../lib/email";
import { findCurrentUserByEmail } from "../users/service";
import { errorSummary, log } from "../lib/log";
import { hashPassword } from "../lib/password";
import { assertPasswordAcceptable } from "../lib/password-policy";
import { validate } from "../lib/validation";
import { z } from "../lib/zod";
import { withPropagation } from "../propagation";
import { endSessions } from "../sessions/revoke";
import { answers } from "../openapi/notes";

const resetBody = z.strictObject({ token: z.string().max(200), password: z.string().max(1024) });
const forgotBody = z.strictObject({ email: emailSchema });

/** A user asks for a link at most this often (the hook is not a mail cannon). */
const RESEND_COOLDOWN_MS = 60_000;

const linkGone = (status: 404 | 409 | 410, code: ErrorCode, message: string) => new ApiError(status, code, message);

async function sendForgottenPasswordLink(c: Context<AppEnv>, email: string): Promise<void> {
  const db = c.var.db;
  const now = c.get("now");
  const user = await findCurrentUserByEmail(db, email);
  if (!user || user.disabledAt !== null) return;
  const [latest] = await db
    .select({ createdAt: passwordResetTokens.createdAt })
    .from(passwordResetTokens)
    .where(eq(passwordResetTokens.userId, user.id))
    .orderBy(desc(passwordResetTokens.createdAt))
    .limit(1);
  if (latest && now - latest.createdAt < RESEND_COOLDOWN_MS) return;
  const { row, token } = await newResetToken({ tenantId: user.tenantId, userId: user.id, requestedBy: null, nowMs: now });
  await commitWithAudit(c, issueStatements(db, row), {
    action: "PASSWORD_RESET_REQUESTED",
    outcome: "SUCCESS",
    tenantId: user.tenantId,
    actorUserId: user.id,
    targetType: "user",
    targetId: user.id,
    metadata: { via: "forgot-password", expiresAt: new Date(row.expiresAt).toISOString() },
  });
  await sendEmail(c, { to: user.email, template: "password_reset", link: resetLink(c, token), tenantId: user.tenantId });
}

export const passwordResetRoutes = new Hono<AppEnv>()
  .post("/forgot-password", audited("PASSWORD_RESET_REQUESTED", { targetType: "user" }), validate("json", forgotBody), answers("AUTH_UNAVAILABLE"), async (c) => {
    const emailConfigured = parseConfig(c.env).emailWebhook !== null;
    // Everything that depends on the email happens after the response: known, unknown,
    // disabled or throttled, the answer and its timing are the same.
    if (emailConfigured) {
      const email = c.req.valid("json").email;
      c.executionCtx.waitUntil(
        sendForgottenPasswordLink(c, email).catch((err: unknown) => {
          log.error("forgot-password failed", { error: errorSummary(err) });
        }),
      );
    }
    return c.json({ accepted: true, emailConfigured }, 202);
  })
  .post("/password-reset", audited("PASSWORD_RESET", { targetType: "user", afterResponse: true }), validate("json", resetBody), answers("RESET_LINK_NOT_FOUND", "RESET_LINK_EXPIRED", "RESET_LINK_USED", "USER_DISABLED", "WEAK_PASSWORD", "AUTH_UNAVAILABLE"), async (c) => {
    const body = c.req.valid("json");
    const db = c.var.db;
    const now = c.get("now");
    const row = await findResetToken(db, body.token);
    if (!row) throw linkGone(404, "RESET_LINK_NOT_FOUND", "This reset link is not valid; ask for a new one");
    const audit = { tenantId: row.tenantId, actorUserId: row.userId, targetType: "user" as const, targetId: row.userId };
    if (row.usedAt !== null) throw new ApiError(409, "RESET_LINK_USED", "This reset link was already used; ask for a new one", { audit });
    if (row.expiresAt <= now) throw new ApiError(410, "RESET_LINK_EXPIRED", "This reset link has expired; ask for a new one", { audit });
    const user = await db.query.users.findFirst({ where: eq(users.id, row.userId) });
    if (!user || user.removedAt !== null) throw linkGone(404, "RESET_LINK_NOT_FOUND", "This reset link is not valid; ask for a new one");
    if (user.disabledAt !== null) throw new ApiError(403, "USER_DISABLED", "Your account has been disabled; ask an administrator of your organisation", { audit });
    await assertPasswordAcceptable(c.env, body.password, { email: user.email }, audit);
    const passwordHash = await hashPassword(body.password);
    const { propagation } = await endSessions(c, {
      tenantId: user.tenantId,
      userId: user.id,
      which: { allBut: null },
      reason: "PASSWORD_RESET",
      bumpSessionVersion: true,
      changes: [...consumeStatements(db, row, now), ...passwordChangeStatements(db, user.id, passwordHash, now)],
      event: (ids) => ({ ...audit, action: "PASSWORD_RESET", outcome: "SUCCESS", metadata: { tokenId: row.id, revokedSessionIds: ids } }),
    }).catch((err: unknown) => {
      // Redeemed by a parallel request between the read and this batch: nothing was changed.
      if (isInvariantViolation(err)) throw new ApiError(409, "RESET_LINK_USED", "This reset link was already used; ask for a new one", { audit });
      throw err;
    });
    return c.json({ success: true, ...withPropagation(propagation) });
  });
