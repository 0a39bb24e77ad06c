import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../packages/product/src/index";
import type { Bindings } from "../src/env";
import { sendOwedPokes } from "../src/webhooks/queue";
import { RETRY_WINDOW_MS } from "../src/webhooks/schedule";
import { createWorker } from "../src/worker";
import { auditRowsOf } from "./audit-store";
import { Harness, seedTenant, withEnv } from "./helpers";
import { seedLegacyChain } from "./legacy-audit-fixtures";
import { WEBHOOK_TEST_SECRET, WEBHOOK_TEST_URL, type Script, configureWebhooks, runWebhookQueue } from "./webhook-fixtures";

let hooks: ReturnType<typeof configureWebhooks> | null = null;
const configure = (script?: Script) => (hooks = configureWebhooks(script));
afterEach(() => {
  hooks?.restore();
  hooks = null;
});

/** Runs the queue until nothing is left to retry, moving the clock by each retry's delay (no real waiting). */
async function deliverAll(h: Harness, w: ReturnType<typeof configureWebhooks>, maxRounds = 100) {
  for (let round = 0; round < maxRounds && w.pokes.length > 0; round++) {
    const run = await runWebhookQueue(w.pokes, h.clock.ms);
    for (const r of run.retried) {
      h.clock.advanceSeconds(r.delaySeconds);
      w.pokes.push({ kind: "deliver", tenantId: r.tenantId });
    }
  }
}

/** The chain's rows that send a webhook, as [id, action] in seq order. */
const hookRows = async (tenantId: string, actions: string[]) =>
  (await auditRowsOf(tenantId)).filter((r) => actions.includes(r.action) && r.outcome === "SUCCESS").map((r) => r.id);

