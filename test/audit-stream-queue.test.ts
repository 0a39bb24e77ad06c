import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { openStreamToken } from "../src/audit-stream/token-box";
import { requestActiveStreamDeliveries } from "../src/audit-stream/queue";
import type { Bindings } from "../src/env";
import { runKeyRotation } from "../src/key-rotation";
import { toBase64Url } from "../src/lib/crypto";
import { TOKEN, addAuditEvents, deliver, ownerChange, scriptedReceiver, streamingTenant } from "./audit-stream-fixtures";
import { Harness, withEnv } from "./helpers";

const stubOf = (tenantId: string) => env.TENANT.get(env.TENANT.idFromName(tenantId));

/** The queue sends the tenant's object makes, watched on the object's own binding. */
function watchObjectQueue(tenantId: string) {
  return runInDurableObject(stubOf(tenantId), (instance) => vi.spyOn((instance as unknown as { env: Bindings }).env.AUDIT_STREAM_QUEUE as Queue, "send"));
}

describe("the audit stream's queue", () => {
  it("a drain that appends rows to an active stream's chain asks the queue for a delivery; a paused stream's does not", async () => {
    const h = new Harness();
    const { t, owner, stream } = await streamingTenant(h, "ndjson", "queuedrain");
    scriptedReceiver();
    await deliver(t.id, h.clock.ms);
    const sent = await watchObjectQueue(t.id);
    await addAuditEvents(t.id, 3, h.clock.ms);
    await stubOf(t.id).drainAudit(t.id);
    expect(sent).toHaveBeenCalledWith({ kind: "audit-stream", tenantId: t.id });
    await ownerChange(h, t, owner.cookie, `/api/tenant/audit-stream/${stream.id}/pause`);
    await deliver(t.id, h.clock.ms);
    sent.mockClear();
    await addAuditEvents(t.id, 3, h.clock.ms + 1);
    await stubOf(t.id).drainAudit(t.id);
    expect(sent).not.toHaveBeenCalled();
  });

  it("the hourly run asks for a delivery of every stream not paused", async () => {
    const h = new Harness();
    const active = await streamingTenant(h, "ndjson", "queuecronactive");
    const paused = await streamingTenant(h, "ndjson", "queuecronpaused");
    await ownerChange(h, paused.t, paused.owner.cookie, `/api/tenant/audit-stream/${paused.stream.id}/pause`);
    const sendBatch = vi.spyOn(env.AUDIT_STREAM_QUEUE, "sendBatch");
    await requestActiveStreamDeliveries(env);
    const asked = sendBatch.mock.calls.flatMap(([messages]) => [...messages].map((m) => (m.body as { tenantId: string }).tenantId));
    expect(asked).toContain(active.t.id);
    expect(asked).not.toContain(paused.t.id);
  });

  it("after a key rotation the scheduled run re-seals the stream's token under the current key, and it still opens", async () => {
    const h = new Harness();
    const { t } = await streamingTenant(h, "ndjson", "queuereseal");
    const sealed = () => env.DB.prepare("SELECT token_enc FROM audit_streams WHERE tenant_id = ?").bind(t.id).first<string>("token_enc");
    const before = await sealed();
    const rotated = withEnv({ TOTP_ENCRYPTION_KEY: JSON.stringify([{ id: "k7", key: toBase64Url(new Uint8Array(32).fill(7)) }, { id: "k0", key: env.TOTP_ENCRYPTION_KEY as string }]) });
    const result = await runKeyRotation(rotated, h.clock.ms, { totpRows: 0, checkpoints: 0, ssoConnections: 0 });
    expect(result.auditStreamTokens).toMatchObject({ resealed: expect.any(Number), unopenable: 0 });
    const after = (await sealed()) ?? "";
    expect(after).toMatch(/^v2\.k7\./);
    expect(after).not.toBe(before);
    expect((await openStreamToken(rotated, t.id, after)).token).toBe(TOKEN);
    // Bound to this tenant's stream: it does not open as another tenant's.
    await expect(openStreamToken(rotated, "another-tenant", after)).rejects.toMatchObject({ status: 503, code: "AUDIT_STREAM_UNAVAILABLE" });
  });
});
