/**
 * One Durable Object per tenant (SQLite storage), named by the tenant's id
 * (`TENANT.idFromName(tenantId)`, ./stub.ts). It is
 * - the serial writer of the tenant's edge document (./edge-writer.ts, docs/consistency.md):
 *   requests tell it of each change after their D1 batch commits, and it writes the
 *   document to KV at most once a second. No hot request calls it: readers read KV
 *   (src/edge-document/read.ts);
 * - the home of the tenant's audit chain (./audit-store.ts): it appends the events D1's
 *   outbox holds, in commit order (./audit-drain.ts), and answers every audit read,
 *   draining first, so a read sees every event committed before it; and it anchors the
 *   chain's head in R2 when the cron asks (src/audit/anchor-sweep.ts);
 * - the sender of the tenant's audit stream to its SIEM (src/audit-stream/deliver.ts): its
 *   cursor and state live here, and the queue's consumer calls deliverAuditStream;
 * - the deliverer of the tenant's product webhooks, from that chain in seq order
 *   (src/webhooks/delivery.ts), called by the webhook queue's consumer (src/webhooks/queue.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { type VerifiedChain, compareWithAnchors } from "../audit/anchor-check";
import { type HeadAnchoring, anchorHead } from "../audit/anchor-sweep";
import type { AnchorListing } from "../audit/anchors";
import { importCheckpointKeys, resignCheckpoint } from "../audit/checkpoint";
import { type AuditFilter, ascendingPage, productActions, searchPage } from "../audit/query";
import { type RetainOptions, type RetainOutcome, retainTenant } from "../audit/retention";
import { verifyChain } from "../audit/verify";
import { createDb } from "../db/client";
import { type AuditLog, auditLogs } from "../db/schema";
import { buildFromDb } from "../edge-document/build";
import { writeToKv } from "../edge-document/read";
import type { Bindings } from "../env";
import type { KeySet } from "../lib/key-set";
import { errorSummary, log } from "../lib/log";
import { type DeliveryOutcome, StreamDelivery } from "../audit-stream/deliver";
import { requestStreamDelivery } from "../audit-stream/queue";
import { type StreamStateStore, openStreamState } from "../audit-stream/state";
import type { StreamProgress } from "../audit-stream/store";
import { AuditDrain, type DrainResult } from "./audit-drain";
import { type AuditDb, openAuditStore, readState } from "./audit-store";
import { EdgeWriter } from "./edge-writer";
import { type DeliveryOutcome as WebhookOutcome, WebhookDelivery } from "../webhooks/delivery";
import { pokeAfterAppend, webhooksOn } from "../webhooks/queue";
import { webhookSender } from "../webhooks/send";

export class TenantObject extends DurableObject<Bindings> {
  private readonly edge: EdgeWriter;
  private readonly audit: AuditDb;
  private readonly drain: AuditDrain;
  private readonly webhooks: WebhookDelivery;
  private readonly streamState: StreamStateStore;
  private readonly stream: StreamDelivery;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.edge = new EdgeWriter({
      storage: ctx.storage,
      build: (tenantId, atMs) => buildFromDb(createDb(env.DB), tenantId, atMs),
      write: (doc) => writeToKv(env.SESSION_CACHE, doc),
      realNowMs: () => Date.now(),
      onFailure: (tenantId, err) => log.warn("tenant edge document write failed; tried again", { tenantId, error: errorSummary(err) }),
    });
    this.audit = openAuditStore(ctx.storage);
    this.webhooks = new WebhookDelivery(ctx.storage, this.audit, () => createDb(env.DB));
    this.streamState = openStreamState(ctx.storage);
    this.drain = new AuditDrain(ctx.storage, this.audit, () => createDb(env.DB), async (tenantId, newsAfter) => {
      if (this.streamState.read().active) await requestStreamDelivery(env, tenantId);
      await pokeAfterAppend(env, this.webhooks, tenantId, newsAfter);
    });
    this.stream = new StreamDelivery({
      audit: this.audit,
      state: this.streamState,
      d1: () => createDb(env.DB),
      env,
      drain: (tenantId) => this.drain.drain(tenantId),
      fetch: (input, init) => fetch(input, init),
    });
  }

  /** A change of the tenant committed (or its stored document is missing): stored, then written within KV's limit. */
  async edgeChanged(tenantId: string, changedAtMs: number): Promise<void> {
    await this.edge.told(tenantId, changedAtMs);
  }

  override async alarm(): Promise<void> {
    await this.edge.flush();
  }

  /** Appends every event committed to the outbox before this call. */
  async drainAudit(tenantId: string): Promise<DrainResult> {
    return this.drain.drain(tenantId);
  }

  /** Delivers the tenant's waiting webhooks in chain order (src/webhooks/delivery.ts); "off" when they are not configured. */
  async deliverWebhooks(tenantId: string, nowMs: number, options: { replays: boolean }): Promise<WebhookOutcome> {
    const config = webhooksOn(this.env);
    if (!config) return { kind: "off" };
    return this.webhooks.deliver(tenantId, nowMs, webhookSender(config), options);
  }

  /** Delivers the tenant's audit stream from its cursor (the queue's consumer, src/audit-stream/queue.ts). */
  async deliverAuditStream(tenantId: string, nowMs: number): Promise<DeliveryOutcome> {
    return this.stream.deliver(tenantId, nowMs);
  }

  /** Where the tenant's audit stream stands: its state, and the chain's head (drained first). */
  async auditStreamProgress(tenantId: string): Promise<StreamProgress> {
    await this.drain.drain(tenantId);
    return { ...this.streamState.read(), headSeq: this.drain.head().seq };
  }

  /** Newest first, `limit` rows older than `beforeSeq` (the audit API's pages). */
  async auditSearch(tenantId: string, filter: AuditFilter, limit: number, beforeSeq: number | null): Promise<AuditLog[]> {
    await this.drain.drain(tenantId);
    return searchPage(this.audit, tenantId, filter, limit, beforeSeq);
  }

  /** Oldest first, `limit` rows after `afterSeq` (an export's pages: it drains before its first). */
  async auditAscending(tenantId: string, filter: AuditFilter, limit: number, afterSeq: number): Promise<AuditLog[]> {
    if (afterSeq === 0) await this.drain.drain(tenantId);
    return ascendingPage(this.audit, tenantId, filter, limit, afterSeq);
  }

  async auditProductActions(tenantId: string): Promise<string[]> {
    await this.drain.drain(tenantId);
    return productActions(this.audit, tenantId);
  }

  /**
   * The chain verified from its checkpoint, authenticated with `keys` (the caller's
   * AUDIT_CHECKPOINT_KEY), then compared with `anchors` (listed from R2 by the caller).
   */
  async auditVerify(tenantId: string, nowMs: number, keys: KeySet, anchors: AnchorListing): Promise<VerifiedChain> {
    await this.drain.drain(tenantId);
    const imported = await importCheckpointKeys(keys);
    const chain = await verifyChain(this.audit, tenantId, imported, nowMs);
    return compareWithAnchors(chain, this.audit, tenantId, imported, anchors, readState(this.ctx.storage, "anchored_seq"));
  }

  /** The chain's head anchored in R2 when rows were added since the last anchor (src/audit/anchor-sweep.ts). */
  async anchorAudit(tenantId: string, nowMs: number, keys: KeySet): Promise<HeadAnchoring> {
    const bucket = this.env.AUDIT_ANCHORS;
    if (!bucket) return "unconfigured";
    await this.drain.drain(tenantId);
    return anchorHead(this.audit, this.ctx.storage, bucket, await importCheckpointKeys(keys), tenantId, nowMs);
  }

  /** An event's place in the chain (seq and hash), or null when no stored row has that id. */
  async auditPlace(tenantId: string, id: string): Promise<{ seq: number; hash: string | null } | null> {
    await this.drain.drain(tenantId);
    const row = this.audit.select({ seq: auditLogs.seq, hash: auditLogs.hash }).from(auditLogs).where(eq(auditLogs.id, id)).get();
    return row ?? null;
  }

  /** The newest successful change among `actions` targeting each of these users (SCIM's lastModified). */
  async auditLastChanged(tenantId: string, userIds: string[], actions: string[]): Promise<Record<string, number>> {
    await this.drain.drain(tenantId);
    if (userIds.length === 0) return {};
    const rows = this.audit
      .select({ id: auditLogs.targetId, at: sql<number>`max(${auditLogs.createdAt})` })
      .from(auditLogs)
      // One bound parameter each (SQLite's limit on bound parameters is low in a Durable Object).
      .where(
        and(
          eq(auditLogs.targetType, "user"),
          sql`${auditLogs.targetId} IN (SELECT value FROM json_each(${JSON.stringify(userIds)}))`,
          eq(auditLogs.outcome, "SUCCESS"),
          sql`${auditLogs.action} IN (SELECT value FROM json_each(${JSON.stringify(actions)}))`,
        ),
      )
      .groupBy(auditLogs.targetId)
      .all();
    return Object.fromEntries(rows.flatMap((r) => (r.id === null ? [] : [[r.id, r.at]])));
  }

  /** Retention of this tenant's chain (src/audit/retention.ts), then its oldest row reported to D1. */
  async retainAudit(tenantId: string, options: RetainOptions, keys: KeySet): Promise<RetainOutcome> {
    const outcome = await retainTenant(this.audit, { keys: await importCheckpointKeys(keys), archive: this.env.AUDIT_ARCHIVE, anchors: this.env.AUDIT_ANCHORS }, tenantId, options);
    await this.drain.cleanUp(tenantId, null);
    return outcome;
  }

  /** The checkpoint re-signed under the current key (src/audit/checkpoint.ts). */
  async resignAuditCheckpoint(tenantId: string, keys: KeySet): Promise<"resigned" | "current" | "unauthentic" | "none"> {
    return resignCheckpoint(this.audit, await importCheckpointKeys(keys), tenantId);
  }
}
