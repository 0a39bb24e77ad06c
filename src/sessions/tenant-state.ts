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
 * permission changes, impersonation, MFA). Revocations are re-read from D1 at every
 * write (so two concurrent writers cannot lose one); the fingerprints of other changes
 * are merged into what KV holds, and a write race that loses one is bounded by
 * SNAPSHOT_MAX_AGE_MS, as a lost race on the per-session KV entries always was.
 *
 * Readers: the edge check, through an in-isolate copy trusted for at most
 * LOCAL_TENANT_STATE_MS (a change through another isolate at this location is seen
 * within a second). A missing document is rebuilt from D1 (the cold path, like the IP
 * rule set); one that cannot be read, does not parse or is larger than
 * TENANT_STATE_MAX_BYTES fails the request closed (503). Bounded: a tenant with more than
 * TENANT_STATE_MAX_ENTRIES changes in a window gets `overflowUntil` instead of entries,
 * and its snapshots are not used (every request takes the per-session path) until then.
 */
import { and, eq, gte } from "drizzle-orm";
import type { Context } from "hono";
import type { Db } from "../db/client";
import { userSessions } from "../db/schema";
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

/** The tenant's sessions revoked within the window, from D1: what a rebuild always knows. */
async function recentRevocations(db: Db, tenantId: string, nowMs: number): Promise<Record<string, Entry>> {
  const rows = await db
    .select({ id: userSessions.id, revokedAt: userSessions.revokedAt })
    .from(userSessions)
    .where(and(eq(userSessions.tenantId, tenantId), gte(userSessions.revokedAt, nowMs - TENANT_STATE_WINDOW_MS)));
  return Object.fromEntries(rows.map((r) => [r.id, { fp: REVOKED, at: r.revokedAt ?? nowMs }]));
}

function pruned(entries: Record<string, Entry>, nowMs: number): Record<string, Entry> {
  return Object.fromEntries(Object.entries(entries).filter(([, e]) => e.at >= nowMs - TENANT_STATE_WINDOW_MS));
}

function bounded(doc: TenantState, nowMs: number): TenantState {
  const count = Object.keys(doc.users).length + Object.keys(doc.sessions).length;
  if (count <= TENANT_STATE_MAX_ENTRIES) return doc;
  return { ...doc, overflowUntil: nowMs + TENANT_STATE_WINDOW_MS, users: {}, sessions: {} };
}

async function write(kv: KVNamespace, doc: TenantState, nowMs: number): Promise<void> {
  remember(doc, nowMs);
  await kv.put(tenantStateKey(doc.tenantId), JSON.stringify(doc));
}

/**
 * The tenant's document for the edge check: the in-isolate copy (≤ 1 s), else KV, else
 * rebuilt from D1 and written back. Throws on any KV or D1 error and on an unreadable
 * or oversized document: the caller fails closed.
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
  const rebuilt = bounded({ format: TENANT_STATE_FORMAT, tenantId, overflowUntil: 0, users: {}, sessions: await recentRevocations(c.var.db, tenantId, now) }, now);
  remember(rebuilt, now);
  c.executionCtx.waitUntil(c.env.SESSION_CACHE.put(tenantStateKey(tenantId), JSON.stringify(rebuilt)).catch(() => undefined));
  return rebuilt;
}

/**
 * After a change to `user` or their sessions was committed to D1 and their per-session
 * entries rewritten: record their current fingerprints in the tenant's document (with
 * every revocation of the window re-read from D1). Throws if KV or D1 fails; the caller
 * answers 503 (the change itself is saved).
 */
export async function recordTenantChange(c: Context<AppEnv>, user: AuthUser, states: AuthState[]): Promise<void> {
  const now = c.get("now");
  const kv = c.env.SESSION_CACHE;
  let stored: TenantState | null;
  try {
    stored = await readFromKv(kv, user.tenantId);
  } catch (err) {
    if (!(err instanceof TenantStateUnreadable)) throw err;
    stored = null; // Rewritten from what is known now; the unreadable one is replaced.
  }
  const users = pruned(stored?.users ?? {}, now);
  const sessions = pruned(stored?.sessions ?? {}, now);
  users[user.id] = { fp: await userFingerprint(user), at: now };
  for (const state of states) sessions[state.session.id] = { fp: await sessionFingerprint(state.session), at: now };
  Object.assign(sessions, await recentRevocations(c.var.db, user.tenantId, now));
  const overflowUntil = stored && stored.overflowUntil > now ? stored.overflowUntil : 0;
  await write(kv, bounded({ format: TENANT_STATE_FORMAT, tenantId: user.tenantId, overflowUntil, users, sessions }, now), now);
}
