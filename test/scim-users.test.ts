import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { NO_PASSWORD, hashPassword, verifyPassword } from "../src/lib/password";
import { Harness, PASSWORD, d1WithBrokenAudit, withEnv } from "./helpers";
import { PATCH_URN, type ScimList, type ScimUser, USER_URN, auditRows, rfcUser, scim, scimTenant } from "./scim-fixtures";

const row = (id: string) =>
  env.DB.prepare("SELECT email, display_name, role, password_hash, disabled_at, removed_at, scim_external_id FROM users WHERE id = ?")
    .bind(id)
    .first<{ email: string; display_name: string; role: string; password_hash: string; disabled_at: number | null; removed_at: number | null; scim_external_id: string | null }>();
const me = (h: Harness, cookie: string) => h.call("/api/me", { cookie });
const patch = (operations: unknown[]) => ({ method: "PATCH", body: { schemas: [PATCH_URN], Operations: operations } });
const byScim = (metadata: unknown) => (metadata as { by?: string }).by;

describe("provisioning: POST /Users", () => {
  it("creates a member as RFC 7644 §3.3's example does: 201 with the resource, its id the member's, its location on PUBLIC_ORIGIN even through a hostile Host", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const res = await scim<ScimUser>(h, t.token, "/Users", { body: rfcUser("BJensen@Example.com"), origin: "https://evil.example" });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe("application/scim+json");
    expect(res.body).toMatchObject({ schemas: [USER_URN], userName: "bjensen@example.com", externalId: "bjensen", displayName: "Ms. Barbara J Jensen III", active: true });
    expect(res.body.meta).toMatchObject({ resourceType: "User", location: `https://gatehouse.test/_gatehouse/scim/v2/Users/${res.body.id}` });
    expect(res.body.meta.lastModified).toBe(res.body.meta.created);
    expect(await row(res.body.id)).toMatchObject({ email: "bjensen@example.com", role: "member", scim_external_id: "bjensen" });
    const [created] = await auditRows(t.id, "SCIM_USER_CREATED");
    expect(created).toMatchObject({ outcome: "SUCCESS", actorUserId: null, targetId: res.body.id, metadata: { by: "scim", scimTokenId: expect.stringMatching(/^stk_/) } });
  });

  it("a member SCIM creates has no password: none signs them in, not even the marker stored in its place", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const res = await scim<ScimUser>(h, t.token, "/Users", { body: rfcUser("nopassword@example.com", { password: PASSWORD }) });
    expect((await row(res.body.id))?.password_hash).toBe(NO_PASSWORD.provisioned);
    for (const password of [PASSWORD, NO_PASSWORD.provisioned, NO_PASSWORD.removed]) {
      const signIn = await h.call("/api/auth/login", { body: { email: "nopassword@example.com", password } });
      expect(signIn.status).toBe(401);
      expect(signIn.body.error).toBe("INVALID_CREDENTIALS");
    }
  });

  it("checking a password against an account without one costs the PBKDF2 derivation a real hash costs, so timing does not tell such accounts apart", async () => {
    const real = await hashPassword(PASSWORD);
    const derive = vi.spyOn(crypto.subtle, "deriveBits");
    expect(await verifyPassword("wrong password", real)).toBe(false);
    const forRealHash = derive.mock.calls.length;
    derive.mockClear();
    expect(await verifyPassword("wrong password", NO_PASSWORD.provisioned)).toBe(false);
    expect(derive.mock.calls.length).toBe(forRealHash);
  });

  it("gives the SSO connection's default role, member without a connection, and never owner whatever is sent", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const plain = await scim<ScimUser>(h, t.token, "/Users", { body: rfcUser("plain@example.com", { roles: [{ value: "owner", primary: true }] }) });
    expect((await row(plain.body.id))?.role).toBe("member");
    await env.DB.prepare(
      "INSERT INTO sso_connections (id, tenant_id, protocol, issuer, client_id, client_secret_enc, provider_metadata, default_role, created_at, updated_at) VALUES (?, ?, 'oidc', 'https://idp.example', 'c', 'k:x', '{}', 'admin', 0, 0)",
    )
      .bind(`sso_${t.id}`, t.id)
      .run();
    const admin = await scim<ScimUser>(h, t.token, "/Users", { body: rfcUser("admin-by-default@example.com", { roles: [{ value: "owner" }] }) });
    expect((await row(admin.body.id))?.role).toBe("admin");
  });

  it("a userName already taken by a current member is 409 uniqueness, audited, and nothing is created", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const res = await scim(h, t.token, "/Users", { body: rfcUser(t.member.email.toUpperCase()) });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ status: "409", scimType: "uniqueness" });
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE email = ?").bind(t.member.email).first<{ n: number }>();
    expect(count?.n).toBe(1);
    expect((await auditRows(t.id, "SCIM_USER_CREATED")).map((r) => [r.outcome, r.failureReason, byScim(r.metadata)])).toEqual([["FAIL", "USER_EXISTS", "scim"]]);
  });
});

