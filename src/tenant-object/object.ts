/**
 * One Durable Object per tenant (SQLite storage), named by the tenant's id
 * (`TENANT.idFromName(tenantId)`, ./stub.ts). Today it is the serial writer of the tenant's
 * edge document (./edge-writer.ts, docs/consistency.md): requests tell it of each change
 * after their D1 batch commits, and it writes the document to KV at most once a second.
 * No hot request calls it: readers read KV (src/edge-document/read.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { createDb } from "../db/client";
import { buildFromDb } from "../edge-document/build";
import { writeToKv } from "../edge-document/read";
import type { Bindings } from "../env";
import { errorSummary, log } from "../lib/log";
import { EdgeWriter } from "./edge-writer";

export class TenantObject extends DurableObject<Bindings> {
  private readonly edge: EdgeWriter;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.edge = new EdgeWriter({
      storage: ctx.storage,
      build: (tenantId, atMs) => buildFromDb(createDb(env.DB), tenantId, atMs),
      write: (doc) => writeToKv(env.SESSION_CACHE, doc),
      realNowMs: () => Date.now(),
      onFailure: (tenantId, err) => log.warn("tenant edge document write failed; tried again", { tenantId, error: errorSummary(err) }),
    });
  }

  /** A change of the tenant committed (or its stored document is missing): stored, then written within KV's limit. */
  async edgeChanged(tenantId: string, changedAtMs: number): Promise<void> {
    await this.edge.told(tenantId, changedAtMs);
  }

  override async alarm(): Promise<void> {
    await this.edge.flush();
  }
}
