import { describe, expect, it } from "vitest";
import { Harness, seedTenant } from "./helpers";

type Item = { seq: number; action: string; outcome: string; actorUserId: string | null; targetType: string | null; targetId: string | null; failureReason: string | null; userAgent: string | null; isImpersonating: boolean; realUserId: string | null; createdAt: string };
type Page = { items: Item[]; nextCursor: string | null };

async function history() {
  const h = new Harness();
  const t = await seedTenant();
  await h.call("/api/auth/login", { body: { email: t.member.email, password: "wrong" } }); // seq 1 FAIL
  for (let i = 0; i < 5; i++) {
    h.clock.advanceSeconds(60);
    await h.login(t.member.email);
  }
  const owner = await h.signIn(t.owner);
  return { h, t, owner };
}

describe("GET /api/audit-logs", () => {
  it("answers newest first with the camelCase audit payload", async () => {
    const { h, t, owner } = await history();
    const res = await h.call<Page>("/api/audit-logs?limit=3", { cookie: owner.cookie });
    expect(res.status).toBe(200);
    expect(res.body.items.map((i) => i.seq)).toEqual([13, 12, 11]);
    expect(res.body.items[0]).toMatchObject({ action: "SESSION_CREATED", outcome: "SUCCESS", actorUserId: t.owner.id, isImpersonating: false, realUserId: null });
    expect(res.body.items[0]?.userAgent).toContain("Chrome");
  });

  it("pages with a keyset cursor, stable under concurrent inserts", async () => {
    const { h, t, owner } = await history();
    const first = await h.call<Page>("/api/audit-logs?limit=5", { cookie: owner.cookie });
    await h.login(t.member.email); // two newer rows arrive between pages
    const second = await h.call<Page>(`/api/audit-logs?limit=5&cursor=${first.body.nextCursor}`, { cookie: owner.cookie });
    expect(second.body.items.map((i) => i.seq)).toEqual([8, 7, 6, 5, 4]);
    const third = await h.call<Page>(`/api/audit-logs?limit=5&cursor=${second.body.nextCursor}`, { cookie: owner.cookie });
    expect(third.body.items.map((i) => i.seq)).toEqual([3, 2, 1]);
    expect(third.body.nextCursor).toBeNull();
  });

  it("filters by action, outcome, actor, target and time", async () => {
    const { h, t, owner } = await history();
    const fails = await h.call<Page>("/api/audit-logs?outcome=FAIL", { cookie: owner.cookie });
    expect(fails.body.items.map((i) => [i.action, i.failureReason])).toEqual([["LOGIN_FAILED", "INVALID_PASSWORD"]]);
    const logins = await h.call<Page>(`/api/audit-logs?action=LOGIN_SUCCEEDED&actorUserId=${t.member.id}`, { cookie: owner.cookie });
    expect(logins.body.items).toHaveLength(5);
    const target = await h.call<Page>(`/api/audit-logs?targetType=user&targetId=${t.owner.id}`, { cookie: owner.cookie });
    expect(target.body.items.map((i) => i.action)).toEqual(["LOGIN_SUCCEEDED"]);
    const from = new Date(h.clock.ms - 150_000).toISOString();
    const recent = await h.call<Page>(`/api/audit-logs?action=LOGIN_SUCCEEDED&from=${from}`, { cookie: owner.cookie });
    expect(recent.body.items.length).toBeGreaterThan(0);
    expect(recent.body.items.every((i) => Date.parse(i.createdAt) >= Date.parse(from))).toBe(true);
  });

  it("400 for bad filters and forged cursors", async () => {
    const { h, owner } = await history();
    for (const q of ["action=NOPE", "outcome=MAYBE", "limit=0", "limit=1000", "from=yesterday", "cursor=%21%21", "evil=1"]) {
      const res = await h.call(`/api/audit-logs?${q}`, { cookie: owner.cookie });
      expect(res.status, q).toBe(400);
    }
  });

  it("isolation: only the caller's tenant, whatever the filters say", async () => {
    const { h, owner } = await history();
    const other = await seedTenant("other");
    await h.login(other.member.email);
    const res = await h.call<Page>(`/api/audit-logs?actorUserId=${other.member.id}`, { cookie: owner.cookie });
    expect(res.body.items).toEqual([]);
  });

  it("403 without SETTINGS_SECURITY_VIEW", async () => {
    const { h, t } = await history();
    const member = await h.login(t.member.email);
    expect((await h.call("/api/audit-logs", { cookie: member.cookie })).status).toBe(403);
    expect((await h.call("/api/audit-logs/export", { cookie: member.cookie })).status).toBe(403);
    expect((await h.call("/api/audit-logs/verify", { cookie: member.cookie })).status).toBe(403);
  });
});