describe("finding members: GET /Users", () => {
  it('filters by userName eq as RFC 7644 §3.4.2 does (attribute names and case of the email do not matter), and by externalId eq', async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const made = await scim<ScimUser>(h, t.token, "/Users", { body: rfcUser("bjensen.filter@example.com") });
    const find = (filter: string) => scim<ScimList>(h, t.token, `/Users?filter=${encodeURIComponent(filter)}`);
    for (const filter of ['userName eq "bjensen.filter@example.com"', 'USERNAME Eq "BJensen.Filter@Example.com"', `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen.filter@example.com"`, 'externalId eq "bjensen"']) {
      const res = await find(filter);
      expect(res.status, filter).toBe(200);
      expect(res.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
      expect(res.body.Resources.map((u) => u.id)).toEqual([made.body.id]);
    }
    expect((await find('externalId eq "BJENSEN"')).body.totalResults).toBe(0);
    expect((await find('userName eq "nobody@example.com"')).body).toMatchObject({ totalResults: 0, Resources: [] });
  });

  it("pages with startIndex and count over the tenant's members, oldest first, totalResults counting them all", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    for (const n of [1, 2, 3]) {
      h.clock.advanceSeconds(1);
      await scim(h, t.token, "/Users", { body: rfcUser(`page${n}@example.com`, { externalId: `p${n}` }) });
    }
    const page = (q: string) => scim<ScimList>(h, t.token, `/Users?${q}`);
    const all = await page("");
    expect(all.body.totalResults).toBe(6);
    const ids = all.body.Resources.map((u) => u.id);
    expect(all.body).toMatchObject({ startIndex: 1, itemsPerPage: 6 });
    // The three seeded members, then the three SCIM made, in the order it made them.
    expect(all.body.Resources.slice(3).map((u) => u.userName)).toEqual(["page1@example.com", "page2@example.com", "page3@example.com"]);
    const second = await page("startIndex=3&count=2");
    expect(second.body).toMatchObject({ totalResults: 6, startIndex: 3, itemsPerPage: 2 });
    expect(second.body.Resources.map((u) => u.id)).toEqual(ids.slice(2, 4));
    expect((await page("startIndex=6&count=10")).body.Resources.map((u) => u.id)).toEqual(ids.slice(5));
    expect((await page("count=0")).body).toMatchObject({ totalResults: 6, itemsPerPage: 0, Resources: [] });
    expect((await page("startIndex=0&count=-1")).body).toMatchObject({ startIndex: 1, itemsPerPage: 0 });
  });
});

