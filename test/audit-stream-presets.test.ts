import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { retryDelaySeconds } from "../src/audit-stream/backoff";
import { consumeAuditStream } from "../src/audit-stream/queue";
import worker from "../src/index";
import { checkStreamCopy } from "../scripts/audit-stream-check.mjs";
import { auditRowsOf } from "./audit-store";
import { TOKEN, deliver, scriptedReceiver, streamingTenant } from "./audit-stream-fixtures";
import { Harness } from "./helpers";

describe("the audit stream's presets", () => {
  it("Splunk HEC gets `Authorization: Splunk <token>` and one HEC event object per line, each carrying a chain row", async () => {
    const h = new Harness();
    const { t } = await streamingTenant(h, "splunk_hec", "splunk");
    const received = scriptedReceiver();
    await deliver(t.id, h.clock.ms);
    const [first] = received;
    expect(first?.headers.get("authorization")).toBe(`Splunk ${TOKEN}`);
    expect(first?.headers.get("content-type")).toBe("application/json");
    const events = (first?.body ?? "").trim().split("\n").map((line) => JSON.parse(line));
    const chain = await auditRowsOf(t.id);
    expect(events[0]).toMatchObject({ source: "gatehouse", sourcetype: "gatehouse:audit", time: (chain[0]?.createdAt ?? 0) / 1000, event: { seq: 1, hash: chain[0]?.hash } });
    expect(await checkStreamCopy(received.map((r) => r.body))).toMatchObject({ ok: true });
  });

  it("Datadog gets `DD-API-KEY: <token>` and a JSON array of log entries, each carrying a chain row", async () => {
    const h = new Harness();
    const { t } = await streamingTenant(h, "datadog", "datadog");
    const received = scriptedReceiver();
    await deliver(t.id, h.clock.ms);
    const [first] = received;
    expect(first?.headers.get("dd-api-key")).toBe(TOKEN);
    expect(first?.headers.get("authorization")).toBeNull();
    const entries = JSON.parse(first?.body ?? "[]");
    expect(entries[0]).toMatchObject({ ddsource: "gatehouse", service: "gatehouse", ddtags: `tenant_id:${t.id}`, audit: { seq: 1 } });
    expect(await checkStreamCopy(received.map((r) => r.body))).toMatchObject({ ok: true });
  });

  it("the generic preset gets `Authorization: Bearer <token>` and NDJSON, one chain row per line", async () => {
    const h = new Harness();
    const { t } = await streamingTenant(h, "ndjson", "ndjson");
    const received = scriptedReceiver();
    await deliver(t.id, h.clock.ms);
    const [first] = received;
    expect(first?.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(first?.headers.get("content-type")).toBe("application/x-ndjson");
    const rows = (first?.body ?? "").trim().split("\n").map((line) => JSON.parse(line));
    expect(rows).toEqual(JSON.parse(JSON.stringify(await auditRowsOf(t.id))).slice(0, rows.length));
  });

  it("the queue's consumer retries a failed delivery's message with the backoff's delay and acknowledges a delivered one", async () => {
    const h = new Harness();
    const { t } = await streamingTenant(h, "ndjson", "consumer");
    let up = false;
    const received = scriptedReceiver(() => (up ? 200 : 502));
    const batchOf = (id: string) => createMessageBatch("gatehouse-audit-stream", [{ id, timestamp: new Date(h.clock.ms), attempts: 1, body: { kind: "audit-stream", tenantId: t.id } }]);
    const failing = batchOf("m1");
    const retry = vi.spyOn(failing.messages[0] as Message, "retry");
    const ctx = createExecutionContext();
    await worker.queue(failing, env);
    expect(await getQueueResult(failing, ctx)).toMatchObject({ retryMessages: [{ msgId: "m1" }], explicitAcks: [] });
    expect(retry).toHaveBeenCalledWith({ delaySeconds: retryDelaySeconds(1) });
    expect(received).toHaveLength(1);
    // Past the backoff (the consumer's clock injected), the receiver up again: delivered, acknowledged.
    up = true;
    const delivering = batchOf("m2");
    await consumeAuditStream(delivering, env, Date.now() + retryDelaySeconds(1) * 1000);
    expect(await getQueueResult(delivering, createExecutionContext())).toMatchObject({ retryMessages: [], explicitAcks: ["m2"] });
    const state = await env.TENANT.get(env.TENANT.idFromName(t.id)).auditStreamProgress(t.id);
    expect(state).toMatchObject({ failures: 0, cursor: state.headSeq });
    expect(received.length).toBeGreaterThan(1);
  });
});
