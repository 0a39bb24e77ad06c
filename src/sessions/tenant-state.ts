/**
 * The tenant's state document (KV key `tenant-state:<tenantId>`): which session snapshots a
 * recent change has made stale. For every user and session changed in the last
 * TENANT_STATE_WINDOW_MS it holds the fingerprint of their current state (a revoked
 * session's fingerprint never matches a snapshot). A snapshot is used only if every
 * fingerprint the document holds for its session, its user and the user it impersonates
 * equals the snapshot's own; anything older than the window cannot matter, because no
 * snapshot is trusted longer than SNAPSHOT_MAX_AGE_MS after its state was read.
 *
 * Writers: only refreshCachedSessions (src/sessions/service.ts), which every change to a
 * user or their sessions already calls after its D1 batch (endSessions, role and
 * permission changes, impersonation, MFA). It records the new fingerprints in D1
 * (session_state_changes) and rebuilds the whole document from D1 (those rows and the
 * tenant's recent revocations), never from what KV holds, so two concurrent writers do
 * not lose each other's change (only the order of their two KV writes can invert, a
 * window of milliseconds, bounded like every lost race by SNAPSHOT_MAX_AGE_MS).
 *
 * Readers: the edge check, through an in-isolate copy trusted for at most
 * LOCAL_TENANT_STATE_MS (a change through another isolate at this location is seen
 * within a second). A missing document is rebuilt from D1 (the cold path, like the IP
 * rule set); KV or D1 failing fails the request closed (503); one that does not parse or
 * is larger than TENANT_STATE_MAX_BYTES is not trusted (TenantStateUnreadable: its
 * snapshots are not used) until the next write replaces it. Bounded: a tenant with more than
 * TENANT_STATE_MAX_ENTRIES changes in a window gets `overflowUntil` instead of entries,
 * and its snapshots are not used (every request takes the per-session path) until then.
 */
import { and, eq, gte, lt } from "drizzle-orm";
import type { Context } from "hono";
import type { Db } from "../db/client";
import { sessionStateChanges, userSessions } from "../db/schema";
import type { AppEnv, AuthSession, AuthUser } from "../env";
import { sha256Hex } from "../lib/crypto";
import type { AuthState } from "./cache";
import { SNAPSHOT_MAX_AGE_MS } from "./snapshot";

export const TENANT_STATE_FORMAT = 1;
/** How long an entry is kept: the longest a snapshot is trusted, plus a minute for clock skew. */
export const TENANT_STATE_WINDOW_MS = SNAPSHOT_MAX_AGE_MS + 60_000;
export const TENANT_STATE_MAX_ENTRIES = 5_000;
export const TENANT_STATE_MAX_BYTES = 512 * 1024;
export const LOCAL_TENANT_STATE_MS = 1000;
const LOCAL_MAX_TENANTS = 1000;
const REVOKED = "revoked";

type Entry = { fp: string; at: number };
export type TenantState = {
  format: typeof TENANT_STATE_FORMAT;
  tenantId: string;
  /** Until then snapshots of this tenant are not used (too many changes to list). */
  overflowUntil: number;
  users: Record<string, Entry>;
  sessions: Record<string, Entry>;
};

export class TenantStateUnreadable extends Error {}

export const tenantStateKey = (tenantId: string) => `tenant-state:${tenantId}`;

const fingerprint = async (fields: unknown) => (await sha256Hex(JSON.stringify(fields))).slice(0, 24);

/** What of a user the edge check decides on (lastSeen-like fields excluded). */
export const userFingerprint = (u: AuthUser) =>
  fingerprint([u.id, u.tenantId, u.email, u.displayName, u.role, u.sessionVersion, u.disabledAt, u.totpEnabled, u.permissionOverrides]);

/** What of a session the edge check decides on (last_seen_at excluded: it moves on every refresh). */
export const sessionFingerprint = (s: AuthSession) =>
  s.revokedAt !== null ? Promise.resolve(REVOKED) : fingerprint([s.id, s.tenantId, s.userId, s.tokenHash, s.sessionVersion, s.createdAt, s.expiresAt, s.amr, s.impersonation]);

const local = new Map<string, { doc: TenantState; storedAt: number }>();

function remember(doc: TenantState, nowMs: number): void {
  if (local.size >= LOCAL_MAX_TENANTS) local.delete(local.keys().next().value as string);
  local.delete(doc.tenantId);
  local.set(doc.tenantId, { doc, storedAt: nowMs });
}

