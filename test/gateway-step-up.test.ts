// Step-up for product routes (STEP_UP_ROUTES, src/gateway/step-up.ts): a matching request
// needs a fresh grant for the route's product purpose, claimed before it is forwarded.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { Harness, ORIGIN, configured, seedTenant } from "./helpers";
import { FETCH, NAVIGATION, ROUTES, fakeOrigin, gatewayEnv, loadStepUpKeys, signedInMember, verify } from "./gateway-step-up-fixtures";

beforeAll(loadStepUpKeys);

describe("a product route that needs a step-up", () => {
  it("a fetch without a grant gets 428 STEP_UP_REQUIRED in the API's shape, and nothing reaches the origin", async () => {
    const { h, cookie } = await signedInMember();
    const origin = fakeOrigin();
    const res = await h.call("/v1/notes/n1", { env: gatewayEnv(origin.binding), cookie, method: "DELETE", headers: FETCH });
    expect(res.status).toBe(428);
    expect(res.body).toEqual({ error: "STEP_UP_REQUIRED", message: expect.any(String), purpose: "NOTE_DELETE", methods: ["password"], label: "delete a note" });
    expect(origin.seen).toEqual([]);
  });

  it("a browser navigation without a grant is sent to the panel's step-up page with a sanitised returnTo, and nothing reaches the origin", async () => {
    const { h, cookie } = await signedInMember();
    const origin = fakeOrigin();
    const res = await h.call("/billing/export?year=2026", { env: gatewayEnv(origin.binding), cookie, headers: NAVIGATION });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/_gatehouse/step-up?purpose=BILLING_EXPORT&returnTo=${encodeURIComponent("/billing/export?year=2026")}`);
    expect(origin.seen).toEqual([]);
  });

  it("a plain HTML form without a grant is sent 303 to the step-up page, back to the page it was on and told its action was not done; a fetch of the same keeps 428", async () => {
    const { h, cookie } = await signedInMember();
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    const form = { accept: "text/html", "content-type": "application/x-www-form-urlencoded", "sec-fetch-mode": "navigate", "sec-fetch-site": "same-origin", origin: ORIGIN, referer: `${ORIGIN}/v1/notes/n1?view=1` };
    const res = await h.call("/v1/notes/n1/restore", { env: e, cookie, method: "POST", rawBody: "confirm=yes", headers: form });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/_gatehouse/step-up?purpose=NOTE_RESTORE&returnTo=${encodeURIComponent("/v1/notes/n1?view=1")}&notDone=1`);
    const fetched = await h.call("/v1/notes/n1/restore", { env: e, cookie, method: "POST", rawBody: "confirm=yes", headers: { ...form, "sec-fetch-mode": "cors" } });
    expect(fetched.status).toBe(428);
    expect(fetched.body).toMatchObject({ error: "STEP_UP_REQUIRED", purpose: "NOTE_RESTORE" });
    expect(origin.seen).toEqual([]);
  });

  it("a single-use grant is claimed once: of parallel requests exactly one is forwarded", async () => {
    const { h, cookie } = await signedInMember();
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    expect((await verify(h, cookie, "NOTE_DELETE")).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 6 }, () => h.call("/v1/notes/n1", { env: e, cookie, method: "DELETE", headers: FETCH })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 428, 428, 428, 428, 428]);
    expect(origin.seen).toEqual([{ method: "DELETE", path: "/v1/notes/n1" }]);
    // Spent: the next one needs a new verification.
    expect((await h.call("/v1/notes/n2", { env: e, cookie, method: "DELETE", headers: FETCH })).status).toBe(428);
  });

  it("a GET route guards HEAD too, which most origins answer with the GET handler", async () => {
    const { h, cookie } = await signedInMember();
    const origin = fakeOrigin();
    const res = await h.call("/billing/export", { env: gatewayEnv(origin.binding), cookie, method: "HEAD", headers: FETCH });
    expect(res.status).toBe(428);
    expect(origin.seen).toEqual([]);
  });

  it("a grant for another purpose does not open the route", async () => {
    const { h, cookie } = await signedInMember();
    const origin = fakeOrigin();
    expect((await verify(h, cookie, "REVOKE_SESSION")).status).toBe(200);
    const res = await h.call("/v1/notes/n1", { env: gatewayEnv(origin.binding), cookie, method: "DELETE", headers: FETCH });
    expect(res.status).toBe(428);
    expect(origin.seen).toEqual([]);
  });

  it("a grant is given back when the origin refuses the action: the user does not verify again", async () => {
    const { h, cookie } = await signedInMember();
    const refusing = fakeOrigin(404);
    expect((await verify(h, cookie, "NOTE_DELETE")).status).toBe(200);
    expect((await h.call("/v1/notes/gone", { env: gatewayEnv(refusing.binding), cookie, method: "DELETE", headers: FETCH })).status).toBe(404);
    const origin = fakeOrigin();
    expect((await h.call("/v1/notes/n1", { env: gatewayEnv(origin.binding), cookie, method: "DELETE", headers: FETCH })).status).toBe(200);
  });

  it("another method or path of the product needs no step-up", async () => {
    const { h, cookie } = await signedInMember();
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    expect((await h.call("/v1/notes/n1", { env: e, cookie, headers: FETCH })).status).toBe(200);
    expect((await h.call("/v1/notebooks/n1", { env: e, cookie, method: "DELETE", headers: FETCH })).status).toBe(200);
    expect(origin.seen).toHaveLength(2);
  });

  it.each(["/v1/notes/x/..%2Fy", "/v1//notes/x", "/v1/notes/..;/x"])(
    "a path that does not normalise cleanly (%s) is refused for a method a step-up route names, never forwarded unguarded",
    async (path) => {
      const { h, cookie } = await signedInMember();
      const origin = fakeOrigin();
      const res = await h.call(path, { env: gatewayEnv(origin.binding), cookie, method: "DELETE", headers: FETCH });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: "MALFORMED_PATH" });
      expect(origin.seen).toEqual([]);
    },
  );

  it("a step-up route under a public path still needs a signed-in session", async () => {
    const h = new Harness();
    const origin = fakeOrigin();
    const res = await h.call("/open/danger", { env: gatewayEnv(origin.binding), method: "POST", body: {}, headers: FETCH });
    expect(res.status).toBe(401);
    expect(origin.seen).toEqual([]);
  });

  it("a revoked session gets 401 on a step-up route even with a grant, and nothing is forwarded", async () => {
    const { h, cookie, sessionId } = await signedInMember();
    const origin = fakeOrigin();
    expect((await verify(h, cookie, "NOTE_DELETE")).status).toBe(200);
    // Revoked in D1 only, as at another location before KV catches up.
    await env.DB.prepare("UPDATE user_sessions SET revoked_at = ?, revoke_reason = 'REVOKED' WHERE id = ?").bind(h.clock.ms, sessionId).run();
    const res = await h.call("/v1/notes/n1", { env: gatewayEnv(origin.binding), cookie, method: "DELETE", headers: FETCH });
    expect(res.status).toBe(401);
    expect(origin.seen).toEqual([]);
  });
});

