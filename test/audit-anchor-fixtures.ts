import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { type Anchor, anchorPrefix } from "../src/audit/anchors";
import { GENESIS_HASH, rowHash } from "../src/audit/chain";
import { checkpointKeySet } from "../src/audit/checkpoint";
import type { Bindings } from "../src/env";
import type { KeySet } from "../src/lib/key-set";
import { Harness, type SeededTenant, seedTenant } from "./helpers";
import { auditRowsOf, auditStore } from "./audit-store";

export const anchorBucket = () => env.AUDIT_ANCHORS as R2Bucket;

/** The tenant's anchors as R2 holds them (bodies), in seq order. */
export async function anchorsOf(tenantId: string, bucket: R2Bucket = anchorBucket()): Promise<Anchor[]> {
  const listed = await bucket.list({ prefix: anchorPrefix(tenantId) });
  const out: Anchor[] = [];
  for (const { key } of listed.objects.sort((a, b) => (a.key < b.key ? -1 : 1))) out.push(JSON.parse(await (await bucket.get(key))!.text()) as Anchor);
  return out;
}

/** What the hourly cron asks of one tenant's object: anchor its head if it has new rows (with the deployment's key set, or `keys`). */
export function anchorHeadOf(tenantId: string, nowMs: number, keys: KeySet | null = checkpointKeySet(env as Bindings)) {
  if (!keys) throw new Error("AUDIT_CHECKPOINT_KEY missing in the test environment");
  return env.TENANT.get(env.TENANT.idFromName(tenantId)).anchorAudit(tenantId, nowMs, keys);
}

/** The stored chain's newest seq. */
export const headSeqOf = async (tenantId: string) => (await auditRowsOf(tenantId)).at(-1)?.seq ?? 0;

/**
 * A tenant whose chain was anchored twice by the cron's call, an hour apart, with rows
 * added in between and after: `first` and `second` are the anchored seqs.
 */
export async function tenantAnchoredTwice(): Promise<{ h: Harness; t: SeededTenant; first: number; second: number }> {
  const h = new Harness();
  const t = await seedTenant();
  await h.login(t.member.email);
  expect(await anchorHeadOf(t.id, h.clock.ms)).toBe("anchored");
  const first = await headSeqOf(t.id);
  h.clock.advanceSeconds(3600);
  await h.login(t.member.email);
  await h.login(t.member.email);
  expect(await anchorHeadOf(t.id, h.clock.ms)).toBe("anchored");
  const second = await headSeqOf(t.id);
  h.clock.advanceSeconds(600);
  await h.login(t.member.email);
  return { h, t, first, second };
}

/**
 * What an adversary holding the object's storage does: edits the row at `seq` (its ip)
 * and re-seals it and every row after it (prev_hash and hash), so the chain verifies by
 * itself.
 */
export async function rewriteAndReseal(tenantId: string, seq: number): Promise<void> {
  const rows = await auditRowsOf(tenantId);
  let prev = rows.find((r) => r.seq === seq - 1)?.hash ?? GENESIS_HASH;
  for (const row of rows.filter((r) => r.seq >= seq)) {
    const changed = row.seq === seq ? { ...row, ip: "198.51.100.99" } : row;
    const hash = await rowHash(prev, changed);
    await auditStore.prepare("UPDATE audit_logs SET ip = ?, prev_hash = ?, hash = ? WHERE tenant_id = ? AND seq = ?").bind(changed.ip, prev, hash, tenantId, row.seq).run();
    prev = hash;
  }
}
