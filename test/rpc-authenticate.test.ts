import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { seedTenant } from "./helpers";
import { seedRules } from "./ip-rules-fixtures";
import { CLIENT_IP, authenticate, countD1, realTimeHarness } from "./rpc-fixtures";
import { auditStore } from "./audit-store";

describe("GatehouseService.authenticate through a service binding", () => {
  it("a hot authenticate call makes no D1 query", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect((await authenticate(cookie)).ok).toBe(true); // warms the tenant's rule set
    const { result, statements } = await countD1(() => authenticate(cookie));
    expect(result).toMatchObject({ ok: true, tenant: { id: t.id }, session: { id: sessionId, amr: ["pwd"] }, user: { id: t.member.id, role: "member" } });
    expect(statements).toBe(0);
  });

  it("answers who is signed in from the incoming Request itself", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const request = new Request("https://app.example/notes", { headers: { cookie, "cf-connecting-ip": CLIENT_IP } });
    expect(await env.GATEHOUSE.authenticate(request)).toMatchObject({ ok: true, user: { id: t.member.id } });
  });

  it("a revoked session is refused with 401 SESSION_REVOKED, and the refusal is audited", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    expect((await h.call("/api/auth/logout", { cookie, method: "POST" })).status).toBe(200);
    expect(await authenticate(cookie)).toMatchObject({ ok: false, status: 401, error: "SESSION_REVOKED" });
    // Audited as on the API: the cookie still names its tenant.
    const refused = await auditStore.prepare("SELECT failure_reason FROM audit_logs WHERE tenant_id = ? AND action = 'REQUEST_REFUSED'").bind(t.id).first();
    expect(refused).toEqual({ failure_reason: "SESSION_REVOKED" });
  });

  it("no cookie is 401 UNAUTHORIZED", async () => {
    expect(await env.GATEHOUSE.authenticate({ headers: [["user-agent", "x"]], clientIp: CLIENT_IP })).toMatchObject({ ok: false, status: 401, error: "UNAUTHORIZED" });
  });

  it("an address the tenant's IP rules deny is 403 IP_BLOCKED, audited as on the API", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const { cookie } = await h.login(t.member.email);
    expect(await authenticate(cookie, "198.51.100.7")).toMatchObject({ ok: false, status: 403, error: "IP_BLOCKED" });
    const row = await auditStore.prepare("SELECT action, ip FROM audit_logs WHERE tenant_id = ? AND action = 'IP_ACCESS_DENIED'").bind(t.id).first();
    expect(row).toEqual({ action: "IP_ACCESS_DENIED", ip: "198.51.100.7" });
    expect((await authenticate(cookie, CLIENT_IP)).ok).toBe(true);
  });

  it("the client address is the one the caller passes: clientIp replaces a CF-Connecting-IP header", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const { cookie } = await h.login(t.member.email);
    const res = await env.GATEHOUSE.authenticate({ headers: { cookie, "cf-connecting-ip": CLIENT_IP }, clientIp: "198.51.100.7" });
    expect(res).toMatchObject({ ok: false, error: "IP_BLOCKED" });
  });

  it("another tenant's data is never returned: a session id of one tenant with a secret of another is UNAUTHORIZED", async () => {
    const h = realTimeHarness();
    const a = await seedTenant("a");
    const b = await seedTenant("b");
    const alice = await h.login(a.member.email);
    const bob = await h.login(b.member.email);
    expect(await authenticate(alice.cookie)).toMatchObject({ ok: true, tenant: { id: a.id }, user: { id: a.member.id } });
    expect(await authenticate(bob.cookie)).toMatchObject({ ok: true, tenant: { id: b.id }, user: { id: b.member.id } });
    const [name, aliceToken] = alice.cookie.split("=") as [string, string];
    const bobSecret = bob.cookie.split("=")[1]?.split(".")[1];
    const mixed = `${name}=${aliceToken.split(".")[0]}.${bobSecret}`;
    expect(await authenticate(mixed)).toMatchObject({ ok: false, status: 401, error: "UNAUTHORIZED" });
  });

  it("bad input is 400 VALIDATION_FAILED with the issues", async () => {
    const bad = await env.GATEHOUSE.authenticate({ headers: { cookie: "x" }, clientIp: "not-an-address" });
    expect(bad).toMatchObject({ ok: false, status: 400, error: "VALIDATION_FAILED", issues: [{ path: "clientIp" }] });
    const badName = await env.GATEHOUSE.authenticate({ headers: [["not a header name", "x"]], clientIp: CLIENT_IP });
    expect(badName).toMatchObject({ ok: false, status: 400, error: "VALIDATION_FAILED", issues: [{ path: "headers" }] });
    const noHeaders = await env.GATEHOUSE.authenticate({} as never);
    expect(noHeaders).toMatchObject({ ok: false, status: 400, error: "VALIDATION_FAILED" });
  });
});
