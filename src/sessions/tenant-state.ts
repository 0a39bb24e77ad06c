/**
 * The session part of the tenant's edge document (src/tenant/edge-state.ts, KV key
 * `tenant-edge:<tenantId>`): which session snapshots a recent change has made stale. This
 * module owns the fingerprints and records them; the document holds, for every user and
 * session changed in the last TENANT_EDGE_WINDOW_MS, the fingerprint of their current
 * state (a revoked session's fingerprint never matches a snapshot). A snapshot is used
 * only if every fingerprint the document holds for its session and its user equals the
 * snapshot's own (src/sessions/snapshot-check.ts; why not the user it impersonates: there).
 *
 * Writer: only refreshCachedSessions (src/sessions/service.ts), which every change to a
 * user or their sessions already calls after its D1 batch (endSessions, role and
 * permission changes, impersonation, MFA). It records the new fingerprints in D1
 * (session_state_changes), then has the whole edge document rebuilt from D1 (these rows,
 * the recent revocations, the rules and policy) and written: never from what KV holds, so
 * concurrent writers (of either part) do not lose each other's change.
 */
import { and, eq, lt } from "drizzle-orm";
import type { Context } from "hono";
import { sessionStateChanges } from "../db/schema";
import type { AppEnv, AuthSession, AuthUser } from "../env";
import { sha256Hex } from "../lib/crypto";
import { REVOKED_FINGERPRINT, TENANT_EDGE_WINDOW_MS, rewriteEdgeState } from "../tenant/edge-state";
import type { AuthState } from "./cache";

const fingerprint = async (fields: unknown) => (await sha256Hex(JSON.stringify(fields))).slice(0, 24);

/** What of a user the edge check decides on (lastSeen-like fields excluded). */
export const userFingerprint = (u: AuthUser) =>
  fingerprint([u.id, u.tenantId, u.email, u.displayName, u.role, u.sessionVersion, u.disabledAt, u.totpEnabled, u.permissionOverrides]);

/** What of a session the edge check decides on (last_seen_at excluded: it moves on every refresh). */
export const sessionFingerprint = (s: AuthSession) =>
  s.revokedAt !== null
    ? Promise.resolve(REVOKED_FINGERPRINT)
    : fingerprint([s.id, s.tenantId, s.userId, s.tokenHash, s.sessionVersion, s.createdAt, s.expiresAt, s.amr, s.impersonation]);

/**
 * After a change to these users or their sessions was committed to D1 and their
 * per-session entries rewritten: records their current fingerprints in D1 (pruning rows
 * older than the window), in one batch, then rewrites each tenant's edge document from D1
 * once, in this isolate at once and in KV. Throws if D1 or KV fails; the change itself is
 * saved, so the caller answers its success with the propagation delayed (src/propagation.ts).
 */
export async function recordTenantChanges(c: Context<AppEnv>, changed: readonly { user: AuthUser; states: AuthState[] }[]): Promise<void> {
  if (changed.length === 0) return;
  const now = c.get("now");
  const db = c.var.db;
  const rows = (
    await Promise.all(
      changed.map(async ({ user, states }) => [
        { tenantId: user.tenantId, subjectType: "user" as const, subjectId: user.id, fingerprint: await userFingerprint(user), changedAt: now },
        ...(await Promise.all(
          states.map(async (s) => ({ tenantId: user.tenantId, subjectType: "session" as const, subjectId: s.session.id, fingerprint: await sessionFingerprint(s.session), changedAt: now })),
        )),
      ]),
    )
  ).flat();
  const tenantIds = [...new Set(changed.map(({ user }) => user.tenantId))];
  const upsert = (row: (typeof rows)[number]) =>
    db
      .insert(sessionStateChanges)
      .values(row)
      .onConflictDoUpdate({
        target: [sessionStateChanges.tenantId, sessionStateChanges.subjectType, sessionStateChanges.subjectId],
        set: { fingerprint: row.fingerprint, changedAt: row.changedAt },
      });
  const prune = (tenantId: string) =>
    db.delete(sessionStateChanges).where(and(eq(sessionStateChanges.tenantId, tenantId), lt(sessionStateChanges.changedAt, now - TENANT_EDGE_WINDOW_MS)));
  const [first, ...rest] = tenantIds.map(prune);
  if (!first) return;
  await db.batch([first, ...rest, ...rows.map(upsert)]);
  for (const tenantId of tenantIds) await rewriteEdgeState(c, tenantId);
}