describe("while an admin impersonates", () => {
  async function impersonating() {
    const h = new Harness();
    const t = await seedTenant("si");
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "IMPERSONATION", t.admin);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "Ticket 7: note stuck" } })).status).toBe(200);
    return { h, t, cookie: admin.cookie };
  }

  it("a product purpose that allows it is earned with the admin's own factor, and the route is forwarded as the user", async () => {
    const { h, t, cookie } = await impersonating();
    const origin = fakeOrigin();
    h.clock.advanceSeconds(30);
    // The member has no TOTP; the admin's code is what counts.
    expect((await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "NOTE_RESTORE", code: h.code(t.admin) } })).status).toBe(200);
    const res = await h.call("/v1/notes/n1/restore", { env: gatewayEnv(origin.binding), cookie, method: "POST", body: {}, headers: FETCH });
    expect(res.status).toBe(200);
    expect(origin.seen).toHaveLength(1);
    const claims = JSON.parse(atob((origin.seen[0]?.assertion ?? "").split(".")[1]?.replace(/-/g, "+").replace(/_/g, "/") ?? "")) as { sub: string; act?: { sub: string } };
    expect(claims).toMatchObject({ sub: t.member.id, act: { sub: t.admin.id } });
  });

  it("a product purpose that does not allow it cannot be verified: 403 IMPERSONATION_FORBIDDEN, and the route stays closed", async () => {
    const { h, t, cookie } = await impersonating();
    const origin = fakeOrigin();
    h.clock.advanceSeconds(30);
    const verified = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "NOTE_DELETE", code: h.code(t.admin) } });
    expect(verified.status).toBe(403);
    expect(verified.body).toMatchObject({ error: "IMPERSONATION_FORBIDDEN" });
    const res = await h.call("/v1/notes/n1", { env: gatewayEnv(origin.binding), cookie, method: "DELETE", headers: FETCH });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: "IMPERSONATION_FORBIDDEN" });
    expect(origin.seen).toEqual([]);
  });

  it("a grant for a purpose that does not allow impersonation, earned before it started, does not open the route while impersonating", async () => {
    const h = new Harness();
    const t = await seedTenant("sj");
    const { cookie } = await h.session(t.admin);
    await h.stepUp(cookie, "NOTE_DELETE", t.admin);
    await h.stepUp(cookie, "IMPERSONATION", t.admin);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie, body: { reason: "Ticket 8: note stuck" } })).status).toBe(200);
    const origin = fakeOrigin();
    const res = await h.call("/v1/notes/n1", { env: gatewayEnv(origin.binding), cookie, method: "DELETE", headers: FETCH });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: "IMPERSONATION_FORBIDDEN" });
    expect(origin.seen).toEqual([]);
  });

  it("a grant counts only for whom it was earned acting as: one earned before an impersonation started or during one that ended does not carry across", async () => {
    const h = new Harness();
    const t = await seedTenant("sk");
    const { cookie } = await h.session(t.admin);
    const restore = (origin: Fetcher) => h.call("/v1/notes/n1/restore", { env: gatewayEnv(origin), cookie, method: "POST", body: {}, headers: FETCH });
    // Earned as the admin, then impersonating: not the member's.
    await h.stepUp(cookie, "NOTE_RESTORE", t.admin);
    await h.stepUp(cookie, "IMPERSONATION", t.admin);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie, body: { reason: "Ticket 9: restore" } })).status).toBe(200);
    const origin = fakeOrigin();
    expect((await restore(origin.binding)).status, "earned before it started").toBe(428);
    // Earned while impersonating, then the impersonation ends: not the admin's.
    await h.stepUp(cookie, "NOTE_RESTORE", t.admin);
    await h.stepUp(cookie, "IMPERSONATION", t.admin);
    expect((await h.call("/api/impersonate/exit", { cookie, body: {} })).status).toBe(200);
    expect((await restore(origin.binding)).status, "earned during one that ended").toBe(428);
    expect(origin.seen).toEqual([]);
  });
});

