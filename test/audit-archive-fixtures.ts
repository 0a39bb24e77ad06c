import { env } from "cloudflare:workers";
import type { Bindings } from "../src/env";
import { randomId } from "../src/lib/crypto";
import { importCheckpointKeys } from "../scripts/audit-archive-check.mjs";
import { checkpointKey } from "../src/audit/checkpoint";
import { retainTenant } from "../src/audit/retention";
import type { AuditDb } from "../src/tenant-object/audit-store";
import { START_MS, withEnv } from "./helpers";
import { auditStore, inAuditStore } from "./audit-store";

export const DAY = 86_400_000;
export const NOW = START_MS;
/** Retention of 30 days: rows from 40 days ago are due, rows from yesterday are not. */
export const OLD = NOW - 40 * DAY;
export const RECENT = NOW - DAY;
export const retentionEnv = (overrides: Partial<Bindings> = {}) => withEnv({ AUDIT_RETENTION_DAYS: "30", ...overrides });

/** A tenant with a sealed chain of rows created at `createdAts` (seq 1, 2, …), inserted directly into D1 as rows written before the chain moved to the tenant's object, then imported by it. */
export async function seedChain(tenantId: string, createdAts: number[]): Promise<void> {
  await env.DB.prepare("INSERT INTO tenants (id, name, slug, created_at) VALUES (?, ?, ?, ?)").bind(tenantId, tenantId, tenantId, OLD).run();
  const insert = "INSERT INTO audit_logs (id, tenant_id, action, outcome, failure_reason, metadata, ip, created_at, seq) VALUES (?, ?, 'LOGIN_FAILED', 'FAIL', 'INVALID_PASSWORD', ?, '203.0.113.7', ?, ?)";
  await env.DB.batch(createdAts.map((at, i) => env.DB.prepare(insert).bind(randomId("aud_"), tenantId, JSON.stringify({ n: i + 1, note: "é ✓ \u2028" }), at, i + 1)));
  // Imported (and sealed) by the tenant's object as a deployment's older rows are.
  await env.TENANT.get(env.TENANT.idFromName(tenantId)).drainAudit(tenantId);
}

export const seqsOf = async (tenantId: string) =>
  (await auditStore.prepare("SELECT seq FROM audit_logs WHERE tenant_id = ? ORDER BY seq").bind(tenantId).all<{ seq: number }>()).results.map((r) => r.seq);

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The archive objects of a tenant, in key (so chain) order. */
export async function archivesOf(tenantId: string, bucket: R2Bucket = env.AUDIT_ARCHIVE as R2Bucket): Promise<{ key: string; text: string }[]> {
  const listed = await bucket.list({ prefix: `audit/${encodeURIComponent(tenantId)}/` });
  const out = [];
  for (const { key } of listed.objects.sort((a, b) => (a.key < b.key ? -1 : 1))) out.push({ key, text: await (await bucket.get(key))!.text() });
  return out;
}

/** AUDIT_CHECKPOINT_KEY as the offline verifier imports it. */
export const archiveKeyOfChecks = () => importCheckpointKeys(env.AUDIT_CHECKPOINT_KEY as string);

/** One tenant's retention run inside its object (src/audit/retention.ts, retainTenant), with an archive bucket the test controls. */
export function retainIn(tenantId: string, nowMs: number, archive: R2Bucket | undefined = env.AUDIT_ARCHIVE as R2Bucket, chunkRows = 1000) {
  return inAuditStore(tenantId, (db) => retainOn(db, tenantId, nowMs, archive, chunkRows));
}

/** The same, on the object's store as a test already holds it (inAuditStore). */
export async function retainOn(db: AuditDb, tenantId: string, nowMs: number, archive: R2Bucket | undefined = env.AUDIT_ARCHIVE as R2Bucket, chunkRows = 1000) {
  const keys = await checkpointKey(env as Bindings);
  if (!keys) throw new Error("AUDIT_CHECKPOINT_KEY missing in the test environment");
  return retainTenant(db, { keys, archive }, tenantId, { nowMs, days: 30, chunkRows, maxChunks: 100 });
}

/** The archive bucket on which `before` runs ahead of each write (another run, or a crash, meanwhile). */
export function bucketWithPut(before: (() => Promise<void>) | null, after: (() => Promise<void>) | null = null): R2Bucket {
  const real = env.AUDIT_ARCHIVE as R2Bucket;
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "put") {
        return async (...args: Parameters<R2Bucket["put"]>) => {
          await before?.();
          const written = await target.put(...args);
          await after?.();
          return written;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A prune that writes its archive, then dies before its checkpoint-and-delete commits (the object's run is cut short). */
export async function pruneDyingAfterArchive(tenantId: string, at: number, chunkRows = 1000): Promise<void> {
  const dying = bucketWithPut(null, () => Promise.reject(new Error("the run died after the archive write")));
  await retainIn(tenantId, at, dying, chunkRows);
}
