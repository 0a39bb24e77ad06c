// Gateway mode: every request outside the Gatehouse path passes the edge check and
// reaches the product's origin with a signed identity assertion (src/gateway/routes.ts).
import { env } from "cloudflare:workers";
import { createLocalJWKSet, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { ASSERTION_HEADER } from "../src/gateway/assertion";
import { Harness, ORIGIN, PASSWORD, brokenBinding, countingD1, seedTenant, withEnv } from "./helpers";
import { seedRules } from "./ip-rules-fixtures";
import { keySetText, privateJwk } from "./gateway-fixtures";
import { auditStore } from "./audit-store";

type Seen = { url: URL; method: string; headers: Headers; body: string };

/** A stand-in for the product's service binding: records what reached it and answers as told. */
function fakeOrigin(respond: (req: Request) => Response | Promise<Response> = () => new Response("from the product")) {
  const seen: Seen[] = [];
  const binding = {
    async fetch(input: RequestInfo | URL, init?: RequestInit) {
      const req = new Request(input, init);
      const copy = req.clone();
      seen.push({ url: new URL(req.url), method: req.method, headers: req.headers, body: await copy.text() });
      return respond(req);
    },
    connect() {
      throw new Error("not used");
    },
  } as unknown as Fetcher;
  return { binding, seen };
}

let KEYS = "";
beforeAll(async () => {
  KEYS = await keySetText("k-current");
});

function gatewayEnv(origin: Fetcher, extra: Partial<typeof env> = {}) {
  return withEnv({ ORIGIN: origin, ASSERTION_AUDIENCE: "acme-notes", PUBLIC_PATHS: '["/", "/pricing", "/hooks/*"]', ASSERTION_SIGNING_KEYS: KEYS, ...extra });
}

const NAVIGATION = { accept: "text/html,application/xhtml+xml", "sec-fetch-mode": "navigate", "sec-fetch-site": "none" };

async function verified(h: Harness, token: string, e: ReturnType<typeof gatewayEnv>) {
  const jwks = await h.call<{ keys: JsonWebKey[] }>("/_gatehouse/.well-known/jwks.json", { env: e });
  expect(jwks.status).toBe(200);
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks.body as Parameters<typeof createLocalJWKSet>[0]), {
    issuer: "gatehouse",
    audience: "acme-notes",
    currentDate: new Date(h.clock.ms),
  });
  return { payload, protectedHeader };
}

describe("public paths are forwarded without a session", () => {
  it("an anonymous visitor reaches a public page, with no assertion and no Gatehouse cookie", async () => {
    const h = new Harness();
    const origin = fakeOrigin();
    const res = await h.call("/pricing?plan=pro", { env: gatewayEnv(origin.binding), headers: { cookie: "theme=dark" } });
    expect(res.status).toBe(200);
    expect(res.body).toBe("from the product");
    expect(origin.seen[0]?.url.pathname + (origin.seen[0]?.url.search ?? "")).toBe("/pricing?plan=pro");
    expect(origin.seen[0]?.headers.get(ASSERTION_HEADER)).toBeNull();
    expect(origin.seen[0]?.headers.get("cookie")).toBe("theme=dark");
  });

  it("a signed-in visitor on a public page is still named by the assertion", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    await h.call("/", { env: e, cookie });
    const token = origin.seen[0]?.headers.get(ASSERTION_HEADER);
    expect(token).toBeTruthy();
    expect((await verified(h, token ?? "", e)).payload.sub).toBe(t.member.id);
  });
});