describe("STEP_UP_ROUTES is validated at startup", () => {
  const base = { ORIGIN_URL: "https://origin.acme.internal", ASSERTION_AUDIENCE: "acme-notes", PRODUCT_STEP_UP_PURPOSES: env.PRODUCT_STEP_UP_PURPOSES };
  const refusal = (routes: string, extra: Record<string, string | undefined> = {}) => {
    try {
      parseConfig(configured({ ...base, STEP_UP_ROUTES: routes, ...extra }));
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).message;
    }
    throw new Error("expected the configuration to be refused");
  };

  it("a route naming a purpose the product did not declare stops the Worker", () => {
    expect(refusal(JSON.stringify([{ method: "DELETE", path: "/x/*", purpose: "PROJECT_DELETE" }]))).toMatch(/STEP_UP_ROUTES purpose "PROJECT_DELETE" is not declared/);
    // Gatehouse's own purposes are not the product's to require.
    expect(refusal(JSON.stringify([{ method: "DELETE", path: "/x/*", purpose: "FORCE_LOGOUT" }]))).toMatch(/"FORCE_LOGOUT" is not declared/);
  });

  it.each([
    ["not JSON", "DELETE /x"],
    ["an unknown method", JSON.stringify([{ method: "BREW", path: "/x", purpose: "NOTE_DELETE" }])],
    ["a relative path", JSON.stringify([{ method: "GET", path: "x", purpose: "NOTE_DELETE" }])],
    ["a dot segment", JSON.stringify([{ method: "GET", path: "/a/../b", purpose: "NOTE_DELETE" }])],
    ["an unknown field", JSON.stringify([{ method: "GET", path: "/x", purpose: "NOTE_DELETE", label: "x" }])],
    ["an object instead of a list", JSON.stringify({ method: "GET", path: "/x", purpose: "NOTE_DELETE" })],
  ])("a malformed list (%s) stops the Worker with an error naming STEP_UP_ROUTES", (_what, routes) => {
    expect(refusal(routes)).toContain("STEP_UP_ROUTES");
  });

  it("routes without an origin to guard stop the Worker", () => {
    expect(() => parseConfig(configured({ STEP_UP_ROUTES: ROUTES, PRODUCT_STEP_UP_PURPOSES: env.PRODUCT_STEP_UP_PURPOSES }))).toThrow(/STEP_UP_ROUTES is set but no origin/);
  });

  it("a gateway whose routes do not parse forwards nothing: 503 GATEWAY_MISCONFIGURED", async () => {
    const h = new Harness();
    const origin = fakeOrigin();
    const res = await h.call("/", { env: gatewayEnv(origin.binding, { STEP_UP_ROUTES: '[{"method":"DELETE","path":"/x","purpose":"NOPE_NOPE"}]' }) });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: "GATEWAY_MISCONFIGURED" });
    expect(origin.seen).toEqual([]);
  });
});