describe("deprovisioning: active false, PATCH and PUT", () => {
  it("PATCH as Okta sends it (replace, value { active: false }) disables the member, and their session cookie is refused on its very next request", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const member = await h.login(t.member.email);
    expect((await me(h, member.cookie)).status).toBe(200);
    const res = await scim<ScimUser>(h, t.token, `/Users/${t.member.id}`, patch([{ op: "replace", value: { active: false } }]));
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    const next = await me(h, member.cookie);
    expect(next.status).toBe(401);
    expect(["SESSION_REVOKED", "SESSION_INVALIDATED"]).toContain(next.body.error);
    const [disabled] = await auditRows(t.id, "USER_DISABLED");
    expect(disabled).toMatchObject({ outcome: "SUCCESS", actorUserId: null, targetId: t.member.id, metadata: { by: "scim", revokedSessionIds: [member.sessionId] } });
  });

  it('PATCH as Entra ID sends it ("Replace", path active, "False") disables; "True" enables again, and the member signs in anew', async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const member = await h.login(t.member.email);
    expect((await scim<ScimUser>(h, t.token, `/Users/${t.member.id}`, patch([{ op: "Replace", path: "active", value: "False" }]))).body.active).toBe(false);
    expect((await me(h, member.cookie)).status).toBe(401);
    expect((await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD } })).body.error).toBe("USER_DISABLED");
    expect((await scim<ScimUser>(h, t.token, `/Users/${t.member.id}`, patch([{ op: "Replace", path: "active", value: "True" }]))).body.active).toBe(true);
    expect((await me(h, member.cookie)).status).toBe(401);
    expect((await me(h, (await h.login(t.member.email)).cookie)).status).toBe(200);
    expect((await auditRows(t.id, "USER_ENABLED")).map((r) => [r.outcome, byScim(r.metadata)])).toEqual([["SUCCESS", "scim"]]);
  });

  it("PATCH add, replace and remove as RFC 7644 §3.5.2 and Entra ID send them: what Gatehouse keeps changes in one SCIM_USER_UPDATED row, the rest is ignored", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const made = await scim<ScimUser>(h, t.token, "/Users", { body: rfcUser("entra@example.com") });
    h.clock.advanceSeconds(60);
    const res = await scim<ScimUser>(
      h,
      t.token,
      `/Users/${made.body.id}`,
      patch([
        { op: "Replace", path: "displayName", value: "Barbara Jensen" },
        { op: "Add", path: 'emails[type eq "work"].value', value: "bjensen@example.com" },
        { op: "Replace", path: "name.givenName", value: "Babs" },
        { op: "Add", path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", value: "Tour Operations" },
        { op: "replace", value: { title: "Tour Guide", "urn:ietf:params:scim:schemas:core:2.0:User:userName": "ENTRA@example.com" } },
        { op: "remove", path: "externalId" },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ displayName: "Barbara Jensen", userName: "entra@example.com", active: true });
    expect(res.body.externalId).toBeUndefined();
    expect(res.body.meta.lastModified).not.toBe(res.body.meta.created);
    expect(await row(made.body.id)).toMatchObject({ display_name: "Barbara Jensen", scim_external_id: null });
    const updated = await auditRows(t.id, "SCIM_USER_UPDATED");
    expect(updated.map((r) => [r.outcome, r.before, r.after])).toEqual([["SUCCESS", { displayName: "Ms. Barbara J Jensen III", externalId: "bjensen" }, { displayName: "Barbara Jensen", externalId: null }]]);
  });

  it("PUT replaces the name and externalId, keeps what it does not send, and cannot change the userName (400 mutability)", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const made = await scim<ScimUser>(h, t.token, "/Users", { body: rfcUser("put@example.com") });
    const put = (body: unknown) => scim<ScimUser>(h, t.token, `/Users/${made.body.id}`, { method: "PUT", body });
    const replaced = await put({ schemas: [USER_URN], userName: "put@example.com", name: { givenName: "Barbara", familyName: "Jensen" } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ displayName: "Barbara Jensen", externalId: "bjensen", active: true });
    const renamed = await put({ schemas: [USER_URN], userName: "someone-else@example.com", displayName: "Someone" });
    expect(renamed.status).toBe(400);
    expect(renamed.body).toMatchObject({ scimType: "mutability" });
    expect(await row(made.body.id)).toMatchObject({ email: "put@example.com", display_name: "Barbara Jensen" });
  });

  it("DELETE as in RFC 7644 §3.6 removes the member as the panel does: 204, their sessions end, then 404", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const member = await h.login(t.member.email);
    const res = await scim(h, t.token, `/Users/${t.member.id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect((await me(h, member.cookie)).status).toBe(401);
    expect(await row(t.member.id)).toMatchObject({ password_hash: NO_PASSWORD.removed, removed_at: h.clock.ms });
    expect((await auditRows(t.id, "USER_REMOVED")).map((r) => [r.outcome, r.actorUserId, byScim(r.metadata)])).toEqual([["SUCCESS", null, "scim"]]);
    for (const method of ["GET", "DELETE"]) expect((await scim(h, t.token, `/Users/${t.member.id}`, { method })).status).toBe(404);
    expect((await scim<ScimList>(h, t.token, `/Users?filter=${encodeURIComponent(`userName eq "${t.member.email}"`)}`)).body.totalResults).toBe(0);
  });
});

describe("what SCIM may not do", () => {
  it("SCIM never changes, disables or removes an owner: 403 in SCIM's shape, audited FAIL, and the owner is untouched", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const owner = await h.session(t.owner);
    const attempts = [
      await scim(h, t.token, `/Users/${t.owner.id}`, patch([{ op: "replace", value: { active: false } }])),
      await scim(h, t.token, `/Users/${t.owner.id}`, { method: "PUT", body: { schemas: [USER_URN], userName: t.owner.email, displayName: "Renamed" } }),
      await scim(h, t.token, `/Users/${t.owner.id}`, { method: "DELETE" }),
    ];
    for (const res of attempts) expect(res.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "403" });
    expect(await row(t.owner.id)).toMatchObject({ role: "owner", disabled_at: null, removed_at: null, display_name: "owner of scim" });
    expect((await me(h, owner.cookie)).status).toBe(200);
    const refusals = [...(await auditRows(t.id, "SCIM_USER_UPDATED")), ...(await auditRows(t.id, "USER_REMOVED"))];
    expect(refusals.map((r) => [r.outcome, r.targetId, r.failureReason, byScim(r.metadata)])).toEqual([
      ["FAIL", t.owner.id, "SCIM_TARGET_IS_OWNER", "scim"],
      ["FAIL", t.owner.id, "SCIM_TARGET_IS_OWNER", "scim"],
      ["FAIL", t.owner.id, "SCIM_TARGET_IS_OWNER", "scim"],
    ]);
  });

  it("one tenant's token never sees another tenant's members: 404 to read, change or delete them, and no filter finds them", async () => {
    const h = new Harness();
    const ours = await scimTenant(h, "ours");
    const theirs = await scimTenant(h, "theirs");
    const victim = theirs.member;
    const theirSession = await h.login(victim.email);
    for (const [method, options] of [["GET", {}], ["PUT", { body: { schemas: [USER_URN], userName: victim.email } }], ["PATCH", patch([{ op: "replace", path: "active", value: false }])], ["DELETE", {}]] as const) {
      const res = await scim(h, ours.token, `/Users/${victim.id}`, { ...options, method });
      expect(res.status, method).toBe(404);
      expect(res.body.status).toBe("404");
    }
    const listed = await scim<ScimList>(h, ours.token, "/Users");
    expect(listed.body.Resources.map((u) => u.id)).not.toContain(victim.id);
    expect((await scim<ScimList>(h, ours.token, `/Users?filter=${encodeURIComponent(`userName eq "${victim.email}"`)}`)).body.totalResults).toBe(0);
    expect(await row(victim.id)).toMatchObject({ disabled_at: null, removed_at: null });
    expect((await me(h, theirSession.cookie)).status).toBe(200);
    expect(await auditRows(theirs.id, "REQUEST_REFUSED")).toEqual([]);
  });

  it("a disable commits with its audit row: when the log cannot be written, nothing changes and the answer is 503", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const member = await h.login(t.member.email);
    const res = await scim(h, t.token, `/Users/${t.member.id}`, { ...patch([{ op: "replace", path: "active", value: false }]), env: withEnv({ DB: d1WithBrokenAudit(env.DB) }) });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "503" });
    expect((await row(t.member.id))?.disabled_at).toBeNull();
    expect((await me(h, member.cookie)).status).toBe(200);
  });
});
