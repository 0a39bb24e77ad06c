import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { rowHash } from "../src/audit/chain";
import { checkpointKey, signCheckpoint } from "../src/audit/checkpoint";
import { drainPendingOutboxes } from "../src/audit/drain-sweep";
import { linkProblem } from "../src/audit/verify";
import { createDb } from "../src/db/client";
import { type AuditLog, auditCheckpoints, auditLogs } from "../src/db/schema";
import type { Bindings } from "../src/env";
import { AuditDrain } from "../src/tenant-object/audit-drain";
import { openAuditStore } from "../src/tenant-object/audit-store";
import { auditRowsOf, d1LosingDeletesOf, outboxOf, verifyChainOf } from "./audit-store";
import { Harness, START_MS, seedTenant, tenantObjectsUnreachable, withEnv } from "./helpers";

/** More than one drain page, the last row left unsealed (as a seal that had not run yet leaves it). */
const LEGACY_ROWS = 250;

/** Rows 1-100 were pruned before the move: D1 held their retention checkpoint. */
const PRUNED = 100;
const DAY = 86_400_000;

/** A tenant's chain as D1 held it before the chain moved to the tenant's object: a signed checkpoint at seq 100, then rows 101-350. */
async function legacyChain(tenantId: string): Promise<AuditLog[]> {
  const keys = await checkpointKey(env as Bindings);
  if (!keys) throw new Error("AUDIT_CHECKPOINT_KEY missing in the test environment");
  const checkpoint = { tenantId, seq: PRUNED, hash: "c".repeat(64), prunedAt: START_MS - DAY, lastCreatedAt: START_MS - 500 * DAY, retentionDays: 400 };
  await createDb(env.DB).insert(auditCheckpoints).values({ ...checkpoint, mac: await signCheckpoint(keys, checkpoint) });
  const rows: AuditLog[] = [];
  let prev = checkpoint.hash;
  for (let seq = PRUNED + 1; seq <= PRUNED + LEGACY_ROWS; seq++) {
    const fields = {
      id: `aud_legacy_${tenantId}_${seq}`, tenantId, actorUserId: null, realUserId: null, isImpersonating: false, action: "LOGIN_FAILED", outcome: "FAIL" as const,
      targetType: null, targetId: null, ip: "203.0.113.7", userAgent: null, country: null, city: null, failureReason: "INVALID_PASSWORD",
      before: null, after: null, metadata: { n: seq, note: "é ✓" }, requestId: null, createdAt: START_MS - 1000 + seq, seq,
    };
    const sealed = seq < PRUNED + LEGACY_ROWS;
    const hash = sealed ? await rowHash(prev, fields) : null;
    rows.push({ ...fields, prevHash: sealed ? prev : null, hash });
    if (hash) prev = hash;
  }
  const db = createDb(env.DB);
  for (let i = 0; i < rows.length; i += 4) await db.insert(auditLogs).values(rows.slice(i, i + 4));
  return rows;
}

/** The D1 chain's own verification, as before the move: every sealed row links to the one before. */
async function verifiesInD1(tenantId: string): Promise<boolean> {
  const rows = await createDb(env.DB).select().from(auditLogs).where(eq(auditLogs.tenantId, tenantId)).orderBy(auditLogs.seq);
  let prev = { seq: PRUNED, hash: "c".repeat(64) };
  for (const row of rows) {
    if (row.hash === null) return row.seq === PRUNED + rows.length; // the newest, waiting for its seal
    if ((await linkProblem(prev, row)) !== null) return false;
    prev = { seq: row.seq, hash: row.hash };
  }
  return true;
}

describe("the migration of D1's audit rows into the tenants' objects", () => {
  it("a populated database's rows move into their tenant's object with their seq and hashes, the chain verifying before and after, resumably and once", async () => {
    const h = new Harness();
    const t = await seedTenant("migrated");
    const other = await seedTenant("untouched");
    const legacy = await legacyChain(t.id);
    expect(await verifiesInD1(t.id)).toBe(true);
    // A change committed by the new release before the tenant's rows moved: it waits in the outbox.
    const member = await h.signIn(t.member, { env: withEnv({ TENANT: tenantObjectsUnreachable() }) });
    expect((await outboxOf(t.id)).length).toBeGreaterThan(0);

    // The first page is stored, then the drain dies before D1's rows are deleted.
    const stub = env.TENANT.get(env.TENANT.idFromName(t.id));
    await runInDurableObject(stub, async (_instance, state) => {
      const crashing = new AuditDrain(state.storage, openAuditStore(state.storage), () => createDb(d1LosingDeletesOf(env.DB, "audit_logs")));
      await expect(crashing.drain(t.id)).rejects.toThrow();
    });
    // The hourly cron finishes the move (twice: the second changes nothing).
    await drainPendingOutboxes(env);
    await drainPendingOutboxes(env);

    const rows = await auditRowsOf(t.id);
    const imported = rows.slice(0, LEGACY_ROWS);
    expect(imported.map((r) => [r.id, r.seq])).toEqual(legacy.map((r) => [r.id, r.seq]));
    expect(imported.slice(0, -1).map((r) => r.hash)).toEqual(legacy.slice(0, -1).map((r) => r.hash));
    expect(imported.at(-1)?.hash).toMatch(/^[0-9a-f]{64}$/);
    // The events committed meanwhile follow the imported rows.
    expect(rows.slice(LEGACY_ROWS).every((r) => r.seq > PRUNED + LEGACY_ROWS)).toBe(true);
    expect(rows.slice(LEGACY_ROWS).length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(await verifyChainOf(t.id, START_MS)).toMatchObject({ ok: true, checked: rows.length, fromSeq: PRUNED });
    expect(await createDb(env.DB).$count(auditLogs)).toBe(0);
    expect(await outboxOf(t.id)).toEqual([]);
    expect(member.userId).toBe(t.member.id);
    expect(await auditRowsOf(other.id)).toEqual([]);
  });
});
