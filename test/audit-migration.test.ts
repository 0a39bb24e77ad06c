import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { drainPendingOutboxes } from "../src/audit/drain-sweep";
import { linkProblem } from "../src/audit/verify";
import { createDb } from "../src/db/client";
import { auditLogs } from "../src/db/schema";
import { AuditDrain } from "../src/tenant-object/audit-drain";
import { openAuditStore } from "../src/tenant-object/audit-store";
import { auditRowsOf, d1LosingDeletesOf, outboxOf, verifyChainOf } from "./audit-store";
import { Harness, START_MS, seedTenant, tenantObjectsUnreachable, withEnv } from "./helpers";
import { LEGACY_CHECKPOINT_HASH, legacyRowsInD1, seedLegacyChain } from "./legacy-audit-fixtures";

/** More than one drain page, the last row left unsealed (as a seal that had not run yet leaves it). */
const LEGACY_ROWS = 250;

/** Rows 1-100 were pruned before the move: D1 held their retention checkpoint. */
const PRUNED = 100;

/** The D1 chain's own verification, as before the move: every sealed row links to the one before. */
async function verifiesInD1(tenantId: string): Promise<boolean> {
  const rows = await createDb(env.DB).select().from(auditLogs).where(eq(auditLogs.tenantId, tenantId)).orderBy(auditLogs.seq);
  let prev = { seq: PRUNED, hash: LEGACY_CHECKPOINT_HASH };
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
    const legacy = await seedLegacyChain(t.id, { rows: LEGACY_ROWS, prunedUpTo: PRUNED, lastUnsealed: true });
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
    expect(await legacyRowsInD1()).toBe(0);
    expect(await outboxOf(t.id)).toEqual([]);
    expect(member.userId).toBe(t.member.id);
    expect(await auditRowsOf(other.id)).toEqual([]);
  });

  it("rows imported by a drain that died before deleting its last page from D1 are deleted by the next drain, never imported twice", async () => {
    const t = await seedTenant("lost-delete");
    const legacy = await seedLegacyChain(t.id, { rows: 3 });
    const stub = env.TENANT.get(env.TENANT.idFromName(t.id));
    await runInDurableObject(stub, async (_instance, state) => {
      const crashing = new AuditDrain(state.storage, openAuditStore(state.storage), () => createDb(d1LosingDeletesOf(env.DB, "audit_logs")));
      await expect(crashing.drain(t.id)).rejects.toThrow();
    });
    expect(await legacyRowsInD1()).toBe(3);
    await stub.drainAudit(t.id);
    expect(await legacyRowsInD1()).toBe(0);
    expect((await auditRowsOf(t.id)).map((r) => [r.id, r.seq])).toEqual(legacy.map((r) => [r.id, r.seq]));
    expect(await verifyChainOf(t.id, START_MS)).toMatchObject({ ok: true, checked: 3 });
  });
});
