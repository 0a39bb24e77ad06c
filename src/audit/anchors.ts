/**
 * Anchors: the chain's head, kept outside the store that holds the chain.
 *
 * Threat model: someone who can write a tenant's Durable Object storage (or D1) rewrites a
 * row after the retention checkpoint and re-seals every hash after it (no key needed): the
 * chain then verifies by itself (./chain.ts says so). An anchor is a record of `(tenant, seq, hash, time)` and its HMAC
 * under AUDIT_CHECKPOINT_KEY (./checkpoint.ts), written to the AUDIT_ANCHORS R2 bucket,
 * which that person does not hold. Verification (./anchor-check.ts) compares the chain
 * with every anchor: a rewrite is reported at the first anchored seq whose stored hash no
 * longer matches. What was never anchored (rows after the newest anchor) is not covered:
 * the hourly cron (./anchor-sweep.ts) anchors each tenant's head when it has new rows,
 * and retention (./retention.ts) anchors every checkpoint before it prunes.
 *
 * Append-only: one object per anchored seq and signing key, `anchors/<tenant id,
 * URI-encoded>/<seq, 12 digits>-<key id>.json`, written only if absent (`onlyIf: {
 * etagDoesNotMatch: "*" }`), so an anchor is never replaced (an R2 bucket lock,
 * docs/operations.md, also stops deletes). Anchors are never re-signed: after a rotation
 * of AUDIT_CHECKPOINT_KEY the cron anchors each head again under the new key (the key id
 * in the object's key lets it, at the same seq), so the previous key can leave the set.
 * The body is the record as JSON; the same text is the object's `anchor` custom metadata,
 * so verification reads a thousand anchors per list call instead of one get each.
 *
 *   {"format":"gatehouse-audit-anchor","version":1,"tenantId","seq","hash","anchoredAt",
 *    "source":"head"|"checkpoint","mac":"<keyId>.<HMAC-SHA-256 base64url>"}
 *
 * The MAC covers every field but itself, with a purpose of its own (never a checkpoint's
 * text). scripts/audit-archive-check.mjs checks the same records offline.
 *
 * Without the AUDIT_ANCHORS binding nothing is anchored and verification says so
 * (`anchors: { configured: false }`), never that anchors matched.
 */
import { desc, eq, isNotNull } from "drizzle-orm";
import { auditCheckpoints, auditLogs } from "../db/schema";
import { splitKeyId } from "../lib/key-set";
import { type Infer, z } from "../lib/zod";
import type { AuditDb } from "../tenant-object/audit-store";
import { canonicalJson } from "./chain";
import { type CheckpointKeys, macKeyIdOver, macWithCurrentKey } from "./checkpoint";

export const ANCHOR_FORMAT = "gatehouse-audit-anchor";
const SEQ_DIGITS = 12;
const encoder = new TextEncoder();

export type AnchorSource = "head" | "checkpoint";
export type AnchorFields = { tenantId: string; seq: number; hash: string; anchoredAt: number; source: AnchorSource };

const anchorSchema = z.strictObject({
  format: z.literal(ANCHOR_FORMAT),
  version: z.literal(1),
  tenantId: z.string(),
  seq: z.number().int().min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  anchoredAt: z.number().int(),
  source: z.enum(["head", "checkpoint"]),
  mac: z.string(),
});

export type Anchor = Infer<typeof anchorSchema>;

/** Where the tenant's anchors are listed. */
export const anchorPrefix = (tenantId: string) => `anchors/${encodeURIComponent(tenantId)}/`;

/** The key id a MAC names (`<keyId>.<mac>`), or null when it is malformed. */
export const anchorKeyId = (anchor: Pick<Anchor, "mac">) => splitKeyId(anchor.mac, 1)?.keyId ?? null;

export const anchorKey = (tenantId: string, seq: number, keyId: string) => `${anchorPrefix(tenantId)}${String(seq).padStart(SEQ_DIGITS, "0")}-${keyId}.json`;

/** The seq an anchor's object key names (0 when it names none). */
export function seqOfAnchorKey(tenantId: string, key: string): number {
  const prefix = anchorPrefix(tenantId);
  const seq = Number(key.slice(prefix.length, prefix.length + SEQ_DIGITS));
  return key.startsWith(prefix) && Number.isSafeInteger(seq) ? seq : 0;
}

