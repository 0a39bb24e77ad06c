/**
 * The tenant's audit stream as D1 holds it (./table.ts), read by the routes and by the
 * tenant's object before each delivery, and what an answer shows of it: never the token,
 * only its last four characters.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { tenants, users } from "../db/schema";
import { creatorStillGrants } from "../scim/token";
import type { StreamState } from "./state";
import { type AuditStream, auditStreams } from "./table";

export async function loadStream(db: Db, tenantId: string): Promise<AuditStream | null> {
  const [row] = await db.select().from(auditStreams).where(eq(auditStreams.tenantId, tenantId)).limit(1);
  return row ?? null;
}

/**
 * The stream as a delivery needs it, with whether it may deliver: only while the owner
 * who last saved it still is an enabled owner of the tenant (access granted by someone
 * ends when their right to grant it ends, as for the SCIM token) and the tenant is enabled.
 */
export async function loadStreamForDelivery(db: Db, tenantId: string): Promise<(AuditStream & { stopped: string | null }) | null> {
  const [row] = await db
    .select({ stream: auditStreams, saver: { role: users.role, disabledAt: users.disabledAt, removedAt: users.removedAt }, tenantDisabledAt: tenants.disabledAt })
    .from(auditStreams)
    .innerJoin(tenants, eq(tenants.id, auditStreams.tenantId))
    .leftJoin(users, and(eq(users.id, auditStreams.savedBy), eq(users.tenantId, auditStreams.tenantId)))
    .where(eq(auditStreams.tenantId, tenantId))
    .limit(1);
  if (!row) return null;
  const stopped =
    row.tenantDisabledAt !== null
      ? "the organisation is disabled"
      : creatorStillGrants(row.saver)
        ? null
        : "the owner who saved the stream is no longer an enabled owner; an owner saves it again";
  return { ...row.stream, stopped };
}

/** Where delivery stands, as the tenant's object reports it (its head is the chain's newest seq). */
export type StreamProgress = StreamState & { headSeq: number };

const iso = (ms: number | null) => (ms === null || ms === 0 ? null : new Date(ms).toISOString());

/** The stream as the API answers it. */
export function toStreamView(stream: AuditStream, progress: StreamProgress | null) {
  return {
    id: stream.id,
    preset: stream.preset,
    url: stream.url,
    tokenHint: stream.tokenHint,
    paused: stream.paused,
    createdAt: iso(stream.createdAt),
    updatedAt: iso(stream.updatedAt),
    state: progress && {
      lastDeliveredSeq: progress.cursor,
      headSeq: progress.headSeq,
      lag: Math.max(0, progress.headSeq - progress.cursor),
      lastDeliveredAt: iso(progress.lastDeliveredAt),
      failures: progress.failures,
      nextAttemptAt: progress.failures > 0 ? iso(progress.nextAttemptAt) : null,
      lastError: progress.lastError === null ? null : { status: progress.lastErrorStatus, summary: progress.lastError, at: iso(progress.lastErrorAt) },
    },
  };
}

/** What an audit row says of a stream (before/after): never the token. */
export const auditedStream = (s: Pick<AuditStream, "preset" | "url" | "tokenHint" | "paused">) => ({ preset: s.preset, url: s.url, tokenHint: s.tokenHint, paused: s.paused });
