/**
 * Tamper evidence for the audit log (SOC 2 evidence).
 *
 * Threat model: someone with write access to D1 (an operator, a leaked API token)
 * edits or deletes audit rows to hide what happened. Each tenant's rows form a chain:
 * `hash = SHA-256(prev_hash ‖ canonical JSON of the row)`, with a dense per-tenant
 * `seq`. Editing a row breaks its hash; deleting one leaves a gap or a broken link.
 * It does not stop someone who rewrites the chain from some row onwards; anchoring the
 * head hash elsewhere (an export) covers that.
 *
 * Writing and linking are two steps, so that concurrent writers never conflict:
 * 1. A row is inserted with its `seq` computed inside the D1 batch (`MAX(seq) + 1`).
 *    D1 runs a batch as one serialised transaction, so the seq is never contended and
 *    the change and its row still commit together. `prev_hash` and `hash` stay NULL.
 * 2. Sealing links the unsealed rows of a tenant in seq order, from the rows as D1
 *    returns them, so the hash covers exactly what is stored. It is idempotent
 *    (`UPDATE … WHERE hash IS NULL`): concurrent sealers compute the same values.
 * Writers seal right after their batch (sealAfterWrite); verification and retention
 * seal first too, so a row left unsealed (a failed seal, a burst) is linked by the next.
 */
import { and, asc, eq, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type AuditLog, auditCheckpoints, auditLogs, auditSealLeases } from "../db/schema";
import { randomId, sha256Hex } from "../lib/crypto";

export const GENESIS_HASH = "0".repeat(64);

/** JSON with object keys sorted at every depth, so equal rows hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The fields a row's hash covers: everything but the link fields. */
export type HashedFields = Omit<AuditLog, "hash" | "prevHash">;

export function rowHash(prevHash: string, row: HashedFields & Partial<Pick<AuditLog, "hash" | "prevHash">>): Promise<string> {
  const { prevHash: _prev, hash: _hash, ...fields } = row;
  return sha256Hex(prevHash + canonicalJson(fields));
}

/**
 * The tenant's next seq, evaluated inside the batch that inserts the row: after the
 * newest row, else after the retention checkpoint (every row pruned), else 1.
 */
export function nextSeq(tenantId: string) {
  return sql<number>`(COALESCE(
    (SELECT MAX(${auditLogs.seq}) FROM ${auditLogs} WHERE ${auditLogs.tenantId} = ${tenantId}),
    (SELECT ${auditCheckpoints.seq} FROM ${auditCheckpoints} WHERE ${auditCheckpoints.tenantId} = ${tenantId}),
    0) + 1)`;
}

const SEAL_PAGE = 200;

/**
 * Links the tenant's unsealed rows (at most `maxPages` pages of them) to their predecessors,
 * in seq order. Stops at a row whose predecessor is missing or unsealed: that is a
 * gap only verification can report, and linking across it would hide it.
 */
export async function sealChain(db: Db, tenantId: string, maxPages = Number.POSITIVE_INFINITY): Promise<void> {
  for (let page = 0; page < maxPages; page++) {
    const rows = await db.select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), isNull(auditLogs.hash))).orderBy(asc(auditLogs.seq)).limit(SEAL_PAGE);
    const first = rows[0];
    if (!first) return;
    let prev = await predecessor(db, tenantId, first.seq);
    if (!prev) return;
    const links: { s: number; p: string; h: string }[] = [];
    for (const row of rows) {
      if (row.seq !== prev.seq + 1) break;
      const hash = await rowHash(prev.hash, row);
      links.push({ s: row.seq, p: prev.hash, h: hash });
      prev = { seq: row.seq, hash };
    }
    if (links.length === 0) return;
    // One statement for the page (D1 allows 100 bound parameters, so the links travel
    // as one JSON parameter); rows someone else sealed meanwhile are left alone.
    await db.run(sql`UPDATE ${auditLogs} SET prev_hash = link.value ->> 'p', hash = link.value ->> 'h'
      FROM json_each(${JSON.stringify(links)}) AS link
      WHERE ${auditLogs.tenantId} = ${tenantId} AND ${auditLogs.seq} = link.value ->> 's' AND ${auditLogs.hash} IS NULL`);
    if (links.length < rows.length || rows.length < SEAL_PAGE) return;
  }
}

const LEASE_MS = 30_000;
const WRITER_PAGES = 5;
const WRITER_ROUNDS = 3;

/**
 * Sealing after a write. Every writer sealing every pending row would cost N² hashes
 * in a burst of N writers, so one writer at a time holds the tenant's lease and seals
 * for all; the others return at once. The holder checks again after releasing the
 * lease, so a row committed while it held the lease is not left behind. Work per
 * request is bounded: what a burst leaves unsealed is sealed by the next writer, or
 * by verification (which seals first, without the lease).
 */
export async function sealAfterWrite(db: Db, tenantId: string, nowMs: number): Promise<void> {
  const holder = randomId("seal_");
  for (let round = 0; round < WRITER_ROUNDS; round++) {
    const [lease] = await db
      .insert(auditSealLeases)
      .values({ tenantId, holder, expiresAt: nowMs + LEASE_MS })
      .onConflictDoUpdate({
        target: auditSealLeases.tenantId,
        set: { holder, expiresAt: nowMs + LEASE_MS },
        setWhere: lt(auditSealLeases.expiresAt, nowMs),
      })
      .returning({ holder: auditSealLeases.holder });
    if (lease?.holder !== holder) return; // the holder seals this writer's rows too
    try {
      await sealChain(db, tenantId, WRITER_PAGES);
    } finally {
      await db.delete(auditSealLeases).where(and(eq(auditSealLeases.tenantId, tenantId), eq(auditSealLeases.holder, holder)));
    }
    const pending = await db
      .select({ seq: auditLogs.seq })
      .from(auditLogs)
      .where(and(eq(auditLogs.tenantId, tenantId), isNull(auditLogs.hash)))
      .limit(1);
    if (pending.length === 0) return;
  }
}

/** The sealed row (or checkpoint, or genesis) right before `seq`, if there is one. */
async function predecessor(db: Db, tenantId: string, seq: number): Promise<{ seq: number; hash: string } | null> {
  if (seq === 1) return { seq: 0, hash: GENESIS_HASH };
  const [row] = await db
    .select({ seq: auditLogs.seq, hash: auditLogs.hash })
    .from(auditLogs)
    .where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.seq, seq - 1)))
    .limit(1);
  if (row) return row.hash === null ? null : { seq: row.seq, hash: row.hash };
  const checkpoint = await db.query.auditCheckpoints.findFirst({ where: eq(auditCheckpoints.tenantId, tenantId) });
  return checkpoint && checkpoint.seq === seq - 1 ? { seq: checkpoint.seq, hash: checkpoint.hash } : null;
}

