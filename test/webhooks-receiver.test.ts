/**
 * Product webhooks delivered over the network to a real HTTP receiver on a loopback port
 * (test/webhook-receiver-setup.mjs), which the test stops and starts again: at least once,
 * in commit order, nothing lost while the receiver was gone.
 */
import { inject, it, expect } from "vitest";
import { verifyWebhook } from "../packages/product/src/index";
import { auditRowsOf } from "./audit-store";
import { Harness, seedTenant } from "./helpers";
import { WEBHOOK_TEST_SECRET, configureWebhooks, runWebhookQueue } from "./webhook-fixtures";

const receiver = inject("webhookReceiver");
type Taken = { id: string; timestamp: string; signature: string; body: string };
const control = async <T>(path: string, method = "POST"): Promise<T> => (await fetch(`${receiver.controlUrl}${path}`, { method })).json() as Promise<T>;
const taken = () => control<Taken[]>("/received", "GET");

it("a receiver stopped for a while gets every event once it listens again, in commit order, duplicates named by webhook-id", async () => {
  await control("/reset");
  const w = configureWebhooks(undefined, { receiverUrl: receiver.url });
  try {
    const h = new Harness();
    const t = await seedTenant();
    await control("/stop");
    const { cookie } = await h.login(t.member.email);
    await h.call("/api/account/profile", { cookie, method: "PATCH", body: { displayName: "While the receiver is down" } });
    await h.call("/api/auth/logout", { cookie, method: "POST" });
    // Three attempts while nothing listens: each refused connection is retried later, nothing is skipped.
    for (let attempt = 0; attempt < 3; attempt++) {
      const run = await runWebhookQueue(w.pokes, h.clock.ms);
      expect(run.retried).toEqual([{ tenantId: t.id, delaySeconds: expect.any(Number) }]);
      h.clock.advanceSeconds(run.retried[0]?.delaySeconds ?? 0);
      w.pokes.push({ kind: "deliver", tenantId: t.id });
    }
    expect(await taken()).toEqual([]);
    await control("/start");
    for (let round = 0; round < 10 && w.pokes.length > 0; round++) {
      const run = await runWebhookQueue(w.pokes, h.clock.ms);
      for (const r of run.retried) {
        h.clock.advanceSeconds(r.delaySeconds);
        w.pokes.push({ kind: "deliver", tenantId: r.tenantId });
      }
    }
    const chain = (await auditRowsOf(t.id)).filter((r) => ["SESSION_CREATED", "PROFILE_UPDATED", "LOGOUT"].includes(r.action) && r.outcome === "SUCCESS");
    const got = await taken();
    const firstSeen = got.map((r) => r.id).filter((id, i, all) => all.indexOf(id) === i);
    expect(firstSeen).toEqual(chain.map((r) => r.id));
    const typeOf = (id: string) => JSON.parse(got.find((r) => r.id === id)?.body ?? "{}").type;
    expect(firstSeen.map(typeOf)).toEqual(["session.created", "user.updated", "session.revoked"]);
    for (const r of got) {
      const verified = await verifyWebhook(WEBHOOK_TEST_SECRET, { "webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature }, r.body, { nowSeconds: Number(r.timestamp) });
      expect(verified.ok).toBe(true);
    }
  } finally {
    w.restore();
    await control("/start");
  }
});