describe("everything else needs a session", () => {
  it("a browser loading a page without a session is sent to sign-in with a returnTo, and nothing is forwarded", async () => {
    const h = new Harness();
    const origin = fakeOrigin();
    const res = await h.call("/app/notes?sort=new", { env: gatewayEnv(origin.binding), headers: NAVIGATION });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/_gatehouse/sign-in?returnTo=${encodeURIComponent("/app/notes?sort=new")}`);
    expect(origin.seen).toEqual([]);
  });

  it("any other request without a session gets the API's 401 JSON", async () => {
    const h = new Harness();
    const origin = fakeOrigin();
    const res = await h.call("/v1/notes", { env: gatewayEnv(origin.binding), headers: { accept: "application/json" } });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: "UNAUTHORIZED" });
    expect(origin.seen).toEqual([]);
  });

  it("a revoked session is refused on the next product request, and the refusal is audited in its tenant", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const mine = await h.login(t.member.email);
    const other = await h.login(t.member.email);
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    expect((await h.call("/app", { env: e, cookie: other.cookie })).status).toBe(200);
    await h.stepUp(mine.cookie, "REVOKE_SESSION", t.member);
    expect((await h.call(`/api/security/sessions/${other.sessionId}/revoke`, { cookie: mine.cookie, method: "POST" })).status).toBe(200);

    const page = await h.call("/app", { env: e, cookie: other.cookie, headers: NAVIGATION });
    expect(page.status).toBe(302);
    const api = await h.call("/app/data", { env: e, cookie: other.cookie });
    expect(api.body).toMatchObject({ error: "SESSION_REVOKED" });
    expect(origin.seen).toHaveLength(1);
    const refused = await auditStore.prepare("SELECT failure_reason FROM audit_logs WHERE tenant_id = ? AND action = 'REQUEST_REFUSED'").bind(t.id).all<{ failure_reason: string }>();
    expect(refused.results.map((r) => r.failure_reason)).toContain("SESSION_REVOKED");
  });
});

describe("a plain HTML form refused for sign-in", () => {
  const FORM = { accept: "text/html", "content-type": "application/x-www-form-urlencoded", "sec-fetch-mode": "navigate", "sec-fetch-site": "same-origin" };

  it("a form posted after the session ended is sent 303 to sign-in, back to the page it was on and told its action was not done; nothing is forwarded", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const mine = await h.login(t.member.email);
    const other = await h.login(t.member.email);
    await h.stepUp(mine.cookie, "REVOKE_SESSION", t.member);
    expect((await h.call(`/api/security/sessions/${other.sessionId}/revoke`, { cookie: mine.cookie, method: "POST" })).status).toBe(200);
    const origin = fakeOrigin();
    const headers = { ...FORM, origin: ORIGIN, referer: `${ORIGIN}/app/notes/new` };
    const res = await h.call("/app/notes", { env: gatewayEnv(origin.binding), cookie: other.cookie, method: "POST", rawBody: "title=hello", headers });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/_gatehouse/sign-in?returnTo=${encodeURIComponent("/app/notes/new")}&notDone=1`);
    expect(origin.seen).toEqual([]);
  });

  it("the same post sent by fetch keeps the API's 401 JSON with its code", async () => {
    const h = new Harness();
    const origin = fakeOrigin();
    const res = await h.call("/app/notes", { env: gatewayEnv(origin.binding), method: "POST", rawBody: "title=hello", headers: { ...FORM, "sec-fetch-mode": "cors" } });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: "UNAUTHORIZED" });
    expect(origin.seen).toEqual([]);
  });
});

