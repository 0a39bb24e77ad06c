import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness } from "./helpers";
import { PATCH_URN, SCIM, type ScimList, type ScimUser, USER_URN, auditRows, rfcUser, scim, scimTenant } from "./scim-fixtures";

const ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error";
const patch = (operations: unknown[]) => ({ method: "PATCH", body: { schemas: [PATCH_URN], Operations: operations } });
const member = (id: string) => env.DB.prepare("SELECT display_name, disabled_at, scim_external_id FROM users WHERE id = ?").bind(id).first<Record<string, unknown>>();

describe("SCIM's error shape (RFC 7644 §3.12)", () => {
  it("every refusal is application/scim+json with the Error schema, status as a string, the scimType §3.12 gives it and a detail", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const cases: [Promise<{ status: number; body: unknown; headers: Headers }>, number, string | undefined][] = [
      [h.call(`${SCIM}/Users`, { rawBody: "{not json", headers: { authorization: `Bearer ${t.token}`, "content-type": "application/scim+json" } }), 400, "invalidSyntax"],
      [scim(h, t.token, "/Users", { body: { schemas: ["urn:example:not-a-user"], userName: "x@example.com" } }), 400, "invalidValue"],
      [scim(h, t.token, "/Users", { body: rfcUser("not an email") }), 400, "invalidValue"],
      [scim(h, t.token, "/Users", { body: rfcUser("ctl@example.com", { displayName: "Bell\u0007" }) }), 400, "invalidValue"],
      [scim(h, t.token, "/Users?filter=title%20eq%20%22x%22"), 400, "invalidFilter"],
      [scim(h, t.token, `/Users/${t.member.id}`, patch([{ op: "remove" }])), 400, "noTarget"],
      [scim(h, t.token, `/Users/${t.member.id}`, patch([{ op: "replace", path: "not a path!", value: 1 }])), 400, "invalidPath"],
      [scim(h, t.token, `/Users/${t.member.id}`, patch([{ op: "remove", path: "userName" }])), 400, "mutability"],
      [scim(h, t.token, "/Users/usr_nobodyhere"), 404, undefined],
      [scim(h, t.token, "/Groups"), 404, undefined],
      [scim(h, t.token, "/Users", { body: rfcUser("big@example.com", { padding: "x".repeat(70_000) }) }), 413, undefined],
    ];
    for (const [call, status, scimType] of cases) {
      const res = await call;
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toBe("application/scim+json");
      expect(res.body).toEqual({ schemas: [ERROR_URN], status: String(status), ...(scimType ? { scimType } : {}), detail: expect.any(String) });
    }
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE tenant_id = ?").bind(t.id).first<{ n: number }>())?.n).toBe(3);
  });

  it.each([
    'userName co "bjensen"',
    "userName eq bjensen@example.com",
    'userName eq "unterminated',
    'userName eq "a" and externalId eq "b"',
    'emails[type eq "work"] eq "x"',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"',
    'userName eq "\\x"',
    "",
  ])("a filter Gatehouse cannot apply (%j) is 400 invalidFilter, never read as no filter", async (filter) => {
    const h = new Harness();
    const t = await scimTenant(h);
    const res = await scim(h, t.token, `/Users?filter=${encodeURIComponent(filter)}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: "400", scimType: "invalidFilter" });
  });

  it("malformed paging is 400 invalidValue", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    for (const query of ["startIndex=abc", "count=1.5", "sortBy=userName"]) {
      expect((await scim(h, t.token, `/Users?${query}`)).body, query).toMatchObject({ status: "400", scimType: "invalidValue" });
    }
  });
});

describe("PATCH is all or nothing (RFC 7644 §3.5.2)", () => {
  it("one bad operation among good ones changes nothing, and the refusal is audited", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const memberSession = await h.login(t.member.email);
    const before = await member(t.member.id);
    for (const bad of [{ op: "replace", path: "active", value: "maybe" }, { op: "replace", path: "displayName", value: "" }, { op: "copy", path: "active", value: false }, { op: "replace", path: "externalId", value: 42 }]) {
      const res = await scim(h, t.token, `/Users/${t.member.id}`, patch([{ op: "replace", path: "displayName", value: "Changed" }, { op: "replace", path: "active", value: false }, bad]));
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect(await member(t.member.id)).toEqual(before);
    expect((await h.call("/api/me", { cookie: memberSession.cookie })).status).toBe(200);
    const refusals = await auditRows(t.id, "SCIM_USER_UPDATED");
    expect(refusals.map((r) => [r.outcome, r.targetId, r.failureReason])).toEqual(Array(4).fill(["FAIL", t.member.id, "VALIDATION_FAILED"]));
  });

  it("a PATCH without the PatchOp schema or without operations is 400, and changes nothing", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const bodies = [{ Operations: [{ op: "replace", path: "active", value: false }] }, { schemas: [PATCH_URN], Operations: [] }, { schemas: [PATCH_URN] }];
    for (const body of bodies) expect((await scim(h, t.token, `/Users/${t.member.id}`, { method: "PATCH", body })).status).toBe(400);
    expect((await member(t.member.id))?.disabled_at).toBeNull();
  });
});

describe("discovery (RFC 7644 §4)", () => {
  it("ServiceProviderConfig, ResourceTypes and Schemas say what Gatehouse supports, at locations on PUBLIC_ORIGIN", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const base = "https://gatehouse.test/_gatehouse/scim/v2";
    const config = await scim<Record<string, unknown>>(h, t.token, "/ServiceProviderConfig", { origin: "https://evil.example" });
    expect(config.headers.get("content-type")).toBe("application/scim+json");
    expect(config.body).toMatchObject({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 100 },
      etag: { supported: false },
      sort: { supported: false },
      changePassword: { supported: false },
      authenticationSchemes: [expect.objectContaining({ type: "oauthbearertoken" })],
      meta: { location: `${base}/ServiceProviderConfig` },
    });
    const types = await scim<ScimList & { Resources: { id: string; endpoint: string; schema: string }[] }>(h, t.token, "/ResourceTypes");
    expect(types.body.Resources).toEqual([expect.objectContaining({ id: "User", endpoint: "/Users", schema: USER_URN })]);
    expect((await scim(h, t.token, "/ResourceTypes/User")).status).toBe(200);
    const schemas = await scim<{ Resources: { id: string; attributes: { name: string; mutability: string }[] }[] }>(h, t.token, "/Schemas");
    const [user] = schemas.body.Resources;
    expect(user?.id).toBe(USER_URN);
    expect(user?.attributes.find((a) => a.name === "userName")?.mutability).toBe("immutable");
    expect((await scim(h, t.token, `/Schemas/${USER_URN}`)).status).toBe(200);
    expect((await scim(h, t.token, "/Schemas/urn:example:nothing")).status).toBe(404);
  });

  it("every SCIM answer carries the API's own headers: never cached, never sniffed", async () => {
    const h = new Harness();
    const t = await scimTenant(h);
    const made = await scim<ScimUser>(h, t.token, "/Users", { body: rfcUser("headers@example.com") });
    for (const res of [made, await scim(h, t.token, "/Users"), await scim(h, null, "/Users"), await scim(h, t.token, "/Nothing")]) {
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });
});
