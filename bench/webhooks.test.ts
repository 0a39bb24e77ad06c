/**
 * Product webhooks, measured in workerd (docs/webhooks.md; printed, never asserted):
 *   - the cost of a change (PATCH /api/account/profile) with webhooks off and on,
 *     interleaved: its answer's latency (the D1 batch; the drain of its audit event into the
 *     tenant's object, and with webhooks on the queue message the object sends, run after
 *     the answer, in waitUntil), and the whole of it with the waitUntil work; each as
 *     requests a second, `ratio` = on / off throughput (the goal: at least 0.95). The
 *     queue is wrangler.toml's, so its consumer's deliveries (to a stub receiver) share the
 *     isolate meanwhile, as they would not in production, and the machine's noise shows in
 *     the interleaved ratio: the queue send is also timed alone (`queueSendMs`), and
 *     `ratioFromSend` is the change's time against the same plus one send;
 *   - delivery throughput of one tenant: events a second from its chain to a receiver that
 *     answers at once, through the consumer and the object (one in flight per tenant).
 * Run alone: `npx vitest run --config bench/vitest.config.ts bench/webhooks.test.ts`.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { it, vi } from "vitest";
import { tenantObject } from "../src/tenant-object/stub";
import { Harness, gatehouseUrl, seedTenant } from "../test/helpers";
import { settleTenantObjects } from "../test/tenant-objects";
import { configureWebhooks, runWebhookQueue } from "../test/webhook-fixtures";

const quick = (env as unknown as { BENCH_QUICK?: string }).BENCH_QUICK === "1";
const report = (name: string, value: unknown) => console.log(`BENCH_RESULT ${JSON.stringify({ name, value })}`);

it("the request cost of a change with and without its webhook queued", async () => {
  const rounds = quick ? 4 : 10;
  const perRound = 20;
  const h = new Harness();
  const t = await seedTenant("bench-hooks", { totp: false });
  const { cookie } = await h.login(t.member.email);
  const e = env as unknown as Record<string, unknown>;
  // The answer timed apart from the waitUntil work (the drain, and the queue message with webhooks on).
  const change = async (i: number) => {
    const ctx = createExecutionContext();
    const request = new Request(gatehouseUrl("/api/account/profile"), {
      method: "PATCH",
      headers: { cookie, "content-type": "application/json", "cf-connecting-ip": "203.0.113.10" },
      body: JSON.stringify({ displayName: `Name ${i}` }),
    });
    const start = performance.now();
    const res = await h.app.fetch(request, env, ctx);
    const answered = performance.now() - start;
    await waitOnExecutionContext(ctx);
    const whole = performance.now() - start;
    await settleTenantObjects();
    if (res.status !== 200) throw new Error("the change failed");
    return { answered, whole };
  };
  // The real queue binding of wrangler.toml (its consumer's deliveries answered by a stub receiver).
  const realQueue = e.WEBHOOK_QUEUE;
  vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(null, { status: 204 }));
  const timed = async (on: boolean) => {
    e.WEBHOOK_URL = on ? "https://product.test/webhooks" : "";
    e.WEBHOOK_SECRET = on ? `whsec_${btoa("bench-webhook-secret-of-32-bytes")}` : "";
    e.WEBHOOK_QUEUE = realQueue;
    const sum = { answered: 0, whole: 0 };
    for (let i = 0; i < perRound; i++) {
      const one = await change(i);
      sum.answered += one.answered;
      sum.whole += one.whole;
    }
    return sum;
  };
  await timed(false);
  await timed(true);
  const off = { answered: 0, whole: 0 };
  const on = { answered: 0, whole: 0 };
  for (let r = 0; r < rounds; r++) {
    for (const [sum, round] of [
      [off, await timed(false)],
      [on, await timed(true)],
    ] as const) {
      sum.answered += round.answered;
      sum.whole += round.whole;
    }
  }
  e.WEBHOOK_URL = "";
  e.WEBHOOK_SECRET = "";
  // What webhooks add to a change, alone: one message sent to the queue (the object's poke).
  const sends = perRound * rounds;
  const sendStart = performance.now();
  for (let i = 0; i < sends; i++) await (realQueue as Queue).send({ kind: "deliver", tenantId: "ten_bench_nobody" });
  const sendMs = (performance.now() - sendStart) / sends;
  const n = rounds * perRound;
  const perSecond = (ms: number) => Math.round((n / ms) * 1000);
  report("webhooks: change cost", {
    requests: n,
    answered: { offPerSecond: perSecond(off.answered), onPerSecond: perSecond(on.answered), ratio: Number((off.answered / on.answered).toFixed(3)) },
    withWaitUntil: { offPerSecond: perSecond(off.whole), onPerSecond: perSecond(on.whole), ratio: Number((off.whole / on.whole).toFixed(3)) },
    queueSendMs: Number(sendMs.toFixed(3)),
    // The change's cost with one send added, against without: the send's share measured alone.
    ratioFromSend: Number((off.whole / n / (off.whole / n + sendMs)).toFixed(3)),
  });
}, 300_000);

it("delivery throughput of one tenant's webhooks", async () => {
  const events = quick ? 100 : 400;
  const w = configureWebhooks(() => 204);
  const h = new Harness();
  const t = await seedTenant("bench-deliver", { totp: false });
  await h.login(t.member.email);
  await runWebhookQueue(w.pokes, h.clock.ms);
  const rows = Array.from({ length: events }, (_, i) =>
    env.DB.prepare("INSERT INTO audit_outbox (id, tenant_id, actor_user_id, action, outcome, target_type, target_id, before, after, created_at) VALUES (?, ?, ?, 'PROFILE_UPDATED', 'SUCCESS', 'user', ?, '{}', '{}', ?)").bind(`aud_bench_${i}`, t.id, t.member.id, t.member.id, h.clock.ms + i),
  );
  for (let i = 0; i < rows.length; i += 100) await env.DB.batch(rows.slice(i, i + 100));
  await tenantObject(env, t.id).drainAudit(t.id);
  const before = w.received.length;
  const start = performance.now();
  let calls = 0;
  while (w.pokes.length > 0) {
    await runWebhookQueue(w.pokes, h.clock.ms);
    calls++;
  }
  const ms = performance.now() - start;
  const delivered = w.received.length - before;
  w.restore();
  report("webhooks: delivery throughput per tenant", { events: delivered, consumerCalls: calls, perSecond: Math.round((delivered / ms) * 1000) });
}, 300_000);