describe("the tenant's rules and CSRF hold on product paths as on the API", () => {
  it("a blocked address gets 403 IP_BLOCKED on a product page, audited, and nothing is forwarded", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    h.clock.advanceSeconds(2); // past the in-isolate copy of the rule set
    const origin = fakeOrigin();
    const res = await h.call("/app", { env: gatewayEnv(origin.binding), cookie, ip: "198.51.100.7" });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: "IP_BLOCKED" });
    expect(origin.seen).toEqual([]);
    const denied = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = 'IP_ACCESS_DENIED'").bind(t.id).first<number>("n");
    expect(denied).toBe(1);
  });

  it("a cross-site state-changing request carrying the session cookie is refused (403 CSRF) before the origin", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    const origin = fakeOrigin();
    const res = await h.call("/app/notes", { env: gatewayEnv(origin.binding), cookie, method: "POST", body: { text: "x" }, headers: { "sec-fetch-site": "cross-site" } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: "CSRF" });
    expect(origin.seen).toEqual([]);
  });

  it("a WebSocket handshake carrying the session cookie from another origin is refused (403 CSRF); from our own it passes", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    const upgrade = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };
    const foreign = await h.call("/app/live", { env: e, cookie, headers: { ...upgrade, origin: "https://notes.attacker.example" } });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatchObject({ error: "CSRF" });
    expect(origin.seen).toEqual([]);
    await h.call("/app/live", { env: e, cookie, headers: { ...upgrade, origin: "https://gatehouse.test" } });
    expect(origin.seen).toHaveLength(1);
  });

  it("a webhook (cross-site post, no session cookie) to a public path is forwarded", async () => {
    const h = new Harness();
    const origin = fakeOrigin();
    const res = await h.call("/hooks/billing", { env: gatewayEnv(origin.binding), method: "POST", rawBody: '{"event":"paid"}', headers: { "content-type": "application/json", origin: "https://billing.example" } });
    expect(res.status).toBe(200);
    expect(origin.seen[0]?.body).toBe('{"event":"paid"}');
  });
});

describe("what the origin receives", () => {
  it("a forged assertion header from the client never reaches the origin", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    await h.call("/pricing", { env: e, headers: { [ASSERTION_HEADER]: "forged.token.here" } });
    expect(origin.seen[0]?.headers.get(ASSERTION_HEADER)).toBeNull();
    await h.call("/app", { env: e, cookie, headers: { [ASSERTION_HEADER]: "forged.token.here" } });
    const token = origin.seen[1]?.headers.get(ASSERTION_HEADER) ?? "";
    expect(token).not.toBe("forged.token.here");
    expect((await verified(h, token, e)).payload.sub).toBe(t.member.id);
  });

  it("the session cookie never reaches the origin; the product's own cookies do", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    const origin = fakeOrigin();
    await h.call("/app", { env: gatewayEnv(origin.binding), cookie: `cart=3; ${cookie}; theme=dark` });
    expect(origin.seen[0]?.headers.get("cookie")).toBe("cart=3; theme=dark");
  });

  it("method, path, query, body and the client address arrive as sent (over the API's body limit too)", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    const origin = fakeOrigin();
    const big = "x".repeat(100_000);
    const res = await h.call("/app/upload?kind=text", { env: gatewayEnv(origin.binding), cookie, method: "PUT", rawBody: big, ip: "192.0.2.44" });
    expect(res.status).toBe(200);
    expect(origin.seen[0]).toMatchObject({ method: "PUT", body: big });
    expect(origin.seen[0]?.url.search).toBe("?kind=text");
    expect(origin.seen[0]?.headers.get("cf-connecting-ip")).toBe("192.0.2.44");
  });

  it("the origin is told the client's address and PUBLIC_ORIGIN's host and scheme, whatever proxy headers the client sent", async () => {
    const h = new Harness();
    const origin = fakeOrigin();
    const spoofed = { "x-forwarded-for": "10.9.9.9", "x-forwarded-host": "evil.test", "x-forwarded-proto": "http", "x-real-ip": "10.9.9.9" };
    await h.call("/pricing", { env: gatewayEnv(origin.binding), headers: spoofed, ip: "192.0.2.44" });
    const seen = origin.seen[0]?.headers;
    expect(seen?.get("x-forwarded-for")).toBe("192.0.2.44");
    expect(seen?.get("x-real-ip")).toBe("192.0.2.44");
    expect(seen?.get("x-forwarded-host")).toBe(new URL(env.PUBLIC_ORIGIN).host);
    expect(seen?.get("x-forwarded-proto")).toBe("https");
  });
});

