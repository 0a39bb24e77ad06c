import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/lib/crypto";
import { Harness, brokenBinding, d1WithTableGone, seedTenant, withEnv } from "./helpers";
import { type ScimList, USER_URN, auditRows, createScimToken, scim, scimTenant } from "./scim-fixtures";

type TokenView = { token: { id: string; createdAt: string; lastUsedAt: string | null; createdBy: string | null; active: boolean } | null; baseUrl: string };

const stored = (tenantId: string) => env.DB.prepare("SELECT id, token_hash, created_by, last_used_at FROM scim_tokens WHERE tenant_id = ?").bind(tenantId).all<{ id: string; token_hash: string; created_by: string; last_used_at: number | null }>().then((r) => r.results);

describe("the SCIM token", () => {
  it("is created by an owner with a fresh SSO_CHANGE step-up, shown once, and only its SHA-256 is stored", async () => {
    const h = new Harness();
    const t = await seedTenant("scimtok");
    const owner = await h.session(t.owner);
    const unverified = await h.call("/api/tenant/scim-token", { cookie: owner.cookie, body: {} });
    expect(unverified.status).toBe(428);
    expect(unverified.body.purpose).toBe("SSO_CHANGE");
    await h.stepUp(owner.cookie, "SSO_CHANGE", t.owner);
    const made = await h.call<{ token: string; baseUrl: string }>("/api/tenant/scim-token", { cookie: owner.cookie, body: {} });
    expect(made.status).toBe(201);
    expect(made.body.token).toMatch(/^scim_[A-Za-z0-9_-]{43}$/);
    expect(made.body.baseUrl).toBe("https://gatehouse.test/_gatehouse/scim/v2");
    const [row] = await stored(t.id);
    expect(row?.token_hash).toBe(await sha256Hex(made.body.token));
    expect(JSON.stringify(await env.DB.prepare("SELECT * FROM scim_tokens").all())).not.toContain(made.body.token);
    const view = await h.call<TokenView>("/api/tenant/scim-token", { cookie: owner.cookie });
    expect(view.body.token).toMatchObject({ createdBy: t.owner.email, lastUsedAt: null, active: true });
    expect(JSON.stringify(view.body)).not.toContain(made.body.token);
    const [created] = await auditRows(t.id, "SCIM_TOKEN_CREATED");
    expect(created).toMatchObject({ outcome: "SUCCESS", actorUserId: t.owner.id, targetType: "scim_token", targetId: row?.id });
    expect(JSON.stringify(created)).not.toContain(made.body.token);
  });

  it("is the owners' alone to create and delete: an admin is refused 403, audited, and may only see that it exists", async () => {
    const h = new Harness();
    const t = await seedTenant("scimtok");
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "SSO_CHANGE", t.admin);
    expect((await h.call("/api/tenant/scim-token", { cookie: admin.cookie, body: {} })).status).toBe(403);
    expect((await h.call("/api/tenant/scim-token", { cookie: admin.cookie, method: "DELETE" })).status).toBe(403);
    expect((await h.call<TokenView>("/api/tenant/scim-token", { cookie: admin.cookie })).body.token).toBeNull();
    const member = await h.login(t.member.email);
    expect((await h.call("/api/tenant/scim-token", { cookie: member.cookie })).status).toBe(403);
    expect(await stored(t.id)).toEqual([]);
    expect((await auditRows(t.id, "SCIM_TOKEN_CREATED")).map((r) => [r.outcome, r.failureReason])).toEqual([["FAIL", "FORBIDDEN"]]);
  });

  it("a new token replaces the old in the same change: the old one is 401 at once", async () => {
    const h = new Harness();
    const t = await seedTenant("scimtok");
    const old = await createScimToken(h, t.owner);
    expect((await scim(h, old, "/Users")).status).toBe(200);
    const fresh = await createScimToken(h, t.owner);
    expect(await stored(t.id)).toHaveLength(1);
    const refused = await scim(h, old, "/Users");
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "401" });
    expect((await scim(h, fresh, "/Users")).status).toBe(200);
    const [, second] = await auditRows(t.id, "SCIM_TOKEN_CREATED");
    expect(second?.metadata).toMatchObject({ replaced: expect.stringMatching(/^stk_/) });
  });

  it("deleting it turns SCIM off: the token is 401, and the deletion is audited", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const owner = await h.session(t.owner);
    expect((await h.call("/api/tenant/scim-token", { cookie: owner.cookie, method: "DELETE" })).status).toBe(428);
    await h.stepUp(owner.cookie, "SSO_CHANGE", t.owner);
    expect((await h.call("/api/tenant/scim-token", { cookie: owner.cookie, method: "DELETE" })).status).toBe(200);
    expect((await scim(h, t.token, "/Users")).status).toBe(401);
    expect((await h.call<TokenView>("/api/tenant/scim-token", { cookie: owner.cookie })).body.token).toBeNull();
    expect((await auditRows(t.id, "SCIM_TOKEN_DELETED")).map((r) => r.outcome)).toEqual(["SUCCESS"]);
    await h.stepUp(owner.cookie, "SSO_CHANGE", t.owner);
    const again = await h.call("/api/tenant/scim-token", { cookie: owner.cookie, method: "DELETE" });
    expect(again.status).toBe(404);
    expect(again.body.error).toBe("SCIM_TOKEN_NOT_FOUND");
  });

  it("stops working when the owner who created it is demoted, disabled or removed, and each refusal is in the tenant's log", async () => {
    const changes = ["UPDATE users SET role = 'admin' WHERE id = ?", "UPDATE users SET disabled_at = 1 WHERE id = ?", "UPDATE users SET removed_at = 1, disabled_at = 1 WHERE id = ?"];
    for (const change of changes) {
      const h = new Harness();
      const t = await scimTenant(h);
      // A second owner keeps the tenant owned; the token's creator is the first.
      await env.DB.prepare("UPDATE users SET role = 'owner' WHERE id = ?").bind(t.admin.id).run();
      await env.DB.prepare(change).bind(t.owner.id).run();
      const res = await scim(h, t.token, "/Users");
      expect(res.status, change).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const refused = await auditRows(t.id, "REQUEST_REFUSED");
      expect(refused.map((r) => [r.failureReason, r.actorUserId, (r.metadata as { by?: string }).by])).toEqual([["SCIM_TOKEN_CREATOR_NOT_OWNER", null, "scim"]]);
      const admin = await h.session(t.admin);
      expect((await h.call<TokenView>("/api/tenant/scim-token", { cookie: admin.cookie })).body.token?.active).toBe(false);
    }
  });

  it("records its last use at most once a minute, not on every call", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const lastUse = async () => (await stored(t.id))[0]?.last_used_at;
    await scim(h, t.token, "/Users");
    expect(await lastUse()).toBe(h.clock.ms);
    const first = h.clock.ms;
    h.clock.advanceSeconds(59);
    await scim(h, t.token, "/Users");
    expect(await lastUse()).toBe(first);
    h.clock.advanceSeconds(1);
    await scim(h, t.token, "/Users");
    expect(await lastUse()).toBe(h.clock.ms);
  });

  it("a missing or wrong token, another scheme, and a session cookie alone are each 401 in SCIM's shape, with WWW-Authenticate: Bearer", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const member = await h.login(t.member.email);
    const owner = await h.session(t.owner);
    const attempts = [
      await scim(h, null, "/Users"),
      await scim(h, `${t.token.slice(0, -1)}x`, "/Users"),
      await scim(h, null, "/Users", { headers: { authorization: `Basic ${t.token}` } }),
      await scim(h, null, "/Users", { cookie: member.cookie }),
      await scim(h, null, "/Users", { cookie: owner.cookie, body: { schemas: [USER_URN], userName: "x@example.com" } }),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/scim+json");
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(res.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "401" });
    }
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE email = 'x@example.com'").first<{ n: number }>())?.n).toBe(0);
  });

  it("a token of a disabled tenant is refused 403", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    await env.DB.prepare("UPDATE tenants SET disabled_at = 1 WHERE id = ?").bind(t.id).run();
    const res = await scim(h, t.token, "/Users");
    expect(res.status).toBe(403);
    expect(res.body.status).toBe("403");
  });

  it("fails closed: when the token store cannot be read the answer is 503 in SCIM's shape, never a pass", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    for (const DB of [d1WithTableGone(env.DB, "scim_tokens"), brokenBinding<D1Database>("D1")]) {
      const res = await scim<ScimList>(h, t.token, "/Users", { env: withEnv({ DB }) });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "503" });
    }
  });
});
