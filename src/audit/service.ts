/**
 * The audit write primitive. A sensitive change and its SUCCESS row go to D1 in one
 * batch (one transaction): either both land or neither does. Refusals are written
 * as FAIL rows on their own, since there is no change to pair them with.
 */
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { createDb } from "../db/client";
import { auditLogs } from "../db/schema";
import type { AppEnv, AuthUser } from "../env";
import { randomId } from "../lib/crypto";
import { requestMeta } from "../lib/request-meta";
import type { AuditAction, AuditOutcome, AuditTargetType } from "./actions";
import { type ChainedFields, chainHead, isChainConflict, rowHash } from "./chain";

export type AuditEvent = {
  action: AuditAction;
  outcome: AuditOutcome;
  /** Defaults to the signed-in user's tenant and id; sign-in passes them explicitly. */
  tenantId?: string;
  actorUserId?: string | null;
  targetType?: AuditTargetType | null;
  targetId?: string | null;
  failureReason?: string | null;
  before?: unknown;
  after?: unknown;
  metadata?: Record<string, unknown>;
};

type UnchainedRow = Omit<ChainedFields, "seq" | "prevHash">;

export function buildAuditRow(c: Context<AppEnv>, event: AuditEvent): UnchainedRow | null {
  const user: AuthUser | undefined = c.get("user");
  const tenantId = event.tenantId ?? user?.tenantId;
  // A row belongs to a tenant's log; a request no tenant can be named for has no log.
  if (!tenantId) return null;
  const meta = requestMeta(c);
  const actor = c.get("actor");
  return {
    id: randomId("aud_"),
    tenantId,
    actorUserId: event.actorUserId === undefined ? (user?.id ?? null) : event.actorUserId,
    realUserId: actor?.realUserId ?? null,
    isImpersonating: actor?.isImpersonating ?? false,
    action: event.action,
    outcome: event.outcome,
    targetType: event.targetType ?? null,
    targetId: event.targetId ?? null,
    ip: meta.ip,
    userAgent: meta.userAgent,
    country: meta.country,
    city: meta.city,
    failureReason: event.failureReason ?? null,
    before: event.before ?? null,
    after: event.after ?? null,
    metadata: event.metadata ?? null,
    requestId: c.get("requestId") ?? null,
    createdAt: c.get("now"),
  };
}

type Batchable = BatchItem<"sqlite">;

// A lost race for the next seq aborts the whole batch (unique (tenant_id, seq));
// retrying re-reads the head, so concurrent writers never fork the chain.
const MAX_CHAIN_ATTEMPTS = 8;

/** Runs `changes` and the audit rows of `events` as one D1 batch. */
export async function commitWithAudit(
  c: Context<AppEnv>,
  changes: Batchable[],
  events: AuditEvent | AuditEvent[],
): Promise<void> {
  const db = createDb(c.env.DB);
  const rows = (Array.isArray(events) ? events : [events])
    .map((e) => buildAuditRow(c, e))
    .filter((r): r is UnchainedRow => r !== null);

  for (let attempt = 1; ; attempt++) {
    const inserts = await chainRows(db, rows);
    const [first, ...rest] = [...changes, ...inserts.map((r) => db.insert(auditLogs).values(r))];
    if (!first) return;
    try {
      await db.batch([first, ...rest]);
      return;
    } catch (err) {
      if (!isChainConflict(err) || attempt >= MAX_CHAIN_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}

async function chainRows(db: ReturnType<typeof createDb>, rows: UnchainedRow[]) {
  const heads = new Map<string, { seq: number; hash: string }>();
  const chained: (typeof auditLogs.$inferInsert)[] = [];
  for (const row of rows) {
    const head = heads.get(row.tenantId) ?? (await chainHead(db, row.tenantId));
    const fields: ChainedFields = { ...row, seq: head.seq + 1, prevHash: head.hash };
    const hash = await rowHash(head.hash, fields);
    chained.push({ ...fields, hash });
    heads.set(row.tenantId, { seq: fields.seq, hash });
  }
  return chained;
}

/** Writes a FAIL (or standalone) row. A refusal stays a refusal even if this write fails. */
export async function recordAudit(c: Context<AppEnv>, event: AuditEvent): Promise<void> {
  try {
    await commitWithAudit(c, [], event);
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "audit write failed", action: event.action, requestId: c.get("requestId"), error: String(err) }));
  }
}