describe("product webhooks", () => {
  it("a committed change reaches the receiver signed as Standard Webhooks says, its webhook-id the audit event's id", async () => {
    const w = configure();
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    expect(w.pokes).toEqual([{ kind: "deliver", tenantId: t.id }]);
    await deliverAll(h, w);
    const [created] = await auditRowsOf(t.id, "SESSION_CREATED");
    expect(w.received.map((r) => r.payload.type)).toEqual(["session.created"]);
    const got = w.received[0];
    expect(got?.id).toBe(created?.id);
    expect(got?.payload.data).toMatchObject({ tenantId: t.id, seq: created?.seq, eventId: created?.id, userId: t.member.id, sessionId: created?.targetId });
    const verified = await verifyWebhook(WEBHOOK_TEST_SECRET, { "webhook-id": got?.id, "webhook-timestamp": got?.timestamp, "webhook-signature": got?.signature }, got?.body ?? "", { nowSeconds: Math.floor(h.clock.ms / 1000) });
    expect(verified.ok).toBe(true);
    expect(w.requests.every((r) => r.url === WEBHOOK_TEST_URL && r.method === "POST")).toBe(true);
  });

  it("a tenant's webhooks reach the receiver in commit order", async () => {
    const w = configure();
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    await h.call("/api/account/profile", { cookie, method: "PATCH", body: { displayName: "First" } });
    await h.call("/api/account/profile", { cookie, method: "PATCH", body: { displayName: "Second" } });
    await h.call("/api/auth/logout", { cookie, method: "POST" });
    await deliverAll(h, w);
    const expected = await hookRows(t.id, ["SESSION_CREATED", "PROFILE_UPDATED", "LOGOUT"]);
    expect(w.received.map((r) => r.id)).toEqual(expected);
    expect(w.received.map((r) => r.payload.type)).toEqual(["session.created", "user.updated", "user.updated", "session.revoked"]);
    const seqs = w.received.map((r) => r.payload.data.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(w.received[2]?.payload.data).toMatchObject({ fields: "profile", after: { displayName: "Second" } });
  });

  it("a receiver that fails for a while, then answers, sees every event delivered in order (duplicates identified by webhook-id)", async () => {
    // Down for its first 6 requests (errors and a network failure), then up.
    const w = configure((n) => (n < 5 ? 503 : n === 5 ? "network-error" : 200));
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    await h.call("/api/account/profile", { cookie, method: "PATCH", body: { displayName: "While down" } });
    await h.call("/api/auth/logout", { cookie, method: "POST" });
    const started = h.clock.ms;
    await deliverAll(h, w);
    const expected = await hookRows(t.id, ["SESSION_CREATED", "PROFILE_UPDATED", "LOGOUT"]);
    const firstSeen = [...new Set(w.received.map((r) => r.id))];
    expect(firstSeen).toEqual(expected);
    // Backed off on the schedule (30 s, 60 s, …), never all at once.
    expect(h.clock.ms - started).toBeGreaterThanOrEqual((30 + 60 + 120 + 240 + 480 + 960) * 1000);
    expect(w.requests.length).toBe(6 + expected.length);
  });

  it("a failing event is not sent again before its backoff is over, however many delivery requests come meanwhile (each append queues one)", async () => {
    const w = configure((n) => (n === 0 ? 503 : 200));
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    const first = await runWebhookQueue(w.pokes, h.clock.ms);
    expect(first.retried).toEqual([{ tenantId: t.id, delaySeconds: 30 }]);
    // More requests at once, and ten seconds later: the receiver is not asked again.
    for (const seconds of [0, 10]) {
      h.clock.advanceSeconds(seconds);
      w.pokes.push({ kind: "deliver", tenantId: t.id });
      const early = await runWebhookQueue(w.pokes, h.clock.ms);
      expect(early.retried).toEqual([{ tenantId: t.id, delaySeconds: 30 - seconds }]);
    }
    expect(w.requests).toHaveLength(1);
    h.clock.advanceSeconds(20);
    w.pokes.push({ kind: "deliver", tenantId: t.id });
    expect(await runWebhookQueue(w.pokes, h.clock.ms)).toEqual({ acked: 1, retried: [] });
    expect(w.requests).toHaveLength(2);
    expect(w.received.map((r) => r.payload.type)).toEqual(["session.created"]);
  });

  it("after a day of failures the event is dead-lettered, the tenant's later events go on, and the operator's replay delivers it", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const w = configure();
    const { cookie } = await h.login(t.member.email);
    const [stuck] = await auditRowsOf(t.id, "SESSION_CREATED");
    // The receiver refuses that one event, whatever it is sent, and takes the others.
    w.script((_n, request) => (request.headers.get("webhook-id") === stuck?.id ? 500 : 200));
    await h.call("/api/account/profile", { cookie, method: "PATCH", body: { displayName: "Later" } });
    const start = h.clock.ms;
    await deliverAll(h, w, 10);
    // Still retried after ten attempts, and the later change waits behind it.
    expect(w.pokes).toHaveLength(1);
    expect(w.received).toEqual([]);
    await deliverAll(h, w);
    expect(h.clock.ms - start).toBeGreaterThanOrEqual(RETRY_WINDOW_MS);
    const dead = await env.DB.prepare("SELECT event_id, tenant_id, type, attempts FROM webhook_dead_letters").all<{ event_id: string; tenant_id: string; type: string; attempts: number }>();
    expect(dead.results).toEqual([{ event_id: stuck?.id, tenant_id: t.id, type: "session.created", attempts: expect.any(Number) }]);
    expect(w.received.map((r) => r.payload.type)).toEqual(["user.updated"]);

    // The operator lists it, the receiver is fixed, the operator replays it.
    const operatorEnv = withEnv({ OPERATOR_TOKEN: "operator-token-for-webhook-tests-000000" });
    const auth = { authorization: "Bearer operator-token-for-webhook-tests-000000" };
    const listed = await h.call<{ deadLetters: { eventId: string; payload: { type: string } }[] }>("/api/operator/webhooks/dead-letters", { env: operatorEnv, headers: auth });
    expect(listed.body.deadLetters.map((l) => [l.eventId, l.payload.type])).toEqual([[stuck?.id, "session.created"]]);
    w.script(() => 200);
    const replay = await h.call(`/api/operator/webhooks/dead-letters/${stuck?.id}/replay`, { env: withEnv({ OPERATOR_TOKEN: "operator-token-for-webhook-tests-000000", WEBHOOK_URL: WEBHOOK_TEST_URL, WEBHOOK_SECRET: WEBHOOK_TEST_SECRET, WEBHOOK_QUEUE: (env as Bindings).WEBHOOK_QUEUE }), method: "POST", headers: auth });
    expect(replay.body).toEqual({ replayRequested: 1, tenants: 1, queued: true });
    expect(w.pokes).toEqual([{ kind: "deliver", tenantId: t.id, replay: true }]);
    await runWebhookQueue(w.pokes, h.clock.ms);
    expect(w.received.map((r) => r.id)).toContain(stuck?.id);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_dead_letters").first<number>("n")) ?? 0).toBe(0);
    const unknown = await h.call("/api/operator/webhooks/dead-letters/aud_nothing/replay", { env: withEnv({ OPERATOR_TOKEN: "operator-token-for-webhook-tests-000000", WEBHOOK_URL: WEBHOOK_TEST_URL, WEBHOOK_SECRET: WEBHOOK_TEST_SECRET, WEBHOOK_QUEUE: (env as Bindings).WEBHOOK_QUEUE }), method: "POST", headers: auth });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe("WEBHOOK_DEAD_LETTER_NOT_FOUND");
  });

  it("a redirect is not followed: it is a failed delivery, retried to the configured URL", async () => {
    const w = configure((n) => (n === 0 ? new Response(null, { status: 307, headers: { location: "http://elsewhere.test/steal" } }) : 200));
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    const first = await runWebhookQueue(w.pokes, h.clock.ms);
    expect(first.retried).toEqual([{ tenantId: t.id, delaySeconds: 30 }]);
    expect(w.received).toEqual([]);
    h.clock.advanceSeconds(30);
    w.pokes.push({ kind: "deliver", tenantId: t.id });
    await runWebhookQueue(w.pokes, h.clock.ms);
    expect(w.received.map((r) => r.payload.type)).toEqual(["session.created"]);
    expect(w.requests.map((r) => [r.url, r.redirect])).toEqual([
      [WEBHOOK_TEST_URL, "manual"],
      [WEBHOOK_TEST_URL, "manual"],
    ]);
  });

  it("no log line carries the webhook secret, its key or a signature", async () => {
    const lines: string[] = [];
    for (const level of ["log", "warn", "error", "info", "debug"] as const) vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    const w = configure((n) => (n === 0 ? "network-error" : n === 1 ? 500 : 200));
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    await deliverAll(h, w);
    expect(w.received).toHaveLength(1);
    expect(lines.some((l) => l.includes("webhook"))).toBe(true);
    const secretBody = WEBHOOK_TEST_SECRET.slice("whsec_".length);
    const signatures = w.requests.map((r) => (r.headers.get("webhook-signature") ?? "").slice(3));
    for (const line of lines) {
      expect(line).not.toContain(secretBody);
      for (const s of signatures) expect(line).not.toContain(s);
    }
  });

  it("audit rows imported from D1 on a tenant's first drain are history, never sent as webhooks: only the changes after them are", async () => {
    const w = configure();
    const h = new Harness();
    const t = await seedTenant();
    // Sessions created before the chain moved into the tenant's object, still in D1's audit_logs.
    const legacy = await seedLegacyChain(t.id, { rows: 3, event: { action: "SESSION_CREATED", outcome: "SUCCESS", targetType: "session", failureReason: null } });
    await h.login(t.member.email);
    await deliverAll(h, w);
    const chain = await auditRowsOf(t.id);
    expect(chain.slice(0, 3).map((r) => r.id)).toEqual(legacy.map((r) => r.id));
    expect(w.received.map((r) => r.id)).toEqual(await hookRows(t.id, ["SESSION_CREATED"]).then((ids) => ids.filter((id) => !id.startsWith("aud_legacy_"))));
    expect(w.received.map((r) => r.payload.type)).toEqual(["session.created"]);
  });

  it("with webhooks unconfigured, a change enqueues nothing and a delivery request sends nothing", async () => {
    const w = configure();
    (env as unknown as Record<string, unknown>).WEBHOOK_URL = "";
    (env as unknown as Record<string, unknown>).WEBHOOK_SECRET = "";
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    await h.call("/api/account/profile", { cookie, method: "PATCH", body: { displayName: "Nobody hears" } });
    expect(w.pokes).toEqual([]);
    w.pokes.push({ kind: "deliver", tenantId: t.id });
    const run = await runWebhookQueue(w.pokes, h.clock.ms);
    expect(run).toEqual({ acked: 1, retried: [] });
    expect(w.requests).toEqual([]);
  });
});

