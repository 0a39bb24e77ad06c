/**
 * The one way a session starts once a user is authenticated: sign-in, and accepting an
 * invitation (which signs the invitee in). Whatever must hold for every new session holds
 * here: the tenant is not disabled, the session row, the caller's changes and the audit
 * rows commit in one D1 batch, and the cookie is the same everywhere. Once the batch has
 * committed the session exists, so the answer is its success: a session cache (KV) that
 * cannot be written is logged, and the session's first requests read it from D1 (a new
 * session id has no KV entry to be stale). Failing there would leave a committed account
 * (an accepted invitation) behind an error whose retry answers INVITATION_USED.
 */
import { eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { type AuditEvent, commitWithAudit } from "../audit/service";
import { assertInBatch, isInvariantViolation } from "../db/invariants";
import { type User, tenants, userSessions } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { errorSummary, log } from "../lib/log";
import { writeCachedState } from "../sessions/cache";
import { setSessionCookie } from "../sessions/cookies";
import { issueSnapshot } from "../sessions/snapshot-check";
import { type SessionFederation, prepareSession } from "../sessions/service";
import { signInUnavailable } from "./throttle";

export type StartSessionOptions = {
  /** How the user authenticated (RFC 8176), e.g. ["pwd", "otp", "mfa"]. */
  amr: string[];
  /** Changes that commit in the same batch, before the session row (e.g. the invitee's user row). */
  changes?: BatchItem<"sqlite">[];
  /** Started by the tenant's identity provider: its connection, the provider's `sub` and `sid`. */
  sso?: SessionFederation | null;
  /** Audit rows written before and after SESSION_CREATED, in the same batch. */
  eventsBefore?: AuditEvent[];
  eventsAfter?: AuditEvent[];
};

/** Refuses a user of a tenant the operator disabled: 403 TENANT_DISABLED (the credentials were right). */
export async function assertTenantActive(c: Context<AppEnv>, user: Pick<User, "id" | "tenantId">): Promise<void> {
  const tenant = await c.var.db.query.tenants.findFirst({ columns: { disabledAt: true }, where: eq(tenants.id, user.tenantId) }).catch((err: unknown) => {
    throw signInUnavailable(c, "tenant lookup", err);
  });
  if (!tenant || tenant.disabledAt !== null) {
    throw new ApiError(403, "TENANT_DISABLED", "This organisation's access to Gatehouse has been disabled", {
      audit: { tenantId: user.tenantId, actorUserId: user.id, targetType: "user", targetId: user.id, failureReason: "TENANT_DISABLED" },
    });
  }
}

export async function startSession(c: Context<AppEnv>, user: User, options: StartSessionOptions) {
  const db = c.var.db;
  await assertTenantActive(c, user);
  const { row, token, state } = await prepareSession(c, user, options.amr, options.sso ?? null);
  const actor = { tenantId: user.tenantId, actorUserId: user.id };
  try {
    await commitWithAudit(
      c,
      [
        ...(options.changes ?? []),
        db.insert(userSessions).values(row),
        // The operator may disable the tenant between the read above and this batch: its
        // session sweep could miss a session written after it, so the batch itself refuses.
        ...assertInBatch(db, user.tenantId, "TENANT_ACTIVE", sql`(SELECT ${tenants.disabledAt} FROM ${tenants} WHERE ${tenants.id} = ${user.tenantId}) IS NULL`),
      ],
      [
        ...(options.eventsBefore ?? []),
        { ...actor, action: "SESSION_CREATED", outcome: "SUCCESS", targetType: "session", targetId: row.id, after: { device: row.userAgent, ip: row.ip } },
        ...(options.eventsAfter ?? []),
      ],
    );
  } catch (err) {
    // Which invariant failed is not in D1's error: if the tenant is disabled now, that was it.
    if (isInvariantViolation(err)) await assertTenantActive(c, user);
    throw err;
  }
  await writeCachedState(c.env.SESSION_CACHE, state, c.get("now")).catch((err: unknown) => {
    log.error("session cache not written at sign-in; the session is read from D1", { error: errorSummary(err) });
  });
  setSessionCookie(c, token);
  // The session's first snapshot (src/sessions/snapshot.ts); without one the next request reads KV.
  await issueSnapshot(c, state, c.get("now")).catch(() => undefined);
  return { row, state };
}