describe("what the client receives", () => {
  it("the origin cannot set or clear Gatehouse's cookies; its own Set-Cookie passes", async () => {
    const h = new Harness();
    const origin = fakeOrigin(() => {
      const headers = new Headers({ "content-type": "text/plain", "x-product": "yes" });
      headers.append("set-cookie", "__Host-gatehouse_session=stolen; Path=/; Secure");
      headers.append("set-cookie", "__host-GATEHOUSE_DEVICE=; Max-Age=0; Path=/; Secure");
      headers.append("set-cookie", "cart=4; Path=/");
      return new Response("body", { status: 201, headers });
    });
    const res = await h.call("/pricing", { env: gatewayEnv(origin.binding) });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-product")).toBe("yes");
    expect(res.headers.getSetCookie()).toEqual(["cart=4; Path=/"]);
  });

  it("an unreachable origin is 502 ORIGIN_UNAVAILABLE", async () => {
    const h = new Harness();
    const origin = fakeOrigin(() => {
      throw new Error("connection refused");
    });
    const res = await h.call("/pricing", { env: gatewayEnv(origin.binding) });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ error: "ORIGIN_UNAVAILABLE" });
  });
});

describe("the identity assertion", () => {
  it("is an ES256 JWT with the user's claims, verifiable against the published JWKS, living at most 60 s", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie, sessionId } = await h.session(t.admin);
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    await h.call("/app", { env: e, cookie });
    const { payload, protectedHeader } = await verified(h, origin.seen[0]?.headers.get(ASSERTION_HEADER) ?? "", e);
    expect(protectedHeader).toMatchObject({ alg: "ES256", kid: "k-current" });
    expect(payload).toMatchObject({ sub: t.admin.id, tid: t.id, sid: sessionId, email: t.admin.email, role: "admin", amr: ["pwd", "otp", "mfa"] });
    expect(payload.permissions).toContain("SETTINGS_SECURITY_EDIT");
    expect(payload.act).toBeUndefined();
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(60);
    expect(typeof payload.jti).toBe("string");
  });

  it("while impersonating, the assertion names the member as sub and the real admin in act", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.session(t.admin);
    await h.stepUp(cookie, "IMPERSONATION", t.admin);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie, method: "POST", body: { reason: "support ticket 7" } })).status).toBe(200);
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    await h.call("/app", { env: e, cookie });
    const { payload } = await verified(h, origin.seen[0]?.headers.get(ASSERTION_HEADER) ?? "", e);
    expect(payload.sub).toBe(t.member.id);
    expect(payload.act).toMatchObject({ sub: t.admin.id, email: t.admin.email });
  });

  it("a hot request reuses the token signed for the same state; a role change stops the reuse at once", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const owner = await h.session(t.owner);
    const { cookie } = await h.login(t.member.email);
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    await h.call("/app", { env: e, cookie });
    await h.call("/app", { env: e, cookie });
    const [first, second] = origin.seen.map((s) => s.headers.get(ASSERTION_HEADER));
    expect(second).toBe(first);
    await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
    expect((await h.call(`/api/users/${t.member.id}/role`, { cookie: owner.cookie, method: "PATCH", body: { role: "admin" } })).status).toBe(200);
    await h.call("/app", { env: e, cookie });
    const third = origin.seen[2]?.headers.get(ASSERTION_HEADER) ?? "";
    expect(third).not.toBe(first);
    expect((await verified(h, third, e)).payload.role).toBe("admin");
  });

  it("a request admitted in the last second of an impersonation is refused, never answered with a token past its end", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    h.clock.ms += 300; // off a whole second, so the end falls inside one
    const { cookie } = await h.session(t.admin);
    await h.stepUp(cookie, "IMPERSONATION", t.admin);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie, method: "POST", body: { reason: "support ticket 9" } })).status).toBe(200);
    const ends = await env.DB.prepare("SELECT impersonation_expires_at AS e FROM user_sessions WHERE impersonated_user_id = ?").bind(t.member.id).first<number>("e");
    h.clock.ms = (ends ?? 0) - 100;
    const origin = fakeOrigin();
    const res = await h.call("/app", { env: gatewayEnv(origin.binding), cookie });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: "IMPERSONATION_ENDED" });
    expect(origin.seen).toEqual([]);
  });

  it("after a key rotation, a token signed by the previous key still verifies while that key is published", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    const previous = await privateJwk("k-previous");
    const origin = fakeOrigin();
    const before = gatewayEnv(origin.binding, { ASSERTION_SIGNING_KEYS: JSON.stringify({ keys: [previous] }) });
    await h.call("/app", { env: before, cookie });
    const oldToken = origin.seen[0]?.headers.get(ASSERTION_HEADER) ?? "";
    const rotated = gatewayEnv(origin.binding, { ASSERTION_SIGNING_KEYS: JSON.stringify({ keys: [await privateJwk("k-next"), previous] }) });
    expect((await verified(h, oldToken, rotated)).protectedHeader.kid).toBe("k-previous");
    await h.call("/app", { env: rotated, cookie });
    expect((await verified(h, origin.seen[1]?.headers.get(ASSERTION_HEADER) ?? "", rotated)).protectedHeader.kid).toBe("k-next");
  });
});

