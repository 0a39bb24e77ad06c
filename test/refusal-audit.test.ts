// The app-level refusal recorder: every refusal of a request that identifies a tenant
// writes a FAIL row (reads, CSRF, body limit and dead cookies included); repeats of the
// same refusal (user, reason, method and route) are deduplicated per minute with the
// count; a 428 challenge is a question, not written.
import { describe, expect, it } from "vitest";
import { randomBytes, toBase64Url } from "../src/lib/crypto";
import { DEFAULT_GATEHOUSE_PATH } from "../src/config";
import { Harness, PASSWORD, type SeededTenant, seedTenant } from "./helpers";
import { seedRules } from "./ip-rules-fixtures";
import { auditStore, eventsEverCommitted } from "./audit-store";

type Row = { action: string; outcome: string; actor_user_id: string | null; target_id: string | null; failure_reason: string; metadata: string | null };

async function rows(tenantId: string, action = "REQUEST_REFUSED") {
  const res = await auditStore.prepare("SELECT action, outcome, actor_user_id, target_id, failure_reason, metadata FROM audit_logs WHERE tenant_id = ? AND action = ? ORDER BY seq")
    .bind(tenantId, action)
    .all<Row>();
  return res.results.map((r) => ({ ...r, metadata: r.metadata === null ? null : (JSON.parse(r.metadata) as Record<string, unknown>) }));
}

const countAll = async (tenantId?: string) =>
  (tenantId
    ? await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>()
    : { n: await eventsEverCommitted() }
  )?.n ?? 0;

async function memberOf(): Promise<{ h: Harness; t: SeededTenant; cookie: string; sessionId: string }> {
  const h = new Harness();
  const t = await seedTenant("ref");
  const { cookie, sessionId } = await h.login(t.member.email);
  return { h, t, cookie, sessionId };
}