const signedText = (f: AnchorFields) =>
  encoder.encode(canonicalJson({ purpose: ANCHOR_FORMAT, v: 1, tenantId: f.tenantId, seq: f.seq, hash: f.hash, anchoredAt: f.anchoredAt, source: f.source }));

/** The anchor of `fields`, its MAC under the current key. */
export async function signAnchor(keys: CheckpointKeys, fields: AnchorFields): Promise<Anchor> {
  return { format: ANCHOR_FORMAT, version: 1, ...fields, mac: await macWithCurrentKey(keys, signedText(fields)) };
}

/** The record a stored text holds, or null when it is not one (malformed, another format). */
export function parseAnchor(text: string | undefined): Anchor | null {
  if (text === undefined) return null;
  try {
    const parsed = anchorSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Whether the anchor's MAC is one of `keys` over its fields. */
export async function anchorAuthentic(keys: CheckpointKeys, anchor: Anchor): Promise<boolean> {
  return (await macKeyIdOver(keys, anchor.mac, signedText(anchor))) !== null;
}

/**
 * Puts the anchor if its object key (its seq and signing key) is free. "present": an anchor of the same seq and hash was
 * there already (an earlier run, or the cron and retention anchoring one seq); "conflict":
 * something else holds the key, and it stays (verification reports whichever is wrong).
 * Throws when R2 fails.
 */
export async function writeAnchor(bucket: R2Bucket, anchor: Anchor): Promise<"written" | "present" | "conflict"> {
  const keyId = anchorKeyId(anchor) ?? "";
  const key = anchorKey(anchor.tenantId, anchor.seq, keyId);
  const text = JSON.stringify(anchor);
  const written = await bucket.put(key, text, {
    onlyIf: { etagDoesNotMatch: "*" },
    httpMetadata: { contentType: "application/json" },
    customMetadata: { anchor: text },
  });
  if (written) return "written";
  const stored = await readAnchor(bucket, anchor.tenantId, anchor.seq, keyId);
  return stored?.tenantId === anchor.tenantId && stored.seq === anchor.seq && stored.hash === anchor.hash ? "present" : "conflict";
}

/** An anchor as listed: its key and the record its metadata holds (null: none). */
export type ListedAnchor = { key: string; text: string | null };

/** What verification is given: the tenant's anchors, or that no anchor bucket is bound. */
export type AnchorListing = { configured: false } | { configured: true; anchors: ListedAnchor[] };

/** Every anchor of the tenant, in key (seq) order; throws when R2 fails (callers fail closed). */
export async function listAnchors(bucket: R2Bucket | undefined, tenantId: string): Promise<AnchorListing> {
  if (!bucket) return { configured: false };
  const anchors: ListedAnchor[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: anchorPrefix(tenantId), cursor, include: ["customMetadata"] });
    for (const o of page.objects) anchors.push({ key: o.key, text: o.customMetadata?.anchor ?? null });
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return { configured: true, anchors };
}

/** The newest sealed row of the chain (its seq and hash), or null when none is stored. */
export function chainHead(db: AuditDb): { seq: number; hash: string } | null {
  const row = db.select({ seq: auditLogs.seq, hash: auditLogs.hash }).from(auditLogs).where(isNotNull(auditLogs.hash)).orderBy(desc(auditLogs.seq)).limit(1).get();
  return row?.hash ? { seq: row.seq, hash: row.hash } : null;
}

/** The tenant's anchor at `seq` signed by `keyId`, as R2 holds it (null: none, or not a record); throws when R2 fails. */
export async function readAnchor(bucket: R2Bucket, tenantId: string, seq: number, keyId: string): Promise<Anchor | null> {
  return parseAnchor((await bucket.head(anchorKey(tenantId, seq, keyId)))?.customMetadata?.anchor);
}

/** The hash the chain holds at `seq`: its row's, or the checkpoint's when that row was pruned (null: neither). */
export function chainHashAt(db: AuditDb, tenantId: string, seq: number): string | null {
  const row = db.select({ hash: auditLogs.hash }).from(auditLogs).where(eq(auditLogs.seq, seq)).get();
  if (row) return row.hash;
  const checkpoint = db.select({ seq: auditCheckpoints.seq, hash: auditCheckpoints.hash }).from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId)).get();
  return checkpoint?.seq === seq ? checkpoint.hash : null;
}
