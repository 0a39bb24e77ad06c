import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { drainPendingOutboxes } from "../src/audit/drain-sweep";
import { createDb } from "../src/db/client";
import { AuditDrain } from "../src/tenant-object/audit-drain";
import { openAuditStore } from "../src/tenant-object/audit-store";
import { d1LosingDeletesOf, outboxOf, storedIds } from "./audit-store";
import type { Bindings } from "../src/env";
import { Harness, seedTenant, tenantObjectsUnreachable, withEnv } from "./helpers";

const unreachable = () => withEnv({ TENANT: tenantObjectsUnreachable() });

/** A profile change (one PROFILE_UPDATED event) by the tenant's member. */
async function changeProfile(h: Harness, cookie: string, displayName: string, e?: Bindings) {
  const res = await h.call("/api/account/profile", { cookie, method: "PATCH", body: { displayName }, ...(e ? { env: e } : {}) });
  expect(res.status).toBe(200);
}

async function verified(h: Harness, cookie: string) {
  const res = await h.call<{ ok: boolean; checked: number }>("/api/audit-logs/verify", { cookie });
  expect(res.status).toBe(200);
  return res.body;
}

describe("the audit outbox is drained after a crash at each step", () => {
  it("an event whose object was never told waits in the outbox and is in the chain at the tenant's next audit read", async () => {
    const h = new Harness();
    const t = await seedTenant("told-lost");
    const member = await h.session(t.member);
    const owner = await h.session(t.owner);
    const before = (await storedIds(t.id)).length;
    await changeProfile(h, member.cookie, "Told Lost", unreachable());
    expect(await outboxOf(t.id)).toHaveLength(1);
    expect(await storedIds(t.id)).toHaveLength(before);
    const res = await h.call<{ items: { action: string; actorUserId: string }[] }>("/api/audit-logs?action=PROFILE_UPDATED", { cookie: owner.cookie });
    expect(res.body.items).toMatchObject([{ action: "PROFILE_UPDATED", actorUserId: t.member.id }]);
    expect(await outboxOf(t.id)).toEqual([]);
  });

  it("an event whose object was never told is in the chain after the tenant's next write, before and in order with it", async () => {
    const h = new Harness();
    const t = await seedTenant("told-lost-write");
    const member = await h.session(t.member);
    await changeProfile(h, member.cookie, "First", unreachable());
    const [waiting] = await outboxOf(t.id);
    await changeProfile(h, member.cookie, "Second");
    expect(await outboxOf(t.id)).toEqual([]);
    const ids = await storedIds(t.id);
    expect(ids.indexOf(waiting?.id ?? "")).toBe(ids.length - 2);
  });

  it("an event whose object was never told is in the chain after the hourly cron, with no read or write of the tenant", async () => {
    const h = new Harness();
    const t = await seedTenant("told-lost-cron");
    const member = await h.session(t.member);
    await changeProfile(h, member.cookie, "Cron", unreachable());
    const [waiting] = await outboxOf(t.id);
    expect(await drainPendingOutboxes(env)).toMatchObject({ failed: 0 });
    expect(await outboxOf(t.id)).toEqual([]);
    expect(await storedIds(t.id)).toContain(waiting?.id);
  });

  it("events an object stored but whose outbox rows it did not delete are skipped by the next drain and deleted, never stored twice", async () => {
    const h = new Harness();
    const t = await seedTenant("delete-lost");
    const member = await h.session(t.member);
    const owner = await h.session(t.owner);
    await changeProfile(h, member.cookie, "One", unreachable());
    await changeProfile(h, member.cookie, "Two", unreachable());
    const waiting = (await outboxOf(t.id)).map((r) => r.id);
    const stub = env.TENANT.get(env.TENANT.idFromName(t.id));
    // The drain stores the page, then dies before the outbox rows are deleted.
    await runInDurableObject(stub, async (_instance, state) => {
      const crashing = new AuditDrain(state.storage, openAuditStore(state.storage), () => createDb(d1LosingDeletesOf(env.DB, "audit_outbox")));
      await expect(crashing.drain(t.id)).rejects.toThrow();
    });
    expect((await outboxOf(t.id)).map((r) => r.id)).toEqual(waiting);
    const stored = await storedIds(t.id);
    expect(stored.slice(-2)).toEqual(waiting);
    await stub.drainAudit(t.id);
    expect(await outboxOf(t.id)).toEqual([]);
    expect(await storedIds(t.id)).toEqual(stored);
    expect(await verified(h, owner.cookie)).toMatchObject({ ok: true });
  });
});

describe("the outbox after a D1 restore", () => {
  it("an event whose outbox position a D1 restore handed out again still reaches the chain", async () => {
    const h = new Harness();
    const t = await seedTenant("restored");
    const member = await h.session(t.member);
    await changeProfile(h, member.cookie, "Before");
    const before = await storedIds(t.id);
    // A restore to before these events: the outbox's position counter goes back.
    await env.DB.prepare("UPDATE sqlite_sequence SET seq = 0 WHERE name = 'audit_outbox'").run();
    await changeProfile(h, member.cookie, "After", unreachable());
    const [reused] = await outboxOf(t.id);
    expect(reused?.position).toBe(1);
    await env.TENANT.get(env.TENANT.idFromName(t.id)).drainAudit(t.id);
    expect(await storedIds(t.id)).toEqual([...before, reused?.id]);
    expect(await outboxOf(t.id)).toEqual([]);
  });
});

describe("the outbox is drained in commit order", () => {
  it("events committed by concurrent requests on several app instances are appended once each, in commit order, while drains race", async () => {
    const t = await seedTenant("concurrent");
    const owner = await new Harness().signIn(t.owner);
    const harnesses = Array.from({ length: 4 }, () => new Harness());
    const member = await harnesses[0]!.signIn(t.member);
    await Promise.all(harnesses.map((h, i) => changeProfile(h, member.cookie, `Held ${i}`, unreachable())));
    const committed = (await outboxOf(t.id)).map((r) => r.id);
    expect(committed).toHaveLength(4);
    const stub = env.TENANT.get(env.TENANT.idFromName(t.id));
    // Drains and new writes from every instance at once: the held events first, in position order.
    await Promise.all([
      stub.drainAudit(t.id),
      ...harnesses.map((h, i) => changeProfile(h, member.cookie, `Live ${i}`)),
      stub.drainAudit(t.id),
    ]);
    const ids = await storedIds(t.id);
    const held = ids.filter((id) => committed.includes(id));
    expect(held).toEqual(committed);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await outboxOf(t.id)).toEqual([]);
    expect(await verified(new Harness(), owner.cookie)).toMatchObject({ ok: true, checked: ids.length });
  });
});

describe("audit reads fail closed when the tenant's object is unreachable", () => {
  it("search, product actions, verification and export answer 503 AUDIT_UNAVAILABLE, never 500, while a change still commits with its event", async () => {
    const h = new Harness();
    const t = await seedTenant("unreachable");
    const owner = await h.session(t.owner);
    const member = await h.session(t.member);
    for (const path of ["/api/audit-logs", "/api/audit-logs/product-actions", "/api/audit-logs/verify", "/api/audit-logs/export"]) {
      const res = await h.call(path, { cookie: owner.cookie, env: unreachable() });
      expect([path, res.status, res.body.error]).toEqual([path, 503, "AUDIT_UNAVAILABLE"]);
    }
    await changeProfile(h, member.cookie, "Still Saved", unreachable());
    expect(await outboxOf(t.id)).toHaveLength(1);
  });
});