describe("refusals of requests that identify a tenant are audited as FAIL rows", () => {
  it("every refused read by a signed-in user writes a FAIL row in their tenant", async () => {
    const { h, t, cookie } = await memberOf();
    const reads = ["/api/audit-logs", "/api/audit-logs/export?format=csv", "/api/users", `/api/security/sessions?userId=${t.admin.id}`];
    for (const path of reads) {
      expect((await h.call(path, { cookie })).status, path).toBe(403);
      h.clock.advanceSeconds(60); // past the per-minute deduplication
    }
    const written = await rows(t.id);
    expect(written.map((r) => r.metadata?.path)).toEqual(["/api/audit-logs", "/api/audit-logs/export", "/api/users", "/api/security/sessions"].map((p) => `${DEFAULT_GATEHOUSE_PATH}${p}`));
    for (const r of written) expect(r).toMatchObject({ outcome: "FAIL", actor_user_id: t.member.id, failure_reason: "FORBIDDEN" });
    expect(written[3]?.target_id).toBe(t.admin.id);
  });

  it("a body over the limit sent with a valid session writes a FAIL row (PAYLOAD_TOO_LARGE)", async () => {
    const { h, t, cookie } = await memberOf();
    const res = await h.call("/api/security/sessions/revoke-others", { cookie, rawBody: "x".repeat(70_000), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(413);
    expect(await rows(t.id)).toMatchObject([{ outcome: "FAIL", actor_user_id: t.member.id, failure_reason: "PAYLOAD_TOO_LARGE" }]);
  });

  it("a cross-site request carrying a valid session cookie writes a FAIL row (CSRF)", async () => {
    const { h, t, cookie } = await memberOf();
    const res = await h.call("/api/auth/logout", { cookie, method: "POST", headers: { origin: "https://evil.test", "sec-fetch-site": "cross-site" } });
    expect(res.status).toBe(403);
    expect(await rows(t.id)).toMatchObject([{ outcome: "FAIL", actor_user_id: t.member.id, failure_reason: "CSRF", metadata: { path: `${DEFAULT_GATEHOUSE_PATH}/api/auth/logout` } }]);
  });

  it("a revoked session's cookie (secret matching its row) writes a FAIL row in its tenant", async () => {
    const { h, t, cookie } = await memberOf();
    expect((await h.call("/api/auth/logout", { cookie, method: "POST" })).status).toBe(200);
    h.clock.advanceSeconds(2); // past the in-isolate copy
    const res = await h.call("/api/me", { cookie });
    expect(res.body.error).toBe("SESSION_REVOKED");
    expect(await rows(t.id)).toMatchObject([{ outcome: "FAIL", actor_user_id: t.member.id, failure_reason: "SESSION_REVOKED" }]);
  });

  it("a cookie with a real session id but a wrong secret, or an unknown id, names no tenant: no row", async () => {
    const { h, sessionId } = await memberOf();
    const before = await countAll();
    const forged = (id: string) => `__Host-gatehouse_session=${id}.${toBase64Url(randomBytes(32))}`;
    for (const cookie of [forged(sessionId), forged("nosuchsession0")]) {
      expect((await h.call("/api/audit-logs", { cookie })).body.error).toBe("UNAUTHORIZED");
      expect((await h.call("/api/auth/logout", { cookie, method: "POST", headers: { "sec-fetch-site": "cross-site" } })).body.error).toBe("CSRF");
    }
    expect(await countAll()).toBe(before);
  });

  it("a refusal on an audited route or by the IP rules is written once, under that action", async () => {
    const { h, t, cookie } = await memberOf();
    await h.call(`/api/users/${t.admin.id}/force-logout`, { cookie, method: "POST" });
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    h.clock.advanceSeconds(2); // past the in-isolate copy of the (empty) rule set
    await h.call("/api/me", { cookie, ip: "198.51.100.7" });
    expect(await rows(t.id, "SESSION_INVALIDATED")).toMatchObject([{ outcome: "FAIL", failure_reason: "FORBIDDEN" }]);
    expect(await rows(t.id, "IP_ACCESS_DENIED")).toHaveLength(1);
    expect(await rows(t.id)).toEqual([]);
  });

  it("a failed sign-in carrying a valid session cookie writes nothing in the cookie's tenant, for an unknown email as for another tenant's member (that log would tell them apart)", async () => {
    const { h, t, cookie } = await memberOf();
    const other = await seedTenant("ref");
    const before = await countAll(t.id);
    for (const email of ["nobody@nowhere.test", other.member.email]) {
      const res = await h.call("/api/auth/login", { cookie, body: { email, password: "wrong password" } });
      expect(res.body.error).toBe("INVALID_CREDENTIALS");
    }
    expect(await countAll(t.id)).toBe(before);
  });

  it("a 428 challenge is a question, not a refusal: it writes nothing, even with a session cookie", async () => {
    const h = new Harness();
    const t = await seedTenant("ref");
    const { cookie } = await h.session(t.admin);
    const before = await countAll(t.id);
    expect((await h.call(`/api/users/${t.member.id}/force-logout`, { cookie, method: "POST" })).status).toBe(428);
    expect(await countAll(t.id)).toBe(before);
  });

  it("TOTP_REQUIRED is written once, as the sign-in's own LOGIN_FAILED row, never again as REQUEST_REFUSED", async () => {
    const h = new Harness();
    const t = await seedTenant("ref");
    const { cookie } = await h.session(t.admin);
    expect((await h.call("/api/auth/login", { cookie, body: { email: t.admin.email, password: PASSWORD } })).body.error).toBe("TOTP_REQUIRED");
    expect(await rows(t.id)).toEqual([]);
    expect((await rows(t.id, "LOGIN_FAILED")).map((r) => r.failure_reason)).toEqual(["SECOND_FACTOR_REQUIRED"]);
  });
});


describe("refusal floods: rows at the 1st, 2nd, 4th, ... repeat of the same refusal (user, reason, method, route) per minute, with the count", () => {
  it("repeats within the minute write rows only at each doubling, each with the count so far", async () => {
    const { h, t, cookie } = await memberOf();
    for (let i = 0; i < 5; i++) await h.call("/api/audit-logs", { cookie });
    // Another reason in the same minute is not hidden behind the first.
    await h.call("/api/auth/logout", { cookie, method: "POST", headers: { "sec-fetch-site": "cross-site" } });
    const written = await rows(t.id);
    expect(written.map((r) => [r.failure_reason, r.metadata?.count])).toEqual([
      ["FORBIDDEN", 1],
      ["FORBIDDEN", 2],
      ["FORBIDDEN", 4],
      ["CSRF", 1],
    ]);
    h.clock.advanceSeconds(60); // a new minute starts a new count
    await h.call("/api/users", { cookie });
    expect((await rows(t.id)).at(-1)).toMatchObject({ failure_reason: "FORBIDDEN", metadata: { count: 1 } });
  });

  it("a member refused on four different routes in one minute gets a row for each: different requests are not one stream", async () => {
    const { h, t, cookie } = await memberOf();
    const paths = ["/api/audit-logs", "/api/users", "/api/users/invitations", "/api/tenant/policy"];
    for (const path of paths) expect((await h.call(path, { cookie })).status, path).toBe(403);
    const written = await rows(t.id);
    expect(written.map((r) => [r.metadata?.path, r.failure_reason, r.metadata?.count])).toEqual(paths.map((p) => [`${DEFAULT_GATEHOUSE_PATH}${p}`, "FORBIDDEN", 1]));
  });

  it("the same route and method refused again in the minute is one stream, whatever resource its query names", async () => {
    const { h, t, cookie } = await memberOf();
    for (const userId of [t.admin.id, t.owner.id, t.admin.id, t.owner.id]) {
      expect((await h.call(`/api/security/sessions?userId=${userId}`, { cookie })).status).toBe(403);
    }
    expect((await rows(t.id)).map((r) => [r.target_id, r.metadata?.count])).toEqual([
      [t.admin.id, 1],
      [t.owner.id, 2],
      [t.owner.id, 4],
    ]);
  });

  it("parallel refusals of one user are each counted once: rows at the doublings only", async () => {
    const { h, t, cookie } = await memberOf();
    const results = await Promise.all(Array.from({ length: 8 }, () => h.call("/api/users", { cookie })));
    expect(results.every((r) => r.status === 403)).toBe(true);
    expect((await rows(t.id)).map((r) => r.metadata?.count).sort()).toEqual([1, 2, 4, 8]);
  });

  it("blocked addresses too: IP_ACCESS_DENIED repeats are counted per address and minute", async () => {
    const { h, t, cookie } = await memberOf();
    await seedRules(t.id, [{ action: "deny", cidr: "2001:db8::/32" }]);
    h.clock.advanceSeconds(2); // past the in-isolate copy of the (empty) rule set
    for (let i = 0; i < 4; i++) await h.call("/api/me", { cookie, ip: "2001:db8::1" });
    await h.call("/api/me", { cookie, ip: "2001:db8::1:5" }); // another address, its own stream
    h.clock.advanceSeconds(60);
    await h.call("/api/me", { cookie, ip: "2001:db8::1" });
    const denied = await rows(t.id, "IP_ACCESS_DENIED");
    expect(denied.map((r) => [r.target_id, r.metadata?.count])).toEqual([
      ["2001:db8::1", 1],
      ["2001:db8::1", 2],
      ["2001:db8::1", 4],
      ["2001:db8::1:5", 1],
      ["2001:db8::1", 1],
    ]);
    expect(await rows(t.id)).toEqual([]);
  });
});
