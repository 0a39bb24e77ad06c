/**
 * The staleness entries of the tenant's edge document: which session snapshots a recent
 * change has made stale. This module owns the fingerprints (what of a user and a session
 * the edge check decides on) and records them in D1 (session_state_changes) after every
 * change to a user or their sessions, through refreshCachedSessions
 * (src/sessions/service.ts). The snapshot check (src/sessions/snapshot-check.ts) compares
 * them with a snapshot's own. The model: docs/consistency.md.
 */
import { and, eq, lt } from "drizzle-orm";
import type { Context } from "hono";
import { sessionStateChanges } from "../db/schema";
import type { AppEnv, AuthSession, AuthUser } from "../env";
import { sha256Hex } from "../lib/crypto";
import { REVOKED_FINGERPRINT, TENANT_EDGE_WINDOW_MS } from "./document";
import { rewriteEdgeState } from "./rewrite";
import type { AuthState } from "../sessions/cache";

const fingerprint = async (fields: unknown) => (await sha256Hex(JSON.stringify(fields))).slice(0, 24);

/**
 * One decision per field of a type: "in" the fingerprint (the edge check decides on it, so
 * changing it must make a snapshot stale) or "out" (with the reason beside it). Written
 * `satisfies Fields<T>`, so a field added to AuthUser or AuthSession does not compile
 * until it is decided here, and a field removed from them does not either.
 */
type Fields<T> = Record<keyof T, "in" | "out">;

/** The fields marked "in", in their declaration order (the fingerprint's order). */
const fieldsIn = <T>(decisions: Fields<T>) => (Object.keys(decisions) as (keyof T)[]).filter((k) => decisions[k] === "in");

const USER_FIELDS = {
  id: "in",
  tenantId: "in",
  email: "in",
  displayName: "in",
  role: "in",
  sessionVersion: "in",
  disabledAt: "in",
  totpEnabled: "in",
  passkeyCount: "in",
  permissionOverrides: "in",
} as const satisfies Fields<AuthUser>;

const SESSION_FIELDS = {
  id: "in",
  tenantId: "in",
  userId: "in",
  tokenHash: "in",
  sessionVersion: "in",
  createdAt: "in",
  // Moves on every last-seen refresh; the snapshot carries its own and is re-issued when it moves.
  lastSeenAt: "out",
  expiresAt: "in",
  // A revoked session's fingerprint is REVOKED_FINGERPRINT, whatever its other fields.
  revokedAt: "out",
  // Only ever set together with revokedAt.
  revokeReason: "out",
  amr: "in",
  impersonation: "in",
} as const satisfies Fields<AuthSession>;

const USER_FINGERPRINTED = fieldsIn<AuthUser>(USER_FIELDS);
const SESSION_FINGERPRINTED = fieldsIn<AuthSession>(SESSION_FIELDS);

/** What of a user the edge check decides on: every field of AuthUser marked "in" above. */
export const userFingerprint = (u: AuthUser) => fingerprint(USER_FINGERPRINTED.map((k) => u[k]));

/** What of a session the edge check decides on: the fields of AuthSession marked "in" above. */
export const sessionFingerprint = (s: AuthSession) =>
  s.revokedAt !== null ? Promise.resolve(REVOKED_FINGERPRINT) : fingerprint(SESSION_FINGERPRINTED.map((k) => s[k]));

/**
 * After a change to these users or their sessions was committed to D1 (and their
 * per-session entries rewritten, or refused): records their current fingerprints in D1
 * (pruning rows older than the window), in one batch, then rewrites each tenant's edge
 * document from D1 once, in this isolate at once, and tells the tenant's object, which
 * writes it to KV. Throws if D1 fails or the object cannot be told; the change itself is
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
