/**
 * The refusals sign-in answers before it knows the password was right: 429 (throttled)
 * and 401 (wrong email or password). Threat model: user enumeration by timing. These are
 * the answers an unknown email gets, so each is recorded with the same work whoever the
 * subject is (./sign-in-subject.ts):
 *   - a throttled attempt is counted in its refusal stream (one D1 batch,
 *     src/audit/dedupe.ts; NOBODY's stream is counted like a tenant's), and only the
 *     1st, 2nd, 4th, ... refusal of a stream and minute goes on to be written;
 *   - the FAIL row is one INSERT … SELECT that writes the row only when its actor is a
 *     member of its tenant: NOBODY runs the same statement and writes nothing.
 * The row is left for the tenant's next sealing write, or verification or export, to
 * link into the chain (src/audit/chain.ts): sealing here would be work NOBODY has no
 * equal of. The write runs beside the answer (waitUntil), never delaying it.
 * Refusals after a right password (disabled member, second factor, IP rules) tell the
 * client more than these do anyway, and are written by the route's audited() wrapper.
 */
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { countOccurrence, isCountMilestone } from "../audit/dedupe";
import { markRefusalRecorded } from "../audit/refusal";
import { type AuditEvent, auditCommitted, auditRowSelectList, buildAuditRow } from "../audit/service";
import { auditOutbox, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { type PasskeyRefusal, passkeyRefusedError } from "../passkeys/ceremony";
import { errorSummary, log } from "../lib/log";
import type { SignInSubject } from "./sign-in-subject";
import { type ThrottleRefusal, throttleAddress } from "./throttle";

/** A wrong credential; a passkey's refusal says which rule its answer failed (src/passkeys/ceremony.ts). */
export type EarlyRefusal = { kind: "throttled"; throttle: ThrottleRefusal } | { kind: "wrong-credentials"; passkey?: PasskeyRefusal | undefined };

/** The INSERT … SELECT of `event`'s row, which inserts it only if the subject is a member of the subject's tenant. */
function rowIfMember(c: Context<AppEnv>, subject: SignInSubject, event: AuditEvent) {
  const row = buildAuditRow(c, { ...event, tenantId: subject.tenantId, actorUserId: subject.userId, targetType: "user", targetId: subject.userId });
  if (!row) throw new Error("a sign-in subject always names a tenant");
  const member = sql`SELECT 1 FROM ${users} WHERE ${users.id} = ${subject.userId} AND ${users.tenantId} = ${subject.tenantId}`;
  return c.var.db.insert(auditOutbox).select(sql`SELECT ${auditRowSelectList(row)} WHERE EXISTS (${member})`);
}

async function record(c: Context<AppEnv>, subject: SignInSubject, event: AuditEvent, dedupeSubject: string | null): Promise<void> {
  let count: number | null = null;
  if (dedupeSubject !== null) {
    count = await countOccurrence(c, { tenantId: subject.tenantId, action: "LOGIN_FAILED", parts: [dedupeSubject] });
    if (count !== null && !isCountMilestone(count)) return;
  }
  try {
    await rowIfMember(c, subject, count === null ? event : { ...event, metadata: { ...event.metadata, count } }).run();
    // Told whether or not a row was inserted: the same work for any subject.
    auditCommitted(c, [subject.tenantId]);
  } catch (err) {
    log.error("audit write failed", { action: "LOGIN_FAILED", error: errorSummary(err) });
  }
}

/** Records `refusal` (the same work for any subject, beside the answer) and returns the error to answer with. */
export function refuseSignIn(c: Context<AppEnv>, subject: SignInSubject, refusal: EarlyRefusal): ApiError {
  markRefusalRecorded(c);
  if (refusal.kind === "throttled") {
    const failureReason = "TOO_MANY_ATTEMPTS";
    const event: AuditEvent = { action: "LOGIN_FAILED", outcome: "FAIL", failureReason, metadata: { throttle: refusal.throttle.scope } };
    // A client retrying in a loop: one row per email, address and minute, then at each doubling.
    c.executionCtx.waitUntil(record(c, subject, event, `${subject.email}|${throttleAddress(c)}`));
    return new ApiError(429, "TOO_MANY_ATTEMPTS", "Too many failed sign-in attempts; try again later", {
      details: { retryAfterSeconds: refusal.throttle.retryAfterSeconds },
      audit: { failureReason },
    });
  }
  if (refusal.passkey) {
    const code = refusal.passkey;
    c.executionCtx.waitUntil(record(c, subject, { action: "LOGIN_FAILED", outcome: "FAIL", failureReason: code, metadata: { method: "passkey" } }, null));
    return passkeyRefusedError(code, "assertion", {});
  }
  const failureReason = subject.user ? "INVALID_PASSWORD" : "UNKNOWN_EMAIL";
  c.executionCtx.waitUntil(record(c, subject, { action: "LOGIN_FAILED", outcome: "FAIL", failureReason }, null));
  return new ApiError(401, "INVALID_CREDENTIALS", "Email or password is incorrect", { audit: { failureReason } });
}