async function readFromKv(kv: KVNamespace, tenantId: string): Promise<TenantState | null> {
  const text = await kv.get(tenantStateKey(tenantId), "text");
  if (text === null) return null;
  if (text.length > TENANT_STATE_MAX_BYTES) throw new TenantStateUnreadable(`tenant state of ${text.length} bytes`);
  let doc: Partial<TenantState>;
  try {
    doc = JSON.parse(text) as Partial<TenantState>;
  } catch {
    throw new TenantStateUnreadable("tenant state is not JSON");
  }
  // Another format (an older deploy) is rebuilt, never trusted.
  if (doc.format !== TENANT_STATE_FORMAT || doc.tenantId !== tenantId) return null;
  if (typeof doc.overflowUntil !== "number" || typeof doc.users !== "object" || typeof doc.sessions !== "object" || !doc.users || !doc.sessions) {
    throw new TenantStateUnreadable("tenant state is malformed");
  }
  return doc as TenantState;
}

/**
 * The document as D1 says it now: the fingerprints recorded within the window
 * (session_state_changes) and the tenant's sessions revoked within it. Built whole at
 * every write and on a miss, so concurrent writers cannot lose each other's change.
 */
async function buildFromDb(db: Db, tenantId: string, nowMs: number): Promise<TenantState> {
  const since = nowMs - TENANT_STATE_WINDOW_MS;
  const [changes, revoked] = await db.batch([
    db
      .select()
      .from(sessionStateChanges)
      .where(and(eq(sessionStateChanges.tenantId, tenantId), gte(sessionStateChanges.changedAt, since))),
    db
      .select({ id: userSessions.id, revokedAt: userSessions.revokedAt })
      .from(userSessions)
      .where(and(eq(userSessions.tenantId, tenantId), gte(userSessions.revokedAt, since))),
  ]);
  const doc: TenantState = { format: TENANT_STATE_FORMAT, tenantId, overflowUntil: 0, users: {}, sessions: {} };
  for (const row of changes) (row.subjectType === "user" ? doc.users : doc.sessions)[row.subjectId] = { fp: row.fingerprint, at: row.changedAt };
  for (const row of revoked) doc.sessions[row.id] = { fp: REVOKED, at: row.revokedAt ?? nowMs };
  const count = Object.keys(doc.users).length + Object.keys(doc.sessions).length;
  return count <= TENANT_STATE_MAX_ENTRIES ? doc : { ...doc, overflowUntil: nowMs + TENANT_STATE_WINDOW_MS, users: {}, sessions: {} };
}

/**
 * The tenant's document for the edge check: the in-isolate copy (≤ 1 s), else KV, else
 * rebuilt from D1 and written back. Throws on any KV or D1 error, and
 * TenantStateUnreadable for a document that does not parse or is over its bound.
 */
export async function readTenantState(c: Context<AppEnv>, tenantId: string): Promise<TenantState> {
  const now = c.get("now");
  const hit = local.get(tenantId);
  const age = hit ? now - hit.storedAt : Number.POSITIVE_INFINITY;
  if (hit && age >= 0 && age < LOCAL_TENANT_STATE_MS) return hit.doc;
  const stored = await readFromKv(c.env.SESSION_CACHE, tenantId);
  if (stored) {
    remember(stored, now);
    return stored;
  }
  const rebuilt = await buildFromDb(c.var.db, tenantId, now);
  remember(rebuilt, now);
  c.executionCtx.waitUntil(c.env.SESSION_CACHE.put(tenantStateKey(tenantId), JSON.stringify(rebuilt)).catch(() => undefined));
  return rebuilt;
}

/**
 * After a change to `user` or their sessions was committed to D1 and their per-session
 * entries rewritten: records their current fingerprints in D1 (pruning the tenant's rows
 * older than the window), then rewrites the tenant's document from D1, in this isolate
 * at once and in KV. Throws if D1 or KV fails; the caller answers 503 (the change itself
 * is saved).
 */
export async function recordTenantChange(c: Context<AppEnv>, user: AuthUser, states: AuthState[]): Promise<void> {
  const now = c.get("now");
  const db = c.var.db;
  const tenantId = user.tenantId;
  const rows = [
    { tenantId, subjectType: "user" as const, subjectId: user.id, fingerprint: await userFingerprint(user), changedAt: now },
    ...(await Promise.all(
      states.map(async (s) => ({ tenantId, subjectType: "session" as const, subjectId: s.session.id, fingerprint: await sessionFingerprint(s.session), changedAt: now })),
    )),
  ];
  const upsert = (row: (typeof rows)[number]) =>
    db
      .insert(sessionStateChanges)
      .values(row)
      .onConflictDoUpdate({
        target: [sessionStateChanges.tenantId, sessionStateChanges.subjectType, sessionStateChanges.subjectId],
        set: { fingerprint: row.fingerprint, changedAt: row.changedAt },
      });
  const prune = db
    .delete(sessionStateChanges)
    .where(and(eq(sessionStateChanges.tenantId, tenantId), lt(sessionStateChanges.changedAt, now - TENANT_STATE_WINDOW_MS)));
  await db.batch([prune, ...rows.map(upsert)]);
  const doc = await buildFromDb(db, tenantId, now);
  remember(doc, now);
  await c.env.SESSION_CACHE.put(tenantStateKey(tenantId), JSON.stringify(doc));
}