describe("fail closed", () => {
  it("without signing keys, a signed-in request is 503 and never forwarded unsigned; the JWKS is 503 too", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding, { ASSERTION_SIGNING_KEYS: "not json" });
    const res = await h.call("/app", { env: e, cookie });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: "ASSERTION_KEYS_UNAVAILABLE" });
    expect(origin.seen).toEqual([]);
    expect((await h.call("/_gatehouse/.well-known/jwks.json", { env: e })).status).toBe(503);
  });

  it("a gateway whose settings do not parse forwards nothing: 503 GATEWAY_MISCONFIGURED", async () => {
    const h = new Harness();
    const origin = fakeOrigin();
    const res = await h.call("/pricing", { env: withEnv({ ORIGIN: origin.binding, PUBLIC_PATHS: '["/pricing"]' }) });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: "GATEWAY_MISCONFIGURED" });
    expect(origin.seen).toEqual([]);
  });

  it.each(["SESSION_CACHE", "DB"] as const)("with %s down on a cold session, a product request is 503, never forwarded", async (binding) => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    h.clock.advanceSeconds(2); // past the in-isolate copy
    await env.SESSION_CACHE.delete(`session:${cookie.split("=")[1]?.split(".")[0]}`);
    const origin = fakeOrigin();
    const res = await h.call("/app", { env: gatewayEnv(origin.binding, { [binding]: brokenBinding(binding) }), cookie });
    expect(res.status).toBe(503);
    expect(origin.seen).toEqual([]);
  });
});

describe("the hot path", () => {
  it("a hot product request makes no D1 query", async () => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const { cookie } = await h.login(t.member.email);
    const origin = fakeOrigin();
    await h.call("/app", { env: gatewayEnv(origin.binding), cookie });
    const d1 = countingD1(env.DB);
    const res = await h.call("/app", { env: gatewayEnv(origin.binding, { DB: d1.db }), cookie });
    expect(res.status).toBe(200);
    expect(d1.count()).toBe(0);
  });
});

describe("sign-in sends the browser back where it came from, never elsewhere", () => {
  it.each([
    ["/app/notes?sort=new", "/app/notes?sort=new"],
    ["https://evil.example/", "/"],
    ["//evil.example", "/"],
    ["/\\evil.example", "/"],
    [undefined, "/"],
  ])("returnTo %j answers redirectTo %j", async (returnTo, redirectTo) => {
    const h = new Harness();
    const t = await seedTenant("gw");
    const res = await h.call<{ redirectTo: string }>("/api/auth/login", { body: { email: t.member.email, password: PASSWORD, ...(returnTo === undefined ? {} : { returnTo }) } });
    expect(res.status).toBe(200);
    expect(res.body.redirectTo).toBe(redirectTo);
  });
});