describe("the webhook queues' consumers", () => {
  it("the Worker's queue handler hands each webhook queue's batch to its consumer, and leaves another queue's batch to retry", async () => {
    const w = configure();
    const worker = createWorker(env as Bindings);
    const dead = createMessageBatch("gatehouse-webhooks-dead", [{ id: "d1", timestamp: new Date(), attempts: 100, body: { kind: "deliver", tenantId: "ten_x" } }]);
    const ctx = createExecutionContext();
    await worker.queue(dead, env as Bindings);
    expect((await getQueueResult(dead, ctx)).explicitAcks).toEqual(["d1"]);
    // A delivery request whose retries ran out goes back to the delivery queue.
    expect(w.pokes).toEqual([{ kind: "deliver", tenantId: "ten_x" }]);
    const other = createMessageBatch("some-other-queue", [{ id: "o1", timestamp: new Date(), attempts: 1, body: {} }]);
    const ctx2 = createExecutionContext();
    await worker.queue(other, env as Bindings);
    expect((await getQueueResult(other, ctx2)).retryBatch.retry).toBe(true);
  });

  it("a delivery request the queue refuses is noted, and the hourly cron queues it: the event still goes out", async () => {
    const w = configure();
    const e = env as unknown as Record<string, { send: unknown }>;
    const recorder = e.WEBHOOK_QUEUE as { send: unknown };
    e.WEBHOOK_QUEUE = { ...recorder, send: async () => Promise.reject(new Error("Queue send failed: 503")) };
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    expect(w.pokes).toEqual([]);
    e.WEBHOOK_QUEUE = recorder;
    expect(await sendOwedPokes(env as Bindings)).toEqual({ queued: 1 });
    expect(w.pokes).toEqual([{ kind: "deliver", tenantId: t.id }]);
    expect(await sendOwedPokes(env as Bindings)).toEqual({ queued: 0 });
    await runWebhookQueue(w.pokes, h.clock.ms);
    expect(w.received.map((r) => r.payload.type)).toEqual(["session.created"]);
  });
});
